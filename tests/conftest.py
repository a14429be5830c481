"""Shared pytest set-up: quiet TensorFlow logs, small real datasets."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
import pytest  # noqa: E402


@pytest.fixture(scope="session")
def digits():
    """scikit-learn's bundled digits: 1,797 8x8 images, 10 classes, scaled to [0, 1]."""
    from sklearn.datasets import load_digits

    x, y = load_digits(return_X_y=True)
    return (x / 16.0).astype("float32"), y.astype("int32")


@pytest.fixture(scope="session")
def diabetes():
    """scikit-learn's bundled diabetes regression data, standardised."""
    from sklearn.datasets import load_diabetes

    x, y = load_diabetes(return_X_y=True)
    x = (x - x.mean(0)) / x.std(0)
    y = (y - y.mean()) / y.std()
    return x.astype("float32"), y.astype("float32")[:, None]


def make_classifier(seed=0, optimizer="adam", hidden=32, **compile_kwargs):
    """A small compiled Dense classifier for 64 inputs and 10 classes."""
    import keras

    keras.utils.set_random_seed(seed)
    model = keras.Sequential([
        keras.Input((64,)),
        keras.layers.Dense(hidden, activation="relu"),
        keras.layers.Dense(10, activation="softmax"),
    ])
    model.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"], **compile_kwargs)
    return model


@pytest.fixture
def classifier():
    return make_classifier


@pytest.fixture(autouse=True)
def _deterministic_numpy():
    np.random.seed(0)

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


# ------------------------------------- end to end: real TensorBoard, Chromium


@pytest.fixture(scope="session")
def range_logdir(tmp_path_factory):
    """Three real range tests (Adam with validation, SGD, a hostile run name).

    Written once, read only: shared by every end-to-end module.
    """
    import tb_harness

    return tb_harness.write_range_logdir(tmp_path_factory.mktemp("lr_range_e2e"))


@pytest.fixture(scope="module")
def browser():
    """Headless Debian `chromium` through Playwright; skips without either."""
    import tb_harness

    pytest.importorskip("playwright.sync_api")
    if not os.path.exists(tb_harness.CHROMIUM):
        pytest.skip("Debian's chromium is not installed")
    with tb_harness.launch_chromium() as chromium:
        yield chromium

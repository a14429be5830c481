"""Tests of the LRFinder callback with real Keras training on small real data."""

import math
import os
import subprocess
import sys

import keras
import numpy as np
import pytest

from conftest import make_classifier
from tb_lr_range import LRFinder, Suggestion


def test_original_readme_snippet_runs_unchanged(digits, tmp_path, monkeypatch):
    import matplotlib

    matplotlib.use("Agg")
    monkeypatch.chdir(tmp_path)
    x_train, y_train = digits
    model = make_classifier()

    BATCH_SIZE=512
    EPOCHS=5

    # Learning Rate Finder callback
    lr_finder = LRFinder(min_lr=1e-4, max_lr=1e1, steps_per_epoch=int(len(x_train)/BATCH_SIZE), epochs=EPOCHS)

    # Train model with batch size 512 for 5 epochs
    # Include Learning Rate Finder as callback
    hist = model.fit(x_train, y_train, epochs=EPOCHS, batch_size=BATCH_SIZE, callbacks=[lr_finder])

    # Plot the learning rate against iteration & loss
    lr_finder.plot_lr()
    # Plot loss against learning rate (with derivative of loss)
    lr_finder.plot(monitor='loss')
    # Plot accuracy against learning rate (with derivative of accuracy)
    lr_finder.plot(monitor='acc')

    planned = int(len(x_train) / BATCH_SIZE) * EPOCHS
    assert len(lr_finder.history["lr"]) <= planned
    assert hist.history["loss"]
    assert isinstance(lr_finder.suggest(), Suggestion)
    assert os.listdir(tmp_path) == []  # no file left behind


@pytest.mark.parametrize("mode", ["exponential", "linear"])
def test_sweep_follows_the_schedule_and_stops_after_the_plan(digits, mode):
    x, y = digits
    model = make_classifier()
    finder = LRFinder(min_lr=1e-5, max_lr=1e-1, steps_per_epoch=10, epochs=2, mode=mode,
                      stop_factor=None)
    # fit is asked for more than planned: the test must stop at 20 steps.
    model.fit(x, y, batch_size=32, epochs=5, callbacks=[finder], verbose=0)
    lrs = np.array(finder.history["lr"])
    assert len(lrs) == 20
    assert finder.stop_reason == "completed"
    assert lrs[0] == pytest.approx(1e-5)
    assert lrs[-1] == pytest.approx(1e-1)
    steps = np.diff(np.log(lrs)) if mode == "exponential" else np.diff(lrs)
    np.testing.assert_allclose(steps, steps[0], rtol=1e-6)
    assert {len(v) for v in finder.history.values()} == {20}


class _BatchProbe(keras.callbacks.Callback):
    """Before each batch, evaluates that batch's loss and accuracy independently."""

    def __init__(self, x, y, batch_size):
        super().__init__()
        self.x, self.y, self.batch_size = x, y, batch_size
        self.losses, self.accuracies, self.lrs = [], [], []

    def on_train_batch_begin(self, batch, logs=None):
        start = batch * self.batch_size
        xb, yb = self.x[start:start + self.batch_size], self.y[start:start + self.batch_size]
        pred = self.model(xb, training=True)
        loss = keras.losses.sparse_categorical_crossentropy(yb, pred)
        self.losses.append(float(np.mean(loss)))
        self.accuracies.append(float(np.mean(np.argmax(pred, axis=1) == yb)))
        self.lrs.append(float(np.array(self.model.optimizer.learning_rate)))


def test_records_each_batch_own_loss_and_metric_not_the_running_mean(digits):
    x, y = digits
    x, y = x[:1000], y[:1000]  # 1000 = 31 batches of 32 and a last one of 8
    model = make_classifier(optimizer=keras.optimizers.SGD(momentum=0.9))
    finder = LRFinder(min_lr=1e-3, max_lr=1.0, epochs=2, stop_factor=None)
    probe = _BatchProbe(x, y, 32)
    model.fit(x, y, batch_size=32, epochs=2, shuffle=False, callbacks=[probe, finder], verbose=0)
    assert len(finder.history["loss"]) == 64
    np.testing.assert_allclose(finder.history["loss"], probe.losses, rtol=2e-4, atol=2e-5)
    np.testing.assert_allclose(finder.history["accuracy"], probe.accuracies, atol=1e-5)
    # The last, smaller batch of each epoch too.
    assert finder.history["accuracy"][31] == pytest.approx(probe.accuracies[31], abs=1e-5)
    # The learning rate recorded is the one the optimizer used for that batch.
    np.testing.assert_allclose(finder.history["lr"], probe.lrs, rtol=1e-5)


def test_sample_weights_still_give_each_batch_its_own_loss_and_weighted_metric(digits):
    x, y = digits
    x, y = x[:640], y[:640]
    weights = np.where(np.arange(640) % 3 == 0, 3.0, 1.0).astype("float32")
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((64,)), keras.layers.Dense(32, activation="relu"),
                              keras.layers.Dense(10, activation="softmax")])
    # weighted_metrics: each batch adds its own sum of weights to the count.
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
                  weighted_metrics=["accuracy"])
    finder = LRFinder(min_lr=1e-4, max_lr=1e-2, epochs=1, stop_factor=None)

    class WeightedProbe(_BatchProbe):
        def on_train_batch_begin(self, batch, logs=None):
            start = batch * 32
            batch_weights = weights[start:start + 32]
            pred = self.model(self.x[start:start + 32], training=True)
            loss = keras.losses.sparse_categorical_crossentropy(self.y[start:start + 32], pred)
            self.losses.append(float(np.sum(loss * batch_weights) / 32))
            correct = np.argmax(keras.ops.convert_to_numpy(pred), axis=1) == self.y[start:start + 32]
            self.accuracies.append(float(np.sum(correct * batch_weights) / np.sum(batch_weights)))

    probe = WeightedProbe(x, y, 32)
    model.fit(x, y, sample_weight=weights, batch_size=32, epochs=1, shuffle=False,
              callbacks=[probe, finder], verbose=0)
    np.testing.assert_allclose(finder.history["loss"], probe.losses, rtol=2e-4, atol=2e-5)
    np.testing.assert_allclose(finder.history["accuracy"], probe.accuracies, atol=1e-5)


def test_stops_shortly_after_the_critical_learning_rate_of_least_squares(diabetes):
    """Gradient descent on least squares diverges exactly above 2 / lambda_max."""
    x, y = diabetes
    design = np.hstack([x, np.ones((len(x), 1), dtype=np.float32)]).astype(np.float64)
    hessian = 2.0 / len(x) * design.T @ design  # of the mean squared error
    critical_lr = 2.0 / np.linalg.eigvalsh(hessian).max()

    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((x.shape[1],)), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.SGD(), loss="mse")
    finder = LRFinder(min_lr=critical_lr / 1e3, max_lr=critical_lr * 1e2, epochs=400,
                      smoothing=0.9)
    model.fit(x, y, batch_size=len(x), epochs=400, shuffle=False, callbacks=[finder], verbose=0)

    assert finder.stop_reason in ("diverged", "non_finite_loss")
    stopped_at = finder.history["lr"][-1]
    assert critical_lr < stopped_at < critical_lr * 2.5, (critical_lr, stopped_at)
    suggestion = finder.suggest()
    assert suggestion.lr < critical_lr
    assert suggestion.max_lr < critical_lr
    assert suggestion.min_lr < suggestion.max_lr


def _snapshot(model):
    return ([keras.ops.convert_to_numpy(v) for v in model.variables],
            [keras.ops.convert_to_numpy(v) for v in model.optimizer.variables])


def _assert_bit_identical(before, after):
    for group_before, group_after in zip(before, after):
        assert len(group_before) == len(group_after)
        for a, b in zip(group_before, group_after):
            assert a.dtype == b.dtype and np.array_equal(a, b, equal_nan=True)


def test_restores_weights_slots_iterations_and_learning_rate_bit_for_bit(digits):
    x, y = digits
    model = make_classifier(optimizer=keras.optimizers.Adam(3e-3))
    model.fit(x, y, batch_size=64, epochs=1, verbose=0)  # slots and iterations are non-zero
    before = _snapshot(model)
    assert int(model.optimizer.iterations) > 0
    finder = LRFinder(min_lr=1e-5, max_lr=10.0, epochs=3)
    model.fit(x, y, batch_size=64, epochs=3, callbacks=[finder], verbose=0)
    _assert_bit_identical(before, _snapshot(model))
    assert float(model.optimizer.learning_rate) == pytest.approx(3e-3)


def test_restores_a_learning_rate_schedule_object(digits):
    x, y = digits
    schedule = keras.optimizers.schedules.ExponentialDecay(1e-2, decay_steps=10, decay_rate=0.5)
    optimizer = keras.optimizers.SGD(learning_rate=schedule, momentum=0.9)
    model = make_classifier(optimizer=optimizer)
    model.fit(x, y, batch_size=64, epochs=1, verbose=0)
    before = _snapshot(model)
    lr_before = float(optimizer.learning_rate)
    finder = LRFinder(min_lr=1e-4, max_lr=1.0, epochs=1)
    model.fit(x, y, batch_size=64, epochs=1, callbacks=[finder], verbose=0)
    assert optimizer._learning_rate is schedule
    assert float(optimizer.learning_rate) == lr_before
    _assert_bit_identical(before, _snapshot(model))
    # The sweep really ran: the recorded learning rates span the requested range.
    assert finder.history["lr"][0] == pytest.approx(1e-4)


@pytest.mark.parametrize("trained_before", [True, False])
def test_training_after_the_test_is_what_it_would_have_been(digits, trained_before):
    x, y = digits

    def train(with_test):
        model = make_classifier(seed=7, optimizer=keras.optimizers.Adam(1e-3))
        if trained_before:
            model.fit(x, y, batch_size=128, epochs=1, shuffle=False, verbose=0)
        if with_test:
            finder = LRFinder(min_lr=1e-4, max_lr=10.0, epochs=2)
            model.fit(x, y, batch_size=128, epochs=2, shuffle=False, callbacks=[finder],
                      verbose=0)
        model.fit(x, y, batch_size=128, epochs=1, shuffle=False, verbose=0)
        return _snapshot(model)

    _assert_bit_identical(train(with_test=False), train(with_test=True))


@pytest.fixture
def mixed_precision():
    keras.mixed_precision.set_global_policy("mixed_float16")
    yield
    keras.mixed_precision.set_global_policy("float32")


def test_restores_under_mixed_precision_loss_scaling(digits, mixed_precision):
    x, y = digits
    model = make_classifier(optimizer=keras.optimizers.Adam(1e-3))
    assert isinstance(model.optimizer, keras.optimizers.LossScaleOptimizer)
    model.fit(x, y, batch_size=64, epochs=1, verbose=0)
    before = _snapshot(model)
    finder = LRFinder(min_lr=1e-5, max_lr=1.0, epochs=1)
    model.fit(x, y, batch_size=64, epochs=1, callbacks=[finder], verbose=0)
    _assert_bit_identical(before, _snapshot(model))
    assert finder.history["lr"][0] == pytest.approx(1e-5)
    assert float(model.optimizer.learning_rate) == pytest.approx(1e-3)
    assert len(finder.history["loss"]) == math.ceil(len(x) / 64)


def test_restore_weights_false_keeps_training_but_puts_the_learning_rate_back(digits):
    x, y = digits
    model = make_classifier(optimizer=keras.optimizers.Adam(1e-3))
    before = _snapshot(model)
    finder = LRFinder(min_lr=1e-4, max_lr=1e-2, epochs=1, restore_weights=False)
    model.fit(x, y, batch_size=64, epochs=1, callbacks=[finder], verbose=0)
    assert not np.array_equal(before[0][0], keras.ops.convert_to_numpy(model.variables[0]))
    assert float(model.optimizer.learning_rate) == pytest.approx(1e-3)


def test_nan_loss_mid_test_stops_cleanly_and_keeps_the_result(diabetes):
    x, y = diabetes
    y = y.copy()
    y[320:352] = np.nan  # batch 10 has a NaN target, so a NaN loss
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((x.shape[1],)), keras.layers.Dense(8, activation="relu"),
                              keras.layers.Dense(1)])
    model.compile(optimizer="adam", loss="mse")
    model.optimizer.build(model.trainable_variables)
    before = _snapshot(model)
    finder = LRFinder(min_lr=1e-5, max_lr=1e-3, epochs=1, stop_factor=None)
    model.fit(x, y, batch_size=32, epochs=1, shuffle=False, callbacks=[finder], verbose=0)
    assert finder.stop_reason == "non_finite_loss"
    assert len(finder.history["loss"]) == 11
    assert math.isnan(finder.history["loss"][-1])
    _assert_bit_identical(before, _snapshot(model))  # NaN weights are gone
    assert all(np.isfinite(w).all() for w in model.get_weights())
    assert isinstance(finder.suggest(), Suggestion)  # from the 10 finite steps


def test_takes_steps_from_fit_when_not_given(digits):
    x, y = digits
    model = make_classifier()
    finder = LRFinder(min_lr=1e-4, max_lr=1e-1, stop_factor=None)
    model.fit(x[:320], y[:320], batch_size=32, epochs=3, callbacks=[finder], verbose=0)
    assert finder.num_steps == 30
    assert finder.history["lr"][-1] == pytest.approx(1e-1)


def test_generator_of_unknown_length_without_steps_is_a_clear_error(digits):
    x, y = digits

    def batches():
        for start in range(0, 320, 32):
            yield x[start:start + 32], y[start:start + 32]

    model = make_classifier()
    with pytest.raises(ValueError, match="steps_per_epoch"):
        model.fit(batches(), epochs=1, callbacks=[LRFinder()], verbose=0)
    # With steps_per_epoch it works.
    finder = LRFinder(min_lr=1e-4, max_lr=1e-2, steps_per_epoch=10, epochs=1)
    model.fit(batches(), steps_per_epoch=10, epochs=1, callbacks=[finder], verbose=0)
    assert len(finder.history["lr"]) == 10


def test_fit_ending_before_the_plan_warns_and_still_gives_a_result(digits):
    x, y = digits
    model = make_classifier()
    finder = LRFinder(min_lr=1e-4, max_lr=1.0, steps_per_epoch=20, epochs=5)
    with pytest.warns(UserWarning, match="planned"):
        model.fit(x[:640], y[:640], batch_size=32, epochs=1, callbacks=[finder], verbose=0)
    assert finder.stop_reason == "fit_ended"
    assert len(finder.history["lr"]) == 20
    assert isinstance(finder.suggest(), Suggestion)


def test_validation_loss_is_recorded_on_a_fixed_subset(digits):
    x, y = digits
    model = make_classifier()
    finder = LRFinder(min_lr=1e-4, max_lr=1e-1, epochs=1, validation_data=(x[1500:], y[1500:]),
                      validation_every=5, validation_samples=100, stop_factor=None)
    model.fit(x[:640], y[:640], batch_size=32, epochs=1, callbacks=[finder], verbose=0)
    val = np.array(finder.history["val_loss"])
    assert len(val) == 20
    measured = np.flatnonzero(~np.isnan(val))
    assert list(measured) == [0, 5, 10, 15, 19]
    assert finder.validation_data[0].shape[0] == 100
    assert np.all(val[measured] > 0)
    assert isinstance(finder.suggest(monitor="val_loss"), Suggestion)


@pytest.mark.parametrize("kwargs, error, words", [
    ({"min_lr": 0.0}, ValueError, "`min_lr` must be > 0 in exponential mode"),
    ({"min_lr": -1.0, "mode": "linear"}, ValueError, "`min_lr` must be >= 0"),
    ({"min_lr": 1.0, "max_lr": 1.0}, ValueError, "`min_lr` must be < `max_lr`"),
    ({"min_lr": 1.0, "max_lr": 0.1}, ValueError, "`min_lr` must be < `max_lr`"),
    ({"max_lr": float("nan")}, ValueError, "`max_lr` must be finite"),
    ({"min_lr": float("inf")}, ValueError, "`min_lr` must be finite"),
    ({"min_lr": "small"}, TypeError, "`min_lr` must be a number"),
    ({"mode": "cosine"}, ValueError, r"`mode` must be one of \('exponential', 'linear'\)"),
    ({"steps_per_epoch": 0}, ValueError, "`steps_per_epoch` must be a positive integer"),
    ({"steps_per_epoch": 2.5}, TypeError, "`steps_per_epoch` must be a positive integer"),
    ({"epochs": -1}, ValueError, "`epochs` must be a positive integer"),
    ({"smoothing": 1.0}, ValueError, r"`smoothing` must be in \[0, 1\)"),
    ({"smoothing": -0.1}, ValueError, r"`smoothing` must be in \[0, 1\)"),
    ({"stop_factor": 1.0}, ValueError, "`stop_factor` must be > 1 or None"),
    ({"stop_factor": 0.5}, ValueError, "`stop_factor` must be > 1 or None"),
    ({"method": "best"}, ValueError, "`method` must be one of"),
    ({"restore_weights": "yes"}, TypeError, "`restore_weights` must be True or False"),
    ({"validation_data": [1, 2, 3, 4]}, ValueError, "`validation_data` must be"),
    ({"validation_every": 0}, ValueError, "`validation_every` must be a positive integer"),
])
def test_bad_arguments_name_the_argument_and_what_is_accepted(kwargs, error, words):
    with pytest.raises(error, match=words):
        LRFinder(**kwargs)


def test_plot_and_suggest_before_any_step_are_clear_errors():
    finder = LRFinder()
    with pytest.raises(RuntimeError, match="not recorded any step"):
        finder.suggest()
    with pytest.raises(RuntimeError, match="not recorded any step"):
        finder.plot()


def test_plot_of_an_unrecorded_metric_lists_the_recorded_ones(digits):
    import matplotlib

    matplotlib.use("Agg")
    x, y = digits
    model = make_classifier()
    finder = LRFinder(min_lr=1e-4, max_lr=1e-2, epochs=1)
    model.fit(x[:320], y[:320], batch_size=32, epochs=1, callbacks=[finder], verbose=0)
    with pytest.raises(ValueError, match=r"recorded series \['loss', 'accuracy'\], got 'auc'"):
        finder.plot(monitor="auc")
    figure = finder.plot(monitor="acc")
    assert len(figure.axes) == 2  # the curve and its derivative
    assert "accuracy" in figure.axes[0].get_ylabel()
    assert figure.axes[0].get_xscale() == "log"
    lr_figure = finder.plot_lr()
    assert [ax.get_title() for ax in lr_figure.axes] == ["Learning rate", "Loss"]


def test_uncompiled_model_is_a_clear_error(digits):
    x, y = digits
    model = keras.Sequential([keras.Input((64,)), keras.layers.Dense(10)])
    with pytest.raises((ValueError, RuntimeError), match="compile"):
        model.fit(x, y, callbacks=[LRFinder()], verbose=0)


def test_plots_without_matplotlib_raise_an_import_error_naming_the_extra(tmp_path):
    code = (
        "import sys; sys.modules['matplotlib'] = None; sys.modules['matplotlib.pyplot'] = None\n"
        "from tb_lr_range import plotting\n"
        "try:\n"
        "    plotting.plot_lr({'lr': [1.0], 'loss': [1.0], 'smoothed_loss': [1.0]})\n"
        "except ImportError as e:\n"
        "    print(e)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "tb-lr-range[plots]" in out.stdout


def test_log_dir_gets_one_run_with_every_step(digits, tmp_path):
    from tensorboard.backend.event_processing import event_accumulator

    from tb_lr_range import metadata

    x, y = digits
    x = np.tile(x, (2, 1))
    y = np.tile(y, 2)
    model = make_classifier(hidden=8, optimizer=keras.optimizers.SGD())
    finder = LRFinder(min_lr=1e-6, max_lr=1e-3, epochs=5000 // 113 + 1, steps_per_epoch=113,
                      log_dir=tmp_path, run_name="sgd", stop_factor=None)
    model.fit(x, y, batch_size=32, epochs=45, callbacks=[finder], verbose=0)
    steps = 113 * 45
    assert len(finder.history["lr"]) == steps >= 5000
    assert os.listdir(tmp_path) == ["sgd"]
    files = os.listdir(tmp_path / "sgd")
    assert len(files) == 1 and "tfevents" in files[0]

    accumulator = event_accumulator.EventAccumulator(
        str(tmp_path / "sgd"), size_guidance={event_accumulator.TENSORS: 0})
    accumulator.Reload()
    tags = accumulator.Tags()["tensors"]
    assert set(tags) == {"lr", "loss", "metric/accuracy", "result"}
    for tag in ("lr", "loss", "metric/accuracy"):
        events = accumulator.Tensors(tag)
        assert [e.step for e in events] == list(range(steps))
        described = accumulator.SummaryMetadata(tag)
        assert described.plugin_data.plugin_name == metadata.PLUGIN_NAME
        assert described.data_class == metadata.summary_pb2.DATA_CLASS_SCALAR
    lrs = [float(e.tensor_proto.float_val[0]) for e in accumulator.Tensors("lr")]
    np.testing.assert_allclose(lrs, finder.history["lr"], rtol=1e-6)
    config = metadata.parse_content(accumulator.SummaryMetadata("lr").plugin_data.content)
    assert config["min_lr"] == 1e-6 and config["planned_steps"] == steps
    assert config["mode"] == "exponential" and config["smoothing"] == 0.98
    result = metadata.parse_content(accumulator.SummaryMetadata("result").plugin_data.content)
    assert result["stop_reason"] == "completed" and result["steps"] == steps
    assert result["suggestion"]["lr"] == pytest.approx(finder.suggest().lr)


def test_unwritable_log_dir_warns_and_keeps_the_result_in_memory(digits, tmp_path):
    x, y = digits
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    model = make_classifier()
    finder = LRFinder(min_lr=1e-4, max_lr=1e-2, epochs=1, log_dir=blocker / "logs")
    with pytest.warns(UserWarning, match="cannot write"):
        model.fit(x[:320], y[:320], batch_size=32, epochs=1, callbacks=[finder], verbose=0)
    assert len(finder.history["lr"]) == 10
    assert isinstance(finder.suggest(), Suggestion)


def test_legacy_tf_keras_is_refused_at_construction_with_a_clear_message():
    code = ("import tb_lr_range\n"
            "try:\n"
            "    tb_lr_range.LRFinder()\n"
            "except RuntimeError as e:\n"
            "    print(e)\n")
    env = dict(os.environ, TF_USE_LEGACY_KERAS="1")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env=env, check=True, timeout=120)
    assert "TF_USE_LEGACY_KERAS" in out.stdout and "Keras 3" in out.stdout


def test_tests_without_run_name_get_one_run_each(digits, tmp_path):
    x, y = digits
    run_dirs = []
    for optimizer in ("adam", "sgd", "rmsprop"):
        model = make_classifier(optimizer=optimizer)
        finder = LRFinder(min_lr=1e-4, max_lr=1e-2, epochs=1, log_dir=tmp_path)
        model.fit(x[:96], y[:96], batch_size=32, epochs=1, callbacks=[finder], verbose=0)
        run_dirs.append(finder.run_dir)
    assert len(set(run_dirs)) == 3
    assert sorted(os.listdir(tmp_path)) == sorted(os.path.basename(d) for d in run_dirs)
    assert all(len(os.listdir(d)) == 1 for d in run_dirs)

"""Tests of the pure-numpy range-test mathematics (no Keras, no TensorBoard)."""

import math
import subprocess
import sys

import numpy as np
import pytest

from tb_lr_range import analysis


def test_module_imports_neither_keras_nor_tensorflow():
    code = ("import sys, tb_lr_range.analysis, tb_lr_range.metadata; "
            "bad = [m for m in ('keras', 'tensorflow') if m in sys.modules]; "
            "assert not bad, bad")
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.parametrize("mode", analysis.MODES)
def test_schedule_endpoints_and_shape(mode):
    lrs = analysis.learning_rates(1e-4, 10.0, 51, mode)
    assert lrs.shape == (51,)
    assert lrs[0] == pytest.approx(1e-4)
    assert lrs[-1] == pytest.approx(10.0)
    assert np.all(np.diff(lrs) > 0)
    if mode == "exponential":
        ratios = lrs[1:] / lrs[:-1]
        np.testing.assert_allclose(ratios, ratios[0], rtol=1e-9)
    else:
        np.testing.assert_allclose(np.diff(lrs), np.diff(lrs)[0], rtol=1e-9)
    # Past the plan, the last learning rate is kept.
    assert analysis.learning_rate_at(80, 1e-4, 10.0, 51, mode) == pytest.approx(10.0)


def test_unknown_mode_is_a_clear_error():
    with pytest.raises(ValueError, match="`mode` must be one of"):
        analysis.learning_rates(1e-3, 1.0, 10, "cosine")


def test_batch_value_inverts_a_weighted_running_mean():
    batches = [(2.0, 32), (1.0, 32), (4.0, 7)]  # (batch mean, batch weight)
    total = count = 0.0
    previous_mean = previous_count = 0.0
    for value, weight in batches:
        total += value * weight
        count += weight
        mean = total / count
        assert analysis.batch_value(previous_mean, previous_count, mean, count) == pytest.approx(value)
        previous_mean, previous_count = mean, count
    assert math.isnan(analysis.batch_value(1.0, 5, 1.0, 5))


def _reference_ema(values, beta):
    out, average = [], 0.0
    for t, value in enumerate(values, start=1):
        average = beta * average + (1 - beta) * value
        out.append(average / (1 - beta**t))
    return np.array(out)


@pytest.mark.parametrize("beta", [0.0, 0.3, 0.9, 0.98, 0.999])
def test_ema_is_the_bias_corrected_recurrence(beta):
    values = np.random.default_rng(1).normal(3.0, 1.0, 3000)
    np.testing.assert_allclose(analysis.ema(values, beta), _reference_ema(values, beta), rtol=1e-9)
    # The first smoothed value is the first value: bias correction at work.
    assert analysis.ema(values, beta)[0] == pytest.approx(values[0])


def test_zero_lag_ema_does_not_shift_a_minimum():
    x = np.linspace(-1, 1, 2001)
    curve = x**2
    assert abs(int(np.argmin(analysis.ema(curve, 0.98))) - 1000) > 20  # the online EMA lags
    assert abs(int(np.argmin(analysis.zero_lag_ema(curve, 0.98))) - 1000) <= 2


@pytest.mark.parametrize("best", [2.0, 0.5, -3.0, -0.01])
def test_divergence_threshold_is_sign_safe(best):
    threshold = analysis.divergence_threshold(best, 4.0)
    assert threshold > best  # never "diverged" at the best value itself
    if best > 0:
        assert threshold == pytest.approx(4.0 * best)  # fastai's rule for positive losses
    assert threshold - best == pytest.approx(3.0 * abs(best))


def test_loss_tracker_on_negative_loss_does_not_stop_while_improving():
    tracker = analysis.LossTracker(beta=0.9, stop_factor=4.0)
    improving = -np.linspace(1.0, 5.0, 200)  # a negative log-likelihood going down
    assert all(tracker.update(v) is None for v in improving)
    reasons = [tracker.update(v) for v in np.linspace(-5.0, 40.0, 200)]
    assert "diverged" in reasons


def test_loss_tracker_stops_on_nan_and_inf():
    for bad in (math.nan, math.inf):
        tracker = analysis.LossTracker(beta=0.98, stop_factor=None)
        assert tracker.update(1.0) is None
        assert tracker.update(bad) == "non_finite_loss"


def test_derivative_is_taken_against_log_lr_in_exponential_mode():
    lrs = np.geomspace(1e-5, 1.0, 60)
    values = 3.0 * np.log(lrs) + 1.0
    np.testing.assert_allclose(analysis.derivative(lrs, values, "exponential"), 3.0, rtol=1e-9)
    np.testing.assert_allclose(analysis.derivative(lrs, 2.0 * lrs, "linear"), 2.0, rtol=1e-9)
    assert np.isnan(analysis.derivative([1.0], [1.0])).all()


def _typical_curve(n=400, noise=0.0, seed=0):
    """Flat, then falling, then exploding, as a range test looks."""
    lrs = np.geomspace(1e-6, 10.0, n)
    x = np.log10(lrs)
    loss = 2.0 - 1.5 / (1 + np.exp(-(x + 3.0) * 3)) + np.where(x > -1, 20 * (x + 1) ** 2, 0)
    loss = loss + np.random.default_rng(seed).normal(0, noise, n)
    return lrs, loss


@pytest.mark.parametrize("method", analysis.METHODS)
def test_every_method_lands_where_the_loss_falls(method):
    lrs, loss = _typical_curve()
    s = analysis.suggest(lrs, loss, method=method)
    assert s.method == method
    assert s.lr == s.methods[method]
    assert 1e-5 < s.lr < 1e-1, s
    assert 1e-6 <= s.min_lr < s.max_lr < 1e-1, s
    assert set(s.methods) == set(analysis.METHODS)


def test_suggestions_are_robust_to_noise_and_a_non_finite_tail():
    lrs, clean = _typical_curve()
    reference = analysis.suggest(lrs, clean)
    for seed in range(5):
        _, noisy = _typical_curve(noise=0.15, seed=seed)
        noisy[-30:] = np.nan
        noisy[-31] = np.inf
        s = analysis.suggest(lrs, noisy)
        # Within half a decade of the noiseless answer, every time.
        assert abs(math.log10(s.lr / reference.lr)) < 0.5, (s, reference)
        assert abs(math.log10(s.max_lr / reference.max_lr)) < 0.5, (s, reference)


def test_higher_is_better_reads_the_curve_upside_down():
    lrs, loss = _typical_curve()
    as_loss = analysis.suggest(lrs, loss)
    as_accuracy = analysis.suggest(lrs, -loss, higher_is_better=True)
    assert as_loss == as_accuracy


def test_suggest_rejects_bad_input_clearly():
    lrs, loss = _typical_curve()
    with pytest.raises(ValueError, match="`method` must be one of"):
        analysis.suggest(lrs, loss, method="best")
    with pytest.raises(ValueError, match="equal length"):
        analysis.suggest(lrs, loss[:-1])
    with pytest.raises(ValueError, match="at least 3 finite steps"):
        analysis.suggest(lrs[:5], [1.0, 2.0, np.nan, 1.0, 1.0])


def test_valley_matches_fastais_quadratic_definition():
    rng = np.random.default_rng(3)
    for _ in range(20):
        values = rng.normal(size=60).cumsum()
        n = len(values)
        lds = [1] * n
        max_start = max_end = 0
        for i in range(1, n):
            for j in range(i):
                if values[i] < values[j] and lds[i] < lds[j] + 1:
                    lds[i] = lds[j] + 1
                if lds[max_end] < lds[i]:
                    max_end = i
                    max_start = max_end - lds[max_end]
        assert analysis._longest_decreasing_run(values) == (max_start, max_end)


def test_steep_and_range_do_not_land_on_the_noisy_first_steps():
    lrs = np.geomspace(1e-6, 1.0, 300)
    x = np.log10(lrs)
    clean = 1 - 0.6 / (1 + np.exp(-(x + 3) * 2)) + np.where(lrs > 3e-2, 3 * (x - np.log10(3e-2)) ** 2, 0)
    for seed in range(50):
        noisy = clean + np.random.default_rng(seed).normal(0, 0.15, 300)
        s = analysis.suggest(lrs, noisy, method="steep")
        assert s.index >= 15 and s.min_lr > lrs[15], (seed, s)


def test_zero_lag_ema_is_a_normalised_two_sided_exponential_kernel():
    values = np.random.default_rng(2).normal(size=300)
    k = np.arange(300)
    expected = [np.sum(0.9 ** np.abs(i - k) * values) / np.sum(0.9 ** np.abs(i - k)) for i in k]
    np.testing.assert_allclose(analysis.zero_lag_ema(values, 0.9), expected, rtol=1e-9, atol=1e-12)


def test_derivative_of_a_curve_is_not_tilted_by_its_blown_up_tail():
    lrs, loss = _typical_curve(n=300)
    blown = loss.copy()
    blown[-40:] = np.geomspace(10.0, 1e5, 40)  # thousands at the end
    slope = analysis.readable_derivative(lrs, blown)
    clean = analysis.readable_derivative(lrs, loss)
    falling = slice(60, 180)  # where the loss falls, well before the tail
    np.testing.assert_allclose(slope[falling], clean[falling], atol=0.05)
    assert np.all(slope[falling] < 0.05)
    assert np.isnan(slope[-1])

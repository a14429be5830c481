"""LRFinder on Keras 3's JAX backend (a process of its own: the backend is fixed at import)."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

JOB = os.path.join(os.path.dirname(__file__), "backend_job.py")


@pytest.mark.parametrize("backend", ["jax", "tensorflow"])
def test_range_test_on_backend(backend, tmp_path):
    out = tmp_path / "out.json"
    env = dict(os.environ, KERAS_BACKEND=backend)
    done = subprocess.run([sys.executable, JOB, str(out)], env=env, capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    result = json.loads(out.read_text())
    assert result["backend"] == backend
    assert result["restored"], "variables were not restored bit for bit"
    assert result["lr_after"] == pytest.approx(1e-3)
    np.testing.assert_allclose(result["recorded_loss"], result["probe_loss"], rtol=2e-4, atol=2e-5)
    assert len(result["recorded_loss"]) == 64
    assert result["val_loss"] and all(v > 0 for v in result["val_loss"])
    assert result["stop_reason"] in ("diverged", "non_finite_loss")
    assert result["critical_lr"] < result["stopped_at_lr"] < 2.5 * result["critical_lr"]
    assert result["suggested_lr"] < result["critical_lr"]
    assert result["suggested_max_lr"] < result["critical_lr"]

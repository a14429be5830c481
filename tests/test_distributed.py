"""LRFinder under tf.distribute.MirroredStrategy on two logical CPU devices.

Keras 3 itself cannot `fit` under MultiWorkerMirroredStrategy
(keras-team/keras#20585), so there is no multi-worker test here.
"""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

JOB = os.path.join(os.path.dirname(__file__), "distributed_job.py")


def _run(kind, out, log_dir, env=None):
    return subprocess.Popen([sys.executable, JOB, kind, str(out), str(log_dir)],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True)


def _finish(process, timeout=600):
    try:
        output, _ = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        output, _ = process.communicate()
        pytest.fail("distributed job hung:\n" + output[-3000:])
    assert process.returncode == 0, output[-3000:]


def _check_one(result):
    history = result["history"]
    assert result["stop_reason"] == "diverged" or result["stop_reason"] == "non_finite_loss"
    assert len(history["lr"]) < 4 * 27  # stopped before the plan's end
    assert {len(v) for v in history.values()} == {len(history["lr"])}
    assert result["restored"], "variables were not restored bit for bit"
    assert result["replicas_agree"], "replicas used different learning rates"
    lrs = np.array(result["probe_lr"])
    np.testing.assert_allclose(np.diff(np.log(lrs)), np.diff(np.log(lrs))[0], rtol=1e-5)
    assert result["suggestion"]["lr"] < history["lr"][-1]


def test_mirrored_strategy_on_two_logical_cpus(tmp_path):
    process = _run("mirrored", tmp_path / "out.json", tmp_path / "logs")
    _finish(process)
    result = json.loads((tmp_path / "out.json").read_text())
    assert result["replicas"] == 2
    _check_one(result)
    assert os.listdir(tmp_path / "logs") == ["distributed"]

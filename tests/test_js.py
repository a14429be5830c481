"""Runs the panel's pure JavaScript helper tests with Node's own test runner."""

import pathlib
import shutil
import subprocess

import pytest

JS_TESTS = pathlib.Path(__file__).parent / "js"


@pytest.mark.skipif(shutil.which("node") is None, reason="Node.js is not installed")
def test_node_unit_tests_pass():
    files = sorted(str(p) for p in JS_TESTS.glob("*.test.mjs"))
    assert files, "no JavaScript tests found in tests/js"
    result = subprocess.run(["node", "--test", *files], capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "# fail 0" in result.stdout

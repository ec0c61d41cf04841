"""CPython's own test_asynchat.py, run unchanged against this package, per engine.

The file is used where it lies (never copied): the running interpreter's own
stdlib ``test/`` folder where it has one (CPython up to 3.11, whose asynchat
is the same code throughout), else the path in ASYNCHAT_CPYTHON_TEST_FILE
(tests/run.sh points it at the pyenv 3.11 copy, for 3.12+).
"""

import os
import subprocess
import sys
import sysconfig

import pytest

# Runs the suite after proving which asynchat it will test.
DRIVER = """
import runpy, sys
import asynchat
assert hasattr(asynchat, "IMPLEMENTATION"), "the stdlib asynchat shadows ours: " + asynchat.__file__
assert asynchat.IMPLEMENTATION == sys.argv[2], (asynchat.IMPLEMENTATION, sys.argv[2])
print("testing", asynchat.__file__, asynchat.IMPLEMENTATION, flush=True)
sys.argv = [sys.argv[1], "-v"]
runpy.run_path(sys.argv[0], run_name="__main__")
"""


def cpython_test_file():
    own = os.path.join(sysconfig.get_path("stdlib"), "test", "test_asynchat.py")
    if os.path.exists(own):
        return own
    configured = os.environ.get("ASYNCHAT_CPYTHON_TEST_FILE")
    if configured and not os.path.exists(configured):
        pytest.fail(f"ASYNCHAT_CPYTHON_TEST_FILE={configured} does not exist")
    return configured or None


@pytest.mark.skipif(sys.implementation.name != "cpython", reason="CPython's test.support is needed")
@pytest.mark.parametrize("implementation", ["cython", "python"])
def test_cpython_test_asynchat_passes(implementation, tmp_path):
    path = cpython_test_file()
    if path is None:
        pytest.skip("CPython 3.11's test_asynchat.py not found (set ASYNCHAT_CPYTHON_TEST_FILE)")
    if implementation == "cython":
        try:
            import asynchat._speedups  # noqa: F401
        except ImportError:
            pytest.skip("compiled engine not built here")
    env = dict(os.environ)
    env.pop("ASYNCHAT_NO_EXTENSIONS", None)
    if implementation == "python":
        env["ASYNCHAT_NO_EXTENSIONS"] = "1"
    result = subprocess.run(
        [sys.executable, "-c", DRIVER, path, implementation],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600,
    )
    report = result.stdout + result.stderr
    assert result.returncode == 0, report[-4000:]
    assert "testing " in result.stdout
    assert "\nOK" in result.stderr, report[-4000:]

"""The package's own source type-checks, and the compiled engine's stub matches the compiled engine.

mypy checks the installed package (the adapter against the compiled engine's
stub, as asynchat/_engine.py tells it to) with --check-untyped-defs; stubtest
compares asynchat/_speedups.pyi with the extension module itself.
"""

import os
import shutil
import subprocess
import sys

import pytest

import asynchat

pytest.importorskip("mypy")


def run(tmp_path, *args, **env):
    # From an empty directory, so that only the installed package answers "asynchat".
    return subprocess.run(
        [sys.executable, "-m", *args],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
        env=dict(os.environ, **env),
    )


def test_the_package_source_type_checks(tmp_path):
    package = os.path.dirname(asynchat.__file__)
    result = run(tmp_path, "mypy", "--cache-dir", str(tmp_path / "cache"), "--check-untyped-defs", package)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_compiled_engine_matches_its_stub(tmp_path):
    pytest.importorskip("asynchat._speedups", exc_type=ImportError)
    # mypy answers "asynchat" from the standard library's stubs up to 3.11 and from
    # asynchat-stubs after: the engine's stub goes first on its path, alone.
    stubs = tmp_path / "stubs" / "asynchat"
    stubs.mkdir(parents=True)
    (stubs / "__init__.pyi").write_text("")
    shutil.copy(os.path.join(os.path.dirname(asynchat.__file__), "_speedups.pyi"), stubs)
    result = run(tmp_path, "mypy.stubtest", "asynchat._speedups", MYPYPATH=str(tmp_path / "stubs"))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Success" in result.stdout, result.stdout  # it found the stub and checked it

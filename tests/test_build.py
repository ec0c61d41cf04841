"""Packaging: what the wheel and the sdist carry, and the build without a C compiler."""

import os
import shutil
import subprocess
import sys
import tarfile
import zipfile

import pytest

CHECKOUT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CPYTHON = sys.implementation.name == "cpython"
IGNORED = shutil.ignore_patterns(".git", ".venv", "build", "dist", "*.egg-info", "*.so", "*.c",
                                 "__pycache__", ".hypothesis", ".pytest_cache", ".benchmarks", "results")


@pytest.fixture
def source(tmp_path):
    """A clean copy of the checkout, so builds neither reuse nor leave artifacts in it."""
    tree = tmp_path / "src"
    shutil.copytree(CHECKOUT, tree, ignore=IGNORED)
    return tree


def build_wheel(source, out, **env_changes):
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASYNCHAT_")}
    env.update(env_changes)
    return subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-build-isolation", "--no-deps", "-v", "-w", str(out), str(source)],
        env=env, capture_output=True, text=True, timeout=600,
    )


def wheel_names(out):
    (wheel,) = [name for name in os.listdir(out) if name.endswith(".whl")]
    with zipfile.ZipFile(os.path.join(out, wheel)) as zf:
        return zf.namelist()


def test_wheel_carries_the_precedence_hook_and_the_engines(source, tmp_path):
    result = build_wheel(source, tmp_path / "out")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    names = wheel_names(tmp_path / "out")
    for expected in ("asynchat-precedence.pth", "_asynchat_precedence.py", "asynchat/__init__.py",
                     "asynchat/_fallback.py", "asynchat/_speedups.pyi", "asynchat/py.typed"):
        assert expected in names
    compiled = [n for n in names if n.startswith("asynchat/_speedups") and not n.endswith(".pyi")]
    assert bool(compiled) == CPYTHON, compiled


@pytest.mark.skipif(not CPYTHON, reason="the extension is built on CPython only")
def test_without_a_compiler_the_wheel_is_pure_python_with_a_warning(source, tmp_path):
    result = build_wheel(source, tmp_path / "out", CC="/bin/false")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "asynchat will use its pure-Python engine" in result.stdout + result.stderr
    names = wheel_names(tmp_path / "out")
    assert "asynchat/_fallback.py" in names
    assert not [n for n in names if n.startswith("asynchat/_speedups") and not n.endswith(".pyi")]


@pytest.mark.skipif(not CPYTHON, reason="the extension is built on CPython only")
def test_a_required_extension_that_fails_to_build_is_an_error(source, tmp_path):
    result = build_wheel(source, tmp_path / "out", CC="/bin/false", ASYNCHAT_REQUIRE_EXTENSIONS="1")
    assert result.returncode != 0
    assert not (tmp_path / "out").exists() or not os.listdir(tmp_path / "out")


def test_sdist_carries_the_cython_source_and_the_hook(source, tmp_path):
    code = "import sys; from setuptools import build_meta; print(build_meta.build_sdist(sys.argv[1]))"
    result = subprocess.run([sys.executable, "-c", code, str(tmp_path / "sdist")], cwd=source,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    name = result.stdout.strip().splitlines()[-1]
    with tarfile.open(tmp_path / "sdist" / name) as tf:
        members = {m.split("/", 1)[1] for m in tf.getnames() if "/" in m}
    for expected in ("_speedups/_speedups.pyx", "asynchat-precedence.pth", "_asynchat_precedence.py",
                     "setup.py", "pyproject.toml", "asynchat/_speedups.pyi", "LICENSE"):
        assert expected in members

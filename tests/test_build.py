"""Packaging: what the wheel and the sdist carry, and the build without a C compiler."""

import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile

import pytest
from checkout import CHECKOUT, clean_copy

CPYTHON = sys.implementation.name == "cpython"


@pytest.fixture
def source(tmp_path):
    """A clean copy of the checkout, so builds neither reuse nor leave artifacts in it."""
    return clean_copy(tmp_path / "src")


def build_wheel(source, out, **env_changes):
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASYNCHAT_")}
    env.update(env_changes)
    return subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-build-isolation", "--no-deps", "-v", "-w", str(out), str(source)],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


def wheel_names(out):
    (wheel,) = [name for name in os.listdir(out) if name.endswith(".whl")]
    with zipfile.ZipFile(os.path.join(out, wheel)) as zf:
        return zf.namelist()


HOME = "_asynchat_home/asynchat/"


def compiled_engine(names):
    return [n for n in names if n.startswith(HOME + "_speedups") and not n.endswith(".pyi")]


def test_wheel_carries_the_hook_the_engines_and_the_stubs(source, tmp_path):
    result = build_wheel(source, tmp_path / "out")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    names = wheel_names(tmp_path / "out")
    for expected in (
        "asynchat-precedence.pth",
        "asynchat_precedence.py",
        HOME + "__init__.py",
        HOME + "_fallback.py",
        HOME + "_speedups.pyi",
        "asynchat-stubs/__init__.pyi",
    ):
        assert expected in names
    # Nothing where other distributions install their asynchat/__init__.py.
    assert not [n for n in names if n.startswith("asynchat/")]
    assert bool(compiled_engine(names)) == CPYTHON
    (metadata,) = [n for n in names if n.endswith(".dist-info/METADATA")]
    assert metadata.startswith("fast_asynchat-")
    with zipfile.ZipFile(os.path.join(tmp_path / "out", os.listdir(tmp_path / "out")[0])) as zf:
        assert "\nName: fast-asynchat\n" in zf.read(metadata).decode()


# Modules that left the standard library after 3.9 (PEP 594 and others): PyPI refuses them as names too.
REMOVED_MODULES = {
    "asynchat",
    "asyncore",
    "smtpd",
    "distutils",
    "imp",
    "aifc",
    "audioop",
    "cgi",
    "cgitb",
    "chunk",
    "crypt",
    "imghdr",
    "mailcap",
    "msilib",
    "nis",
    "nntplib",
    "ossaudiodev",
    "pipes",
    "sndhdr",
    "spwd",
    "sunau",
    "telnetlib",
    "uu",
    "xdrlib",
    "lib2to3",
    "formatter",
    "parser",
    "symbol",
    "binhex",
}


@pytest.mark.skipif(sys.version_info < (3, 11), reason="reads pyproject.toml with tomllib")
def test_the_distribution_name_is_one_pypi_accepts():
    import re

    import tomllib

    with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pyproject.toml"), "rb") as f:
        name = tomllib.load(f)["project"]["name"]
    normalized = re.sub(r"[-_.]+", "_", name).lower()
    assert normalized not in set(sys.stdlib_module_names) | REMOVED_MODULES, name
    assert name == "fast-asynchat"


def test_the_pth_line_reads_the_opt_out_before_importing_anything(source):
    with open(source / "asynchat-precedence.pth") as f:
        (line,) = f.read().splitlines()
    assert line.startswith("import os;")  # os is loaded by site already
    opt_out, _, hook = line.partition(" or ")
    assert "ASYNCHAT_USE_OTHER" in opt_out and "ASYNCHAT_USE_STDLIB" in opt_out
    assert hook == '__import__("asynchat_precedence")'


@pytest.mark.skipif(not CPYTHON, reason="the extension is built on CPython only")
def test_without_a_compiler_the_wheel_is_pure_python_with_a_warning(source, tmp_path):
    result = build_wheel(source, tmp_path / "out", CC="/bin/false")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "asynchat will use its pure-Python engine" in result.stdout + result.stderr
    names = wheel_names(tmp_path / "out")
    assert HOME + "_fallback.py" in names
    assert not compiled_engine(names)


@pytest.mark.skipif(not CPYTHON, reason="the extension is built on CPython only")
def test_a_required_extension_that_fails_to_build_is_an_error(source, tmp_path):
    result = build_wheel(source, tmp_path / "out", CC="/bin/false", ASYNCHAT_REQUIRE_EXTENSIONS="1")
    assert result.returncode != 0
    assert not (tmp_path / "out").exists() or not os.listdir(tmp_path / "out")


@pytest.mark.skipif(not CPYTHON, reason="the extension is built on CPython only")
def test_an_error_that_is_not_about_the_compiler_fails_the_build(source, tmp_path):
    """Only a missing compiler or Cython may give a slower package; a bug in the build may not."""
    planted = tmp_path / "planted"
    planted.mkdir()
    (planted / "sitecustomize.py").write_text(
        "import setuptools.command.build_ext as m\n"
        "def broken(self, ext):\n"
        "    raise RuntimeError('planted build bug')\n"
        "m.build_ext.build_extension = broken\n"
    )
    result = build_wheel(source, tmp_path / "out", PYTHONPATH=str(planted))
    assert result.returncode != 0
    assert "planted build bug" in result.stdout + result.stderr
    assert "pure-Python engine" not in result.stdout + result.stderr


# What the sdist leaves out of the project's files: CI's own scripts and git's settings.
NOT_IN_SDIST = (".ci/", ".git")


def project_files():
    """The project's files: git's list in a checkout, else (an unpacked sdist, no git) the tree less artifacts."""
    if shutil.which("git"):
        listed = subprocess.run(["git", "ls-files"], cwd=CHECKOUT, capture_output=True, text=True)
        if listed.returncode == 0 and listed.stdout:
            return set(listed.stdout.splitlines())
    tree = clean_copy(tempfile.mkdtemp() + "/tree")
    try:
        return {os.path.relpath(os.path.join(root, name), tree) for root, _, names in os.walk(tree) for name in names}
    finally:
        shutil.rmtree(tree)


def test_the_sdist_carries_every_project_file_and_no_generated_code(source, tmp_path):
    code = "import sys; from setuptools import build_meta; print(build_meta.build_sdist(sys.argv[1]))"
    result = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path / "sdist")], cwd=source, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-3000:]
    name = result.stdout.strip().splitlines()[-1]
    with tarfile.open(tmp_path / "sdist" / name) as tf:
        members = {m.split("/", 1)[1] for m in tf.getnames() if "/" in m}
    expected = {f for f in project_files() if not f.startswith(NOT_IN_SDIST) and f not in ("PKG-INFO", "setup.cfg")}
    assert expected - members == set()
    generated = [m for m in members if m.endswith((".c", ".so", ".pyd", ".html"))]
    assert generated == []


# The wheels docs/install.md promises: CPython 3.9-3.15 and the free-threaded 3.14t and 3.15t, per platform.
PYTHONS = ["cp39", "cp310", "cp311", "cp312", "cp313", "cp314", "cp314t", "cp315", "cp315t"]
WHEEL_PLATFORMS = {
    "linux": [f"{libc}_{arch}" for libc in ("manylinux", "musllinux") for arch in ("x86_64", "aarch64")],
    "macos": ["macosx_x86_64", "macosx_arm64"],
    "windows": ["win_amd64"],
}


@pytest.mark.parametrize("platform", WHEEL_PLATFORMS)
def test_cibuildwheel_selects_the_documented_wheels(platform):
    pytest.importorskip("cibuildwheel")
    result = subprocess.run(
        [sys.executable, "-m", "cibuildwheel", "--print-build-identifiers", "--platform", platform, CHECKOUT],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    expected = {f"{python}-{tag}" for python in PYTHONS for tag in WHEEL_PLATFORMS[platform]}
    assert set(result.stdout.split()) == expected

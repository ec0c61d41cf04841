"""Build steps that pyproject.toml cannot express.

- The compiled engine ``asynchat._speedups`` from ``asynchat/_speedups.pyx``, on
  CPython.  It is optional: without Cython or a working C compiler the package
  installs with its pure-Python engine and a warning; any other error in the
  build fails it.  ``ASYNCHAT_REQUIRE_EXTENSIONS=1`` makes a failed compile an
  error too (CI sets it); ``ASYNCHAT_CYTHON_ANNOTATE=1`` writes
  ``asynchat/_speedups.html``, Cython's annotated view of the source.
- Where things land in the wheel (see ``asynchat_precedence.py``): the
  ``asynchat`` package under ``_asynchat_home/``, a directory that no other
  distribution writes, so that it never overwrites, nor is overwritten by,
  another ``asynchat/__init__.py``; ``asynchat-precedence.pth`` at the top,
  which makes ``import asynchat`` find it there.
"""

import os
import platform
import shutil
import sys

from setuptools import Extension, setup
from setuptools.command.build import build
from setuptools.command.build_ext import build_ext
from setuptools.errors import CCompilerError, ExecError, PlatformError

PACKAGE = "asynchat"
HOME = "_asynchat_home"
PTH_FILE = "asynchat-precedence.pth"
# Also makes pip remove the whole directory on uninstall: it owns a file in it.
HOME_README = """\
This directory holds the asynchat package of the "fast-asynchat" distribution.
It is kept apart from site-packages/asynchat/, which other distributions may
install; asynchat-precedence.pth and asynchat_precedence.py beside this
directory make "import asynchat" find it here.
"""
# What a missing or broken compiler raises; anything else is a bug in the build.
NO_COMPILER = (CCompilerError, ExecError, PlatformError)


def _flag(name):
    return os.environ.get(name, "") not in ("", "0")


REQUIRE_EXTENSIONS = _flag("ASYNCHAT_REQUIRE_EXTENSIONS")


class build_into_home(build):
    """build, then move the package into HOME and put the .pth hook at the top."""

    def run(self):
        super().run()
        built = os.path.join(self.build_lib, PACKAGE)
        home = os.path.join(self.build_lib, HOME)
        if os.path.isdir(built):  # absent when nothing was rebuilt since the last move
            shutil.rmtree(home, ignore_errors=True)
            self.mkpath(home)
            os.rename(built, os.path.join(home, PACKAGE))
            with open(os.path.join(home, "README.txt"), "w") as f:
                f.write(HOME_README)
        self.copy_file(PTH_FILE, os.path.join(self.build_lib, PTH_FILE), preserve_mode=False)


class optional_build_ext(build_ext):
    """build_ext that falls back to the pure-Python engine when no compiler can build it."""

    def run(self):
        try:
            super().run()
        except NO_COMPILER as exc:
            self._give_up(exc)

    def build_extension(self, ext):
        try:
            super().build_extension(ext)
        except NO_COMPILER as exc:
            self._give_up(exc)

    def _give_up(self, exc):
        if REQUIRE_EXTENSIONS:
            raise exc
        message = (
            f"WARNING: the compiled engine asynchat._speedups could not be built ({exc}); "
            "asynchat will use its pure-Python engine, which is slower. "
            "Set ASYNCHAT_REQUIRE_EXTENSIONS=1 to make this an error."
        )
        print("*" * 78, message, "*" * 78, sep="\n", file=sys.stderr)


def extensions():
    if platform.python_implementation() != "CPython":
        return []  # PyPy runs the pure-Python engine: its JIT beats an extension through cpyext
    try:
        from Cython.Build import cythonize
    except ImportError as exc:
        if REQUIRE_EXTENSIONS:
            raise
        print(f"WARNING: Cython is not installed ({exc}); asynchat will use its pure-Python engine.", file=sys.stderr)
        return []
    extension = Extension("asynchat._speedups", ["asynchat/_speedups.pyx"])
    return cythonize([extension], annotate=_flag("ASYNCHAT_CYTHON_ANNOTATE"), quiet=True)


setup(
    cmdclass={"build": build_into_home, "build_ext": optional_build_ext},
    ext_modules=extensions(),
)

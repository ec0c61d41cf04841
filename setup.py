"""Build steps that pyproject.toml cannot express.

- The compiled engine ``asynchat._speedups`` from ``_speedups/_speedups.pyx``, on
  CPython.  It is optional: without Cython or a C compiler the package installs
  with its pure-Python engine and a warning.  ``ASYNCHAT_REQUIRE_EXTENSIONS=1``
  makes a failed build an error (CI sets it); ``ASYNCHAT_CYTHON_ANNOTATE=1``
  writes ``_speedups/_speedups.html``, Cython's annotated view of the source.
- ``asynchat-precedence.pth`` at the top of the wheel, so that the installed
  package, not the standard library's module, is what ``import asynchat``
  gives (see ``_asynchat_precedence.py``).
"""

import os
import platform
import sys

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext
from setuptools.command.build_py import build_py

PTH_FILE = "asynchat-precedence.pth"


def _flag(name):
    return os.environ.get(name, "") not in ("", "0")


REQUIRE_EXTENSIONS = _flag("ASYNCHAT_REQUIRE_EXTENSIONS")


class build_py_with_pth(build_py):
    """build_py that also puts the .pth file at the top of the build tree."""

    def run(self):
        super().run()
        self.copy_file(PTH_FILE, os.path.join(self.build_lib, PTH_FILE), preserve_mode=False)

    def get_outputs(self, include_bytecode=True):
        return super().get_outputs(include_bytecode) + [os.path.join(self.build_lib, PTH_FILE)]


class optional_build_ext(build_ext):
    """build_ext that falls back to the pure-Python engine unless the extension is required."""

    def run(self):
        try:
            super().run()
        except Exception as exc:
            self._give_up(exc)

    def build_extension(self, ext):
        try:
            super().build_extension(ext)
        except Exception as exc:
            self._give_up(exc)

    def _give_up(self, exc):
        if REQUIRE_EXTENSIONS:
            raise
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
        print(f"WARNING: Cython is not installed ({exc}); asynchat will use its pure-Python engine.",
              file=sys.stderr)
        return []
    extension = Extension("asynchat._speedups", ["_speedups/_speedups.pyx"])
    return cythonize([extension], annotate=_flag("ASYNCHAT_CYTHON_ANNOTATE"), quiet=True)


setup(
    cmdclass={"build_py": build_py_with_pth, "build_ext": optional_build_ext},
    ext_modules=extensions(),
)

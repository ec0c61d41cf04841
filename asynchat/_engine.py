"""Choose the engine once, at import.

``ASYNCHAT_NO_EXTENSIONS`` (any value but "" or "0") forces the pure-Python
engine; on PyPy it is the default, since the JIT beats an extension driven
through cpyext; elsewhere the compiled engine is used when it imports, and an
ImportWarning (shown by test runners and ``python -X dev``) says when it does not.
"""

import importlib
import os
import sys
import warnings
from typing import TYPE_CHECKING

__all__ = ["engine", "IMPLEMENTATION"]


def _forced_pure_python():
    return os.environ.get("ASYNCHAT_NO_EXTENSIONS", "") not in ("", "0")


def _select():
    if not _forced_pure_python() and sys.implementation.name == "cpython":
        try:
            compiled = importlib.import_module("asynchat._speedups")
        except ImportError as exc:
            warnings.warn(
                f"asynchat's compiled engine is not available ({exc}); using the slower "
                "pure-Python engine (set ASYNCHAT_NO_EXTENSIONS=1 to choose it explicitly)",
                ImportWarning,
                stacklevel=2,
            )
        else:
            return compiled, "cython"
    return importlib.import_module("asynchat._fallback"), "python"


if TYPE_CHECKING:
    # mypy checks the adapter against one engine: the compiled one's stub
    # (_speedups.pyi), which tests/test_engine_parity.py holds the pure one to.
    from asynchat import _speedups as engine

    IMPLEMENTATION: str
else:
    engine, IMPLEMENTATION = _select()

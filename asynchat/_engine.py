"""Choose the engine once, at import.

``ASYNCHAT_NO_EXTENSIONS`` (any value but "" or "0") forces the pure-Python
engine; on PyPy it is the default, since the JIT beats an extension driven
through cpyext; elsewhere the compiled engine is used when it imports.
"""

import os
import sys

__all__ = ["engine", "IMPLEMENTATION"]


def _forced_pure_python():
    return os.environ.get("ASYNCHAT_NO_EXTENSIONS", "") not in ("", "0")


def _select():
    if not _forced_pure_python() and sys.implementation.name == "cpython":
        try:
            from . import _speedups
        except ImportError:
            pass
        else:
            return _speedups, "cython"
    from . import _fallback

    return _fallback, "python"


engine, IMPLEMENTATION = _select()

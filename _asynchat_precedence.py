"""Make the installed asynchat package win over the standard library's module.

CPython up to 3.11 and PyPy ship an ``asynchat`` module in the standard
library, which comes before site-packages on ``sys.path``.  The file
``asynchat-precedence.pth``, installed beside this module, imports it at
interpreter start-up; importing it puts a finder first on ``sys.meta_path``
that answers for the top-level name ``asynchat`` alone, with the package in
this module's own directory.  Nothing else is imported or looked up until
someone imports asynchat.

Set ``ASYNCHAT_USE_STDLIB=1`` to get the standard library's module instead.
"""

import os
import sys
from importlib.machinery import PathFinder

_SITE_DIR = os.path.dirname(os.path.abspath(__file__))


class AsynchatFinder:
    """A meta path finder for ``asynchat`` that looks only beside this module."""

    @staticmethod
    def find_spec(fullname, path=None, target=None):
        if fullname != "asynchat" or os.environ.get("ASYNCHAT_USE_STDLIB", "") not in ("", "0"):
            return None
        # Only this directory: a copy elsewhere on sys.path is not ours to pick.
        return PathFinder.find_spec(fullname, [_SITE_DIR])


if not any(getattr(f, "__name__", None) == "AsynchatFinder" for f in sys.meta_path):
    sys.meta_path.insert(0, AsynchatFinder)

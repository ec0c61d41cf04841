"""Make ``import asynchat`` give this package, whatever else provides the name.

The package's code is installed in ``_asynchat_home/asynchat/`` inside
site-packages, a directory no other distribution writes: the standard
library's ``asynchat`` (CPython up to 3.11, PyPy) and the backports that
install ``asynchat/__init__.py`` in site-packages (``pyasynchat``,
``standard-asynchat``) stay intact beside it.  Importing this module puts a
finder first on ``sys.meta_path`` that answers the top-level name
``asynchat`` alone, from that directory.  ``asynchat-precedence.pth`` imports
it at interpreter start-up; where ``.pth`` files are not processed
(``python -S``, embedded or frozen interpreters), import it yourself before
``asynchat``.

``ASYNCHAT_USE_OTHER=1`` (or the older ``ASYNCHAT_USE_STDLIB=1``) makes the
finder stand aside, so ``import asynchat`` gives the other module.
"""

import os
import sys
from importlib.machinery import PathFinder

HOME = os.path.join(os.path.dirname(os.path.abspath(__file__)), "_asynchat_home")
OPT_OUT_VARIABLES = ("ASYNCHAT_USE_OTHER", "ASYNCHAT_USE_STDLIB")


def opted_out():
    return any(os.environ.get(name, "") not in ("", "0") for name in OPT_OUT_VARIABLES)


class AsynchatFinder:
    """A meta path finder for ``asynchat`` that looks only in this distribution's home."""

    @staticmethod
    def find_spec(fullname, path=None, target=None):
        if fullname != "asynchat" or opted_out():
            return None
        return PathFinder.find_spec(fullname, [HOME])


if not any(getattr(f, "__name__", None) == "AsynchatFinder" for f in sys.meta_path):
    sys.meta_path.insert(0, AsynchatFinder)

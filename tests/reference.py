"""Load CPython's own asynchat as an oracle, under a name that cannot clash with ours.

Up to 3.11 (and on PyPy) it is the standard library's ``asynchat.py``, loaded
by file path; on 3.12+ CPython keeps a copy as ``test.support.asynchat``.
`load()` returns None where neither exists.
"""

import importlib
import importlib.util
import os
import sysconfig
import warnings


def _load_by_path(path):
    spec = importlib.util.spec_from_file_location("_reference_asynchat", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def load():
    path = os.path.join(sysconfig.get_path("stdlib"), "asynchat.py")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        if os.path.exists(path):
            return _load_by_path(path)
        try:
            return importlib.import_module("test.support.asynchat")
        except ImportError:
            return None

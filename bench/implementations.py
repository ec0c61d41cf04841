"""The async_chat implementations a benchmark compares, each usable as a base class.

"cython" and "python" are this package's class running on one engine or the
other (the engine is chosen when a channel is made and when it sends, so the
class is switched by a context manager); "reference" is CPython's own module.
"""

import contextlib
import sys

import reference  # tests/reference.py (tests/ is on the path): CPython's module by path
from engines import engine_modules, running_on  # tests/engines.py: the one engine switch

import asynchat


def available():
    """Names of the implementations present on this interpreter, fastest expected first."""
    names = [name for name in ("cython", "python") if name in engine_modules()]
    if reference.load() is not None:
        names.append("reference")
    return names


def base_class(name):
    return reference.load().async_chat if name == "reference" else asynchat.async_chat


@contextlib.contextmanager
def engine_for(name):
    """Run this package's async_chat on the named engine (no-op for the reference)."""
    if name == "reference":
        yield
        return
    with running_on(engine_modules()[name]):
        yield


def asyncore_of(base):
    """The asyncore module that *base* (an async_chat class) is built on."""
    return sys.modules[base.__mro__[1].__module__]

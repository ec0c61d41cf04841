"""The async_chat implementations a benchmark compares, each usable as a base class.

"cython" and "python" are this package's class running on one engine or the
other (the engine is chosen when a channel is made and when it sends, so the
class is switched by a context manager); "reference" is CPython's own module.
"""

import contextlib
import importlib
import sys

import reference  # tests/reference.py (bench/conftest.py puts tests/ on sys.path): CPython's module by path

import asynchat
import asynchat._chat


def _engine(name):
    try:
        return importlib.import_module("asynchat._speedups" if name == "cython" else "asynchat._fallback")
    except ImportError:
        return None


def available():
    """Names of the implementations present on this interpreter, fastest expected first."""
    names = [name for name in ("cython", "python") if _engine(name) is not None]
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
    previous = asynchat._chat.use_engine(_engine(name))
    try:
        yield
    finally:
        asynchat._chat.use_engine(previous)


def asyncore_of(base):
    """The asyncore module that *base* (an async_chat class) is built on."""
    return sys.modules[base.__mro__[1].__module__]

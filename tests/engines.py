"""The engines this interpreter can run, for tests that compare them within one test."""

import contextlib
import importlib
import os
import sys

import asynchat._chat


def compiled_expected():
    return sys.implementation.name == "cpython" and os.environ.get("ASYNCHAT_EXPECT_IMPLEMENTATION") == "cython"


def engine_modules():
    """Every engine that can run here, by name: the compiled one is absent on PyPy."""
    modules = {"python": importlib.import_module("asynchat._fallback")}
    try:
        modules["cython"] = importlib.import_module("asynchat._speedups")
    except ImportError:
        if compiled_expected():
            raise
    return modules


@contextlib.contextmanager
def running_on(module):
    """async_chat and its subclasses run on the engine *module* inside the block."""
    previous = asynchat._chat.use_engine(module)
    try:
        yield module
    finally:
        asynchat._chat.use_engine(previous)

"""asynchat: CPython's command/response channel for asyncore, kept alive and made fast.

A drop-in replacement for the standard library module removed in Python 3.12
(PEP 594), with the behaviour of CPython 3.11's.  ``IMPLEMENTATION`` names the
engine in use: "cython" (the compiled ``asynchat._speedups``) or "python".
``loop()`` is asyncore.loop() on a poller that keeps its registrations, for
servers with thousands of connections.  On asyncio, ``serve_asyncio()`` runs a
socket map on the running event loop, and ``create_chat_server()`` /
``create_chat_connection()`` run channels as asyncio Protocols.
"""

# asyncore, deque and warn are public names of the reference module too (it
# imports them at top level), and scripts use them: asynchat.asyncore.loop().
# asyncore is the very module async_chat subclasses: the standard library's
# up to 3.11, the backport's on 3.12+.
from warnings import warn  # noqa: F401  (3.10's module has it)

from ._chat import async_chat, asyncore, deque, simple_producer
from ._engine import IMPLEMENTATION as IMPLEMENTATION  # public, not in __all__
from ._engine import engine as _engine
from ._loop import loop as loop  # public, not in __all__
from ._timers import TimerHandle as TimerHandle  # public, not in __all__
from ._timers import call_later as call_later  # public, not in __all__

# What "from asynchat import *" gives with the reference, which has no __all__:
# the additions (loop, call_later, IMPLEMENTATION, ...) stay out, so they never shadow a name.
__all__ = ["async_chat", "asyncore", "deque", "find_prefix_at_end", "simple_producer"]
__version__ = "0.2.0"

find_prefix_at_end = _engine.find_prefix_at_end

# The asyncio drivers, imported on first use: a server that never runs on asyncio
# does not pay for importing it.
_ON_ASYNCIO = {
    "serve_asyncio": "_asyncio_map",
    "ChatProtocol": "_asyncio_protocol",
    "TransportSocket": "_asyncio_protocol",
    "create_chat_server": "_asyncio_protocol",
    "create_chat_connection": "_asyncio_protocol",
}


def __getattr__(name):
    module = _ON_ASYNCIO.get(name)
    if module is None:
        raise AttributeError(f"module 'asynchat' has no attribute {name!r}")
    from importlib import import_module

    value = getattr(import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(_ON_ASYNCIO))

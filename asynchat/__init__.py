"""asynchat: CPython's command/response channel for asyncore, kept alive and made fast.

A drop-in replacement for the standard library module removed in Python 3.12
(PEP 594), with the behaviour of CPython 3.11's.  ``IMPLEMENTATION`` names the
engine in use: "cython" (the compiled ``asynchat._speedups``) or "python".
``loop()`` is asyncore.loop() on a poller that keeps its registrations, for
servers with thousands of connections.
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

# What "from asynchat import *" gives with the reference, which has no __all__:
# the additions (loop, IMPLEMENTATION) stay out, so they never shadow a name.
__all__ = ["async_chat", "asyncore", "deque", "find_prefix_at_end", "simple_producer"]
__version__ = "0.2.0"

find_prefix_at_end = _engine.find_prefix_at_end

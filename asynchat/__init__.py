"""asynchat: CPython's command/response channel for asyncore, kept alive and made fast.

A drop-in replacement for the standard library module removed in Python 3.12
(PEP 594), with the behaviour of CPython 3.11's.  ``IMPLEMENTATION`` names the
engine in use: "cython" (the compiled ``asynchat._speedups``) or "python".
``loop()`` is asyncore.loop() on a poller that keeps its registrations, for
servers with thousands of connections.
"""

from ._chat import async_chat, simple_producer
from ._engine import IMPLEMENTATION, engine as _engine  # noqa: F401  (IMPLEMENTATION is public)
from ._loop import loop

__all__ = ["async_chat", "simple_producer", "find_prefix_at_end", "loop"]
__version__ = "0.1.0"

find_prefix_at_end = _engine.find_prefix_at_end

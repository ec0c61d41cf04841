"""asynchat.call_later(): timers that run in a socket map's loop, whichever loop runs the map.

A map's timers are one dispatcher of that map (`_Timers`), on one end of a
socket pair: its ``writable()`` is true once a timer is due, so every loop
that runs the map (asyncore.loop(), asynchat.loop(), serve_asyncio()) sees it
ready and calls its ``handle_write()``, which runs the timers due.  They run
in the loop's handling phase, where closing channels is safe, never in the
phase that asks readable()/writable().  asyncore.loop() knows nothing of
timers, so they run at its pass after they are due: within its *timeout*.
asynchat.loop() waits no longer than the next timer, and serve_asyncio() sets
an asyncio timer for it.  While a timer is pending the dispatcher is in the
map, so the loop goes on, as for a channel; it leaves when none is.
"""

from __future__ import annotations

import heapq
import itertools
import socket
import time
import traceback
from typing import Any, Callable

from ._chat import asyncore

__all__ = ["TimerHandle", "call_later", "timers_of"]

# A map's _Timers, while it has timers pending: id(map) -> _Timers.
_by_map: dict[int, _Timers] = {}
# id(map) -> what to call when a timer becomes the map's first: serve_asyncio() re-arms its asyncio timer.
first_timer_hooks: dict[int, Callable[[], None]] = {}


class TimerHandle:
    """A timer made by call_later(): ``cancel()`` it, or read ``when`` (a time.monotonic() value)."""

    __slots__ = ("when", "_order", "_callback", "_args", "_timers")

    def __init__(self, when: float, order: int, callback: Callable[..., Any], args: tuple[Any, ...], timers: _Timers):
        self.when = when
        self._order = order  # timers due at the same moment run in the order they were made
        self._callback: Callable[..., Any] | None = callback
        self._args = args
        self._timers = timers

    def __lt__(self, other: TimerHandle) -> bool:
        return (self.when, self._order) < (other.when, other._order)

    def cancel(self) -> None:
        """The callback will not run (nothing if it ran, or was cancelled, already)."""
        if self._callback is not None:
            self._callback = None
            self._args = ()
            self._timers.cancelled_one()

    def cancelled(self) -> bool:
        return self._callback is None

    def __repr__(self) -> str:
        state = "cancelled or done" if self._callback is None else f"{self._callback!r} at {self.when:.3f}"
        return f"<asynchat.TimerHandle {state}>"


class _Timers(asyncore.dispatcher):
    """A socket map's timers, as a dispatcher of the map: ready to write once one is due."""

    # asyncore.dispatcher's own, which its stubs leave out.
    _map: dict[Any, Any]
    _fileno: int | None

    def __init__(self, sock_map: dict[Any, Any]):
        mine, self._other_end = socket.socketpair()
        asyncore.dispatcher.__init__(self, mine, sock_map)
        self.heap: list[TimerHandle] = []
        self.cancelled = 0  # cancelled timers still in the heap
        self.order = itertools.count()

    def add(self, delay: float, callback: Callable[..., Any], args: tuple[Any, ...]) -> TimerHandle:
        handle = TimerHandle(time.monotonic() + delay, next(self.order), callback, args, self)
        heapq.heappush(self.heap, handle)
        if self.heap[0] is handle:
            hook = first_timer_hooks.get(id(self._map))
            if hook is not None:
                hook()
        return handle

    def cancelled_one(self) -> None:
        self.cancelled += 1
        heap = self.heap
        if self.cancelled * 2 > len(heap):  # (a lone timer cancelled: the heap empties, the dispatcher goes)
            # Most are cancelled: drop them all now (amortised O(1) a cancel, as asyncio does).
            heap[:] = [handle for handle in heap if handle._callback is not None]
            heapq.heapify(heap)
            self.cancelled = 0
            if not heap:
                self.close()

    def next_due(self) -> float | None:
        """When the first pending timer is due (time.monotonic()), or None."""
        heap = self.heap
        while heap and heap[0]._callback is None:
            heapq.heappop(heap)
            self.cancelled -= 1
        return heap[0].when if heap else None

    def readable(self) -> bool:
        return False

    def writable(self) -> bool:
        due = self.next_due()
        return due is not None and due <= time.monotonic()

    def handle_write(self) -> None:
        """Run the timers due now, in order; those they make wait for a later pass."""
        now = time.monotonic()
        heap, due = self.heap, []
        while heap and heap[0].when <= now:
            due.append(heapq.heappop(heap))
        for handle in due:
            callback, args = handle._callback, handle._args
            if callback is None:
                self.cancelled -= 1
                continue
            handle._callback, handle._args = None, ()
            try:
                callback(*args)
            except (asyncore.ExitNow, KeyboardInterrupt, SystemExit):
                raise  # out of the loop, as from a channel's handler
            except BaseException:
                self.log_info(f"a timer's callback {callback!r} raised:\n{traceback.format_exc().rstrip()}", "error")
        if self.next_due() is None and self._fileno is not None:
            self.close()

    def handle_close(self) -> None:
        pass  # nobody writes to the other end

    def close(self) -> None:
        """No timer of the map runs after this (asyncore.close_all() of the map calls it too)."""
        if _by_map.get(id(self._map)) is self:
            del _by_map[id(self._map)]
        for handle in self.heap:
            handle._callback, handle._args = None, ()
        self.heap.clear()
        asyncore.dispatcher.close(self)
        self._other_end.close()


def timers_of(sock_map: dict[Any, Any]) -> _Timers | None:
    """The timers pending in *sock_map*, if any (for the loops that wait for them)."""
    timers = _by_map.get(id(sock_map))
    return timers if timers is not None and timers._map is sock_map else None


def call_later(
    delay: float, callback: Callable[..., Any], *args: Any, map: dict[Any, Any] | None = None
) -> TimerHandle:
    """Call ``callback(*args)`` once, *delay* seconds from now, in the loop that runs *map*.

    *map* is asyncore.socket_map by default.  Returns a handle with
    ``cancel()``.  Timers due at the same moment run in the order they were
    made.  An exception from the callback is logged and the loop goes on
    (ExitNow, KeyboardInterrupt and SystemExit leave the loop, as from a
    handler).  Call it from the thread that runs the map.
    """
    if not callable(callback):
        raise TypeError(f"call_later() needs a callable, not {type(callback).__name__}")
    if not isinstance(delay, (int, float)) or isinstance(delay, bool) or not delay >= 0:
        raise ValueError(f"the delay must be a number of seconds >= 0, got {delay!r}")
    if map is None:
        map = asyncore.socket_map
    timers = timers_of(map)
    if timers is None:
        timers = _by_map[id(map)] = _Timers(map)
    return timers.add(float(delay), callback, args)

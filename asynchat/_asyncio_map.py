"""serve_asyncio(): a socket map's dispatchers run on the running asyncio event loop.

The map is run as asynchat.loop() runs it (asynchat._loop._MapPoller: the
same registrations, kept and changed only when a channel's interest does),
with the asyncio loop in the poller's place: a registration is an
``add_reader()``/``add_writer()``, an event is that callback, and the pass
that brings registrations up to date runs once after the events of a loop
iteration, not once per event.  Channels that report themselves (async_chat
with this package's readable()/writable()) wake that pass when their interest
changes from anywhere, a coroutine included; a plain dispatcher added or
closed from outside the map's own handlers is seen at the next pass, which
runs at least every *interval* seconds.  The map's timers (asynchat.call_later())
get an asyncio timer for the next one due.
"""

from __future__ import annotations

import asyncio
import selectors
import time
from collections.abc import Awaitable
from typing import Any

from . import _loop, _timers
from ._chat import asyncore

__all__ = ["serve_asyncio"]

_DRIVER = "asynchat.serve_asyncio()"


class _AsyncioPoller:
    """The running asyncio loop as a _MapPoller's poller: registrations become add_reader()/add_writer()."""

    READ = selectors.EVENT_READ
    WRITE = selectors.EVENT_WRITE
    URGENT = 0  # asyncio reports no urgent data: as asyncore.loop()'s select mode
    dispatch = staticmethod(_loop._Selector.dispatch)

    def __init__(self, loop: asyncio.AbstractEventLoop, on_event):
        self.loop = loop
        self.on_event = on_event  # on_event(fd, mask)

    def set(self, fd, old, new):
        changed = old ^ new
        try:
            if changed & self.READ:
                if new & self.READ:
                    self.loop.add_reader(fd, self.on_event, fd, self.READ)
                else:
                    self.loop.remove_reader(fd)
            if changed & self.WRITE:
                if new & self.WRITE:
                    self.loop.add_writer(fd, self.on_event, fd, self.WRITE)
                else:
                    self.loop.remove_writer(fd)
        except NotImplementedError:
            raise RuntimeError(
                "serve_asyncio() needs an event loop with add_reader(), which Windows' "
                "ProactorEventLoop lacks: use asyncio.WindowsSelectorEventLoopPolicy(), or run "
                "the channels as asyncio Protocols (asynchat.create_chat_server())"
            ) from None
        except OSError:
            if new:
                raise  # the descriptor was closed: _MapPoller._update() treats EBADF
            # Unregistering a closed descriptor: asyncio has forgotten it all the same.

    def close(self):
        pass  # the loop is the application's


async def serve_asyncio(
    map: dict[Any, Any] | None = None, *, interval: float = 0.1, until: Awaitable[Any] | None = None
) -> None:
    """Run every dispatcher of *map* (asyncore.socket_map by default) on the running asyncio loop.

    Returns once the map is empty, or once *until* (an awaitable: a future,
    an event's wait(), a sleep) is done; either way the channels still in
    the map are left as they are, for another loop to run.  Cancelled (by
    ``task.cancel()``, a timeout, or the loop shutting down), it closes every
    channel still in the map first.  Callbacks are asyncore's: readable() and
    writable() decide what is waited for, ``handle_*`` are called as
    asyncore.loop() calls them, errors go to ``handle_error()``.  A map runs
    under one loop at a time: a map that asynchat.loop() or another
    serve_asyncio() is running is a RuntimeError.

    *interval*: the longest time between two passes over the map when no
    channel has an event, for plain dispatchers added, closed or changing
    their interest from outside the map's handlers (async_chat channels say
    so themselves).
    """
    if map is None:
        map = asyncore.socket_map
    if not interval > 0:
        raise ValueError(f"interval must be a positive number of seconds, got {interval!r}")
    serving = _Serving(map, asyncio.get_running_loop(), interval)
    stopper = None
    try:
        if until is not None:
            stopper = asyncio.ensure_future(until)
            stopper.add_done_callback(serving.stop)
        serving.tick()
        await serving.done
    except asyncio.CancelledError:
        asyncore.close_all(map, ignore_all=True)  # every descriptor released
        raise
    finally:
        if stopper is not None and not stopper.done():
            stopper.cancel()
        serving.release()


class _Serving:
    """One serve_asyncio() call: the map's _MapPoller on the asyncio loop, and when its passes run."""

    def __init__(self, sock_map: dict[Any, Any], loop: asyncio.AbstractEventLoop, interval: float):
        self.map = sock_map
        self.loop = loop
        self.interval = interval
        self.done: asyncio.Future[None] = loop.create_future()
        self.scheduled = False  # a pass is due in this loop iteration
        self.ticker: asyncio.TimerHandle | None = None
        self.alarm: asyncio.TimerHandle | None = None  # a pass when the map's next timer is due
        self.alarm_due: float | None = None
        recheck = _loop.WakingRecheck()
        recheck.wake = self.wake
        self.map_poller = _loop.claim(sock_map, _AsyncioPoller(loop, self.on_event), _DRIVER, recheck)
        _timers.first_timer_hooks[id(sock_map)] = self.set_alarm

    def run_pass(self) -> None:
        """Bring the registrations up to date; the end once the map is empty."""
        self.scheduled = False
        map_poller = self.map_poller
        try:
            map_poller.refresh()
            map_poller.close_found_closed()
            if map_poller.always_ready:  # files the selector refuses: poll() says they are always ready
                for fd, mask in list(map_poller.always_ready.items()):
                    map_poller.dispatch(fd, mask)
                self.wake()
        except BaseException as error:  # a RuntimeError from the poller, or the loop's own
            if not self.done.done():
                self.done.set_exception(error)
            return
        if not self.map:
            self.stop()
        else:
            self.set_alarm()

    def set_alarm(self) -> None:
        """An asyncio timer for a pass when the map's next asynchat.call_later() timer is due."""
        timers = _timers.timers_of(self.map)
        due = timers.next_due() if timers is not None else None
        if due == self.alarm_due:
            return
        if self.alarm is not None:
            self.alarm.cancel()
        self.alarm_due = due
        self.alarm = None if due is None else self.loop.call_later(max(0.0, due - time.monotonic()), self.alarm_rang)

    def alarm_rang(self) -> None:
        # A pass; and the next set_alarm() arms again even for the same timer, which an
        # event loop may wake for a little early (uvloop counts in milliseconds).
        self.alarm = self.alarm_due = None
        self.wake()

    def wake(self) -> None:
        """A pass in this loop iteration, after the events (a channel's interest may have changed)."""
        if not self.scheduled:
            self.scheduled = True
            self.loop.call_soon(self.run_pass)

    def on_event(self, fd: int, mask: int) -> None:
        map_poller = self.map_poller
        try:
            map_poller.dispatch(fd, mask)
        except asyncore.ExitNow as exit_now:  # asyncore's way out of the loop: out of serve_asyncio()
            if not self.done.done():
                self.done.set_exception(exit_now)
        obj = map_poller.known.get(fd)
        if obj is not None and self.map.get(fd) is not obj:
            # Closed by its handler: unregistered now, before anything else in this
            # loop iteration is given the same descriptor number.
            map_poller.forget_fd(fd)
        self.wake()

    def tick(self) -> None:
        """A pass now, and every *interval* seconds (for what no event reports)."""
        self.run_pass()
        self.ticker = self.loop.call_later(self.interval, self.tick)

    def stop(self, _: object = None) -> None:
        if not self.done.done():
            self.done.set_result(None)

    def release(self) -> None:
        for handle in (self.ticker, self.alarm):
            if handle is not None:
                handle.cancel()
        _timers.first_timer_hooks.pop(id(self.map), None)
        _loop.release(self.map_poller)

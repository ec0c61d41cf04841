"""asynchat.loop(): asyncore.loop() on a poller that keeps its registrations.

asyncore.loop() asks every channel readable() and writable() and builds a new
poll set on every iteration, so each iteration costs in proportion to the
connections open, idle or not.  Here each socket map has one poller for as
long as the map has channels (across loop() calls), and a channel's
registration changes only when its interest does:

- async_chat channels that keep this package's readable(), writable() and
  initiate_send() report themselves: the loop asks them again after their own
  events, and after a send, close_when_done() or discard_buffers() made from
  anywhere (the engine marks them in the dict their framer's ``recheck`` holds);
- every other channel (plain dispatchers, overridden predicates) is asked
  every iteration, as asyncore.loop() asks it;
- the map is compared with what is registered at every iteration (one dict
  comparison, in C), so channels added or removed by any means are seen.

A poll waits no longer than the map's next timer (asynchat.call_later()).
Events are dispatched as asyncore.loop(use_poll=True) dispatches them, by
asyncore's own readwrite(): read, write, urgent data (handle_expt_event), and
handle_close() on hang-up and errors.
"""

from __future__ import annotations

import errno
import os
import select
import selectors
import time
import weakref
from typing import Any, Callable

from ._chat import async_chat, asyncore
from ._timers import timers_of

__all__ = ["loop"]

_INVALID = getattr(select, "POLLNVAL", 0)  # what poll() reports for a descriptor closed while registered


class _Epoll:
    """Linux's epoll.  Its event bits are poll()'s, so asyncore.readwrite() reads them as it does poll()'s."""

    READ = select.EPOLLIN | select.EPOLLPRI  # as asyncore registers a readable channel with poll()
    WRITE = select.EPOLLOUT
    URGENT = select.EPOLLPRI
    dispatch = staticmethod(asyncore.readwrite)

    def __init__(self):
        self._epoll = select.epoll()

    def set(self, fd, old, new):
        """Change *fd*'s registration from mask *old* to *new* (0: not registered)."""
        epoll = self._epoll
        try:
            if not new:
                epoll.unregister(fd)
            elif old:
                epoll.modify(fd, new)
            else:
                epoll.register(fd, new)
        except FileNotFoundError:  # its socket was closed, and the number reused: a new registration
            if new:
                epoll.register(fd, new)
        except FileExistsError:  # the number was closed and reused while registered through a duplicate
            epoll.modify(fd, new)
        except OSError as error:
            if error.errno != errno.EBADF or new:
                raise
            # Unregistering a closed descriptor: closing it unregistered it.

    def poll(self, timeout):
        return self._epoll.poll(-1 if timeout is None else timeout)

    def close(self):
        self._epoll.close()


class _Selector:
    """selectors.DefaultSelector (kqueue, devpoll, poll or select) where epoll is missing.

    It reports reading and writing only: a hang-up shows as a read that gets
    no data, and urgent data is not reported, as in asyncore.loop()'s select mode.
    """

    READ = selectors.EVENT_READ
    WRITE = selectors.EVENT_WRITE
    URGENT = 0

    def __init__(self, selector_class=selectors.DefaultSelector):
        self._selector = selector_class()

    def set(self, fd, old, new):
        selector = self._selector
        if not new:
            selector.unregister(fd)
        elif old:
            selector.modify(fd, new)
        else:
            selector.register(fd, new)

    def poll(self, timeout):
        if not self._selector.get_map():  # select() on Windows refuses three empty lists
            time.sleep(timeout or 0)
            return []
        return [(key.fd, events) for key, events in self._selector.select(timeout)]

    @staticmethod
    def dispatch(obj, events):
        if events & selectors.EVENT_READ:
            asyncore.read(obj)
        if events & selectors.EVENT_WRITE and obj._fileno is not None:  # not closed by the read
            asyncore.write(obj)

    def close(self):
        self._selector.close()


def make_poller():
    """The best poller of this platform (tests replace this to run the others)."""
    return _Epoll() if hasattr(select, "epoll") else _Selector()


# The methods an async_chat must keep for its interest to be reported to the loop.
_REPORTED_BY = ("readable", "writable", "initiate_send")


def _reports_itself(obj):
    """True for an async_chat whose readable()/writable() change only where the engine says.

    Looks through bound methods, never at ``obj.__dict__``: on CPython 3.11+
    reading it makes every later attribute access of the channel slower.
    """
    return (
        isinstance(obj, async_chat)
        and obj._framer is not None
        and all(getattr(getattr(obj, name), "__func__", None) is getattr(async_chat, name) for name in _REPORTED_BY)
    )


class _Recheck(dict):
    """id -> async_chat channel whose readable()/writable() the loop must ask again; a framer's ``recheck``.

    Marking a channel is one spelling everywhere: ``recheck[id(chan)] = chan``.
    """

    __slots__ = ("forget",)
    forget: Callable[[Any, dict[int, Any]], None]  # forget(chan, sock_map): chan leaves sock_map (del_channel)


class WakingRecheck(_Recheck):
    """A recheck dict for loops that sleep in asyncio: marking a channel calls ``wake()``, which schedules a pass."""

    __slots__ = ("wake",)
    wake: Callable[[], None]

    def __setitem__(self, key, chan):
        dict.__setitem__(self, key, chan)
        self.wake()


class _MapPoller:
    """One socket map's poller, and what is registered in it."""

    def __init__(self, sock_map, poller, driver="asynchat.loop()", recheck=None):
        self.map = sock_map
        self.poller = poller
        self.driver = driver  # what runs this map: one driver at a time
        self.running = 0  # loop() calls running it now (another thread's, or nested)
        self.known = {}  # fd -> channel: the map as last seen
        self.masks = {}  # fd -> the interest registered, where not 0
        self.always_asked = {}  # fd -> channel asked readable()/writable() every iteration
        self.closed = []  # channels whose descriptor was found closed: handle_close() is due
        self.always_ready = {}  # fd -> interest, for files the poller refuses (poll() says ready)
        # The channels that report themselves and may have changed.
        self.recheck = _Recheck() if recheck is None else recheck
        self.recheck.forget = self._forget

    def iterate(self, timeout):
        """One asyncore.loop() iteration: poll once and dispatch what it reports."""
        self.refresh()
        events = self.poller.poll(0 if self.always_ready else timeout)
        if self.always_ready:
            urgent = self.poller.URGENT
            events += [(fd, mask & ~urgent) for fd, mask in self.always_ready.items()]
        # dispatch() for each event, inline: with one-byte reads a pass is mostly this loop.
        sock_map, always_asked, recheck, dispatch = self.map, self.always_asked, self.recheck, self.poller.dispatch
        for fd, flags in events:
            obj = sock_map.get(fd)
            if obj is None:
                continue
            if fd not in always_asked:
                recheck[id(obj)] = obj  # its handlers may change its interest
            dispatch(obj, flags)
        if self.closed:
            self.close_found_closed()

    def refresh(self):
        """Bring the registrations up to date: the map's changes, then every interest that may have changed."""
        if self.map != self.known:
            self._sync()
        recheck, known = self.recheck, self.known
        while recheck:
            _, chan = recheck.popitem()
            fd = chan._fileno
            if known.get(fd) is chan and fd not in self.always_asked:
                self._update(fd, chan)
        for fd, obj in list(self.always_asked.items()):
            self._update(fd, obj)

    def dispatch(self, fd, flags):
        """Hand the events *flags* on *fd* to its channel, as asyncore's loop does."""
        obj = self.map.get(fd)
        if obj is None:
            return
        if fd not in self.always_asked:
            self.recheck[id(obj)] = obj  # its handlers may change its interest
        self.poller.dispatch(obj, flags)

    def close_found_closed(self):
        """handle_close() for the channels whose descriptor was found closed under asyncore's feet."""
        while self.closed:
            asyncore.readwrite(self.closed.pop(), _INVALID)

    def _sync(self):
        """Register the channels added to the map since the last look, and drop those gone."""
        sock_map, known = self.map, self.known
        for fd in [fd for fd, obj in known.items() if sock_map.get(fd) is not obj]:
            self.forget_fd(fd)
        for fd, obj in [item for item in sock_map.items() if known.get(item[0]) is not item[1]]:
            known[fd] = obj
            if _reports_itself(obj):
                obj._framer.watch(self.recheck)
                self.recheck[id(obj)] = obj
            else:
                self.always_asked[fd] = obj

    def _update(self, fd, obj):
        """Ask *obj* for its interest, as asyncore does, and register that."""
        mask = 0
        if obj.readable():
            mask = self.poller.READ
        if obj.writable() and not obj.accepting:  # a listening socket is never written
            mask |= self.poller.WRITE
        old = self.masks.get(fd, 0)
        if mask == old:
            return
        self.always_ready.pop(fd, None)
        try:
            self.poller.set(fd, old, mask)
        except PermissionError:  # epoll refuses regular files, which poll() reports always ready
            self.always_ready[fd] = mask
        except OSError as error:
            if error.errno != errno.EBADF:
                raise
            self.closed.append(obj)  # closed under asyncore's feet
            mask = 0
        if mask:
            self.masks[fd] = mask
        else:
            self.masks.pop(fd, None)

    def forget_fd(self, fd):
        obj = self.known.pop(fd)
        self.always_asked.pop(fd, None)
        self.always_ready.pop(fd, None)
        old = self.masks.pop(fd, 0)
        if old:
            self.poller.set(fd, old, 0)
        framer = getattr(obj, "_framer", None)
        if framer is not None and framer.recheck is self.recheck:
            framer.watch(None)

    def _forget(self, chan, sock_map):
        fd = chan._fileno
        if sock_map is self.map and self.known.get(fd) is chan:
            self.forget_fd(fd)

    def close(self):
        for fd in list(self.known):
            self.forget_fd(fd)
        self.poller.close()


# The _MapPoller of each socket map, while something holds it: a running loop(),
# or the framers of the channels it rechecks, so that it lasts between
# loop(count=1) calls and goes (with its poller) once they are closed.
_map_pollers: weakref.WeakValueDictionary[int, _MapPoller] = weakref.WeakValueDictionary()


def in_use(sock_map):
    """The _MapPoller of *sock_map*, if one exists for it now, else None."""
    map_poller = _map_pollers.get(id(sock_map))
    return map_poller if map_poller is not None and map_poller.map is sock_map else None


def claim(sock_map, poller, driver, recheck):
    """A new _MapPoller that runs *sock_map* for *driver*; an error if another loop runs the map now.

    A poller that asynchat.loop() left between calls is closed first: its
    registrations would be stale once another driver runs the map.
    """
    previous = in_use(sock_map)
    if previous is not None:
        if previous.running or previous.driver != "asynchat.loop()":
            raise busy(previous.driver)
        previous.close()
    map_poller = _map_pollers[id(sock_map)] = _MapPoller(sock_map, poller, driver, recheck)
    return map_poller


def release(map_poller):
    """*map_poller*'s driver is done with its map: its registrations go, the map stays as it is."""
    if in_use(map_poller.map) is map_poller:
        del _map_pollers[id(map_poller.map)]
    map_poller.close()


def busy(driver):
    return RuntimeError(f"this socket map is being run by {driver}: a map runs under one loop at a time")


def _map_poller_for(sock_map):
    map_poller = in_use(sock_map)
    if map_poller is None:
        map_poller = _map_pollers[id(sock_map)] = _MapPoller(sock_map, make_poller())
    elif map_poller.driver != "asynchat.loop()":
        raise busy(map_poller.driver)
    return map_poller


def _after_fork():
    # A child shares its parent's epoll instances: it must neither change them
    # nor use them, so it forgets them untouched and starts afresh.
    for map_poller in _map_pollers.values():
        for obj in map_poller.known.values():
            framer = getattr(obj, "_framer", None)
            if framer is not None and framer.recheck is map_poller.recheck:
                framer.watch(None)
    _map_pollers.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork)


def _until_next_timer(sock_map, timeout):
    """*timeout*, or less: the poll ends when the map's next timer is due (asynchat.call_later())."""
    timers = timers_of(sock_map)
    due = timers.next_due() if timers is not None else None
    if due is None:
        return timeout
    wait = max(0.0, due - time.monotonic())
    return wait if timeout is None or wait < timeout else timeout


def loop(
    timeout: float = 30.0, use_poll: bool = False, map: dict[Any, Any] | None = None, count: int | None = None
) -> None:
    """Run asyncore's loop over *map* (asyncore.socket_map by default) until it is empty.

    The signature and semantics of asyncore.loop(): at most *count*
    iterations when given, each waiting up to *timeout* seconds.  Events are
    dispatched as use_poll=True dispatches them, whatever *use_poll* says;
    the poller is epoll on Linux, and selectors.DefaultSelector elsewhere
    (kqueue on BSD and macOS).
    """
    if map is None:
        map = asyncore.socket_map
    if not map:
        return
    map_poller = _map_poller_for(map)
    map_poller.running += 1
    try:
        while map and (count is None or count > 0):
            map_poller.iterate(_until_next_timer(map, timeout))
            if count is not None:
                count -= 1
    finally:
        map_poller.running -= 1
        if not map and not map_poller.running:
            _map_pollers.pop(id(map), None)
            map_poller.close()

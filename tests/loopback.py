"""Small asyncore fixtures for tests over 127.0.0.1: a listener, line channels, a bounded loop."""

import asyncio
import functools
import selectors
import socket
import time

import asynchat

asyncore = asynchat.asyncore  # the very module async_chat subclasses


class Listener(asyncore.dispatcher):
    """A plain dispatcher that accepts connections and wraps each in make_channel(sock, map).

    *chat*: make_channel() makes async_chat channels, which a ProtocolRunner runs as Protocols.
    """

    def __init__(self, make_channel, sock_map, chat=True):
        asyncore.dispatcher.__init__(self, map=sock_map)
        self.make_channel = make_channel
        self.chat = chat
        self.channels = []
        self.create_socket(socket.AF_INET, socket.SOCK_STREAM)
        self.set_reuse_addr()
        self.bind(("127.0.0.1", 0))
        self.listen(16)
        self.port = self.socket.getsockname()[1]

    def handle_accepted(self, sock, addr):
        if _accept_as_protocol is not None and self.chat:  # a ProtocolRunner runs: the channel is a Protocol's
            _accept_as_protocol(sock, self._adopt)
        else:
            self.channels.append(self.make_channel(sock, self._map))

    def _adopt(self, sock):
        chan = self.make_channel(sock, self._map)  # the Protocol takes it out of the map
        self.channels.append(chan)
        return chan


class LineServer(asynchat.async_chat):
    """A server-side channel reading lines; take_message() returns what was collected."""

    def __init__(self, sock, sock_map):
        asynchat.async_chat.__init__(self, sock, sock_map)
        self.parts = []
        self.set_terminator(b"\n")

    def collect_incoming_data(self, data):
        self.parts.append(data)

    def take_message(self):
        message = b"".join(self.parts)
        self.parts = []
        return message


class Collector(asynchat.async_chat):
    """A client channel that records each message and whether the peer closed."""

    def __init__(self, port, sock_map, terminator=b"\n"):
        asynchat.async_chat.__init__(self, map=sock_map)
        self.messages = []
        self.parts = []
        self.peer_closed = False
        self.set_terminator(terminator)
        self.create_socket(socket.AF_INET, socket.SOCK_STREAM)
        self.connect(("127.0.0.1", port))

    def handle_connect(self):
        pass

    def collect_incoming_data(self, data):
        self.parts.append(data)

    def found_terminator(self):
        self.messages.append(b"".join(self.parts))
        self.parts = []

    def handle_close(self):
        self.peer_closed = True
        self.close()


# The loops socket-level tests run under: asyncore's two, asynchat.loop() on
# its default poller and on selectors' select(), which stands for the platforms
# without epoll, and asynchat.serve_asyncio() on asyncio's loop and uvloop's.
LOOPS = ["asyncore-select", "asyncore-poll", "asynchat", "asynchat-selectors", "asyncio", "uvloop"]
# The same suites with the server's channels as asyncio Protocols (ProtocolRunner).
PROTOCOLS = ["asyncio-protocol", "uvloop-protocol"]


def new_event_loop(name):
    """A new event loop: asyncio's own, or uvloop's (a skip where uvloop is not installed)."""
    if name == "uvloop":
        import pytest

        return pytest.importorskip("uvloop").new_event_loop()
    return asyncio.new_event_loop()


class AsyncioMapRunner:
    """asyncore.loop()'s signature over asynchat.serve_asyncio(), on an event loop of its own.

    Each map is served by one task for as long as the runner lives, which
    looks at the map every *timeout* seconds of the first call; a call with
    *count* runs the event loop for *count* times *timeout* seconds (a loop
    iteration's longest wait), without one, until the map is empty.
    close() cancels the tasks, which closes what is left in their maps.
    """

    def __init__(self, event_loop):
        self.event_loop = event_loop
        self.tasks = {}  # id(map) -> its serve_asyncio() task

    def __call__(self, timeout=30.0, use_poll=False, map=None, count=None):
        if map is None:
            map = asyncore.socket_map
        if not map:
            return
        task = self.tasks.get(id(map))
        if task is None or task.done():
            # Changes made by hand between calls are seen within one call, as asyncore.loop() sees them.
            task = self.tasks[id(map)] = self.event_loop.create_task(asynchat.serve_asyncio(map, interval=timeout))
        if count is None:
            self.event_loop.run_until_complete(task)
        else:
            self.event_loop.run_until_complete(asyncio.sleep(timeout * count))
        if task.done():
            task.result()  # its error, if it ended with one

    def close(self):
        for task in self.tasks.values():
            task.cancel()
        if self.tasks:
            self.event_loop.run_until_complete(asyncio.gather(*self.tasks.values(), return_exceptions=True))
        self.event_loop.close()


# Where a Listener hands the connections it accepts, while a ProtocolRunner runs.
_accept_as_protocol = None


class ProtocolRunner(AsyncioMapRunner):
    """The map on asyncio, but each connection a Listener accepts runs as an asynchat.ChatProtocol.

    Listeners and client channels stay in the map; the server's channels are
    built by the same factories, on the connection's TransportSocket, on the
    same event loop.  close() also closes those channels.
    """

    def __init__(self, event_loop):
        global _accept_as_protocol
        super().__init__(event_loop)
        self.protocols = []
        _accept_as_protocol = self.accept

    def accept(self, sock, make_channel):
        def protocol():
            made = asynchat.ChatProtocol(make_channel)
            self.protocols.append(made)
            return made

        self.event_loop.create_task(self.event_loop.connect_accepted_socket(protocol, sock))

    def close(self):
        global _accept_as_protocol
        _accept_as_protocol = None
        for protocol in self.protocols:
            if protocol.channel is not None and protocol.socket is not None and not protocol.socket.closed:
                protocol.channel.close()
        self.event_loop.run_until_complete(asyncio.sleep(0.01))  # the transports' closes run
        super().close()


def loop_function(name, monkeypatch):
    """The loop called *name*, with asyncore.loop()'s signature (close it with close_loop())."""
    if name in ("asyncio", "uvloop"):
        return AsyncioMapRunner(new_event_loop(name))
    if name in PROTOCOLS:
        return ProtocolRunner(new_event_loop(name.split("-")[0]))
    if name.startswith("asyncore"):
        return functools.partial(asyncore.loop, use_poll=name == "asyncore-poll")
    if name == "asynchat-selectors":
        poller = functools.partial(asynchat._loop._Selector, selectors.SelectSelector)
        monkeypatch.setattr(asynchat._loop, "make_poller", poller)
    return asynchat.loop


def run_until(sock_map, done, run_loop, seconds=20.0):
    """Run *run_loop* until done() is true; fail after *seconds* rather than hang."""
    deadline = time.monotonic() + seconds
    while not done():
        if time.monotonic() > deadline:
            raise AssertionError("the loop did not reach the expected state in time")
        run_loop(timeout=0.01, map=sock_map, count=1)


def close_loop(run_loop):
    """End what loop_function() started: the event loop of a map on asyncio."""
    if isinstance(run_loop, AsyncioMapRunner):
        run_loop.close()


def close_all(sock_map):
    asyncore.close_all(map=sock_map)

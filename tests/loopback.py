"""Small asyncore fixtures for tests over 127.0.0.1: a listener, line channels, a bounded loop."""

import functools
import selectors
import socket
import time

import asynchat

asyncore = asynchat.asyncore  # the very module async_chat subclasses


class Listener(asyncore.dispatcher):
    """A plain dispatcher that accepts connections and wraps each in make_channel(sock, map)."""

    def __init__(self, make_channel, sock_map):
        asyncore.dispatcher.__init__(self, map=sock_map)
        self.make_channel = make_channel
        self.channels = []
        self.create_socket(socket.AF_INET, socket.SOCK_STREAM)
        self.set_reuse_addr()
        self.bind(("127.0.0.1", 0))
        self.listen(16)
        self.port = self.socket.getsockname()[1]

    def handle_accepted(self, sock, addr):
        self.channels.append(self.make_channel(sock, self._map))


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


# The loops socket-level tests run under: asyncore's two, and asynchat.loop() on
# its default poller and on selectors' select(), which stands for the platforms
# without epoll.
LOOPS = ["asyncore-select", "asyncore-poll", "asynchat", "asynchat-selectors"]


def loop_function(name, monkeypatch):
    """The loop called *name*, with asyncore.loop()'s signature."""
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


def close_all(sock_map):
    asyncore.close_all(map=sock_map)

"""A fake connected socket that injects faults, and an echo channel to drive through it.

`FakeSocket` hands its scripted input to ``recv()`` and records what ``send()``
takes, either of them failing as a *faults* policy says: short reads and
writes, ``BlockingIOError``, ``ECONNRESET`` or ``EPIPE``.  `pump` plays
asyncore's loop with the module's own ``read()`` / ``write()`` wrappers, so an
exception from a channel reaches its ``handle_error()`` as it would in
``asyncore.loop()``.
"""

import errno
import itertools
import random
import sys

from loopback import asyncore

_fds = itertools.count(100_000)  # never a real descriptor: nothing here is polled


class Faults:
    """What the socket does on each call; by default, everything asked, no error."""

    def __init__(
        self,
        seed=0,
        recv_max=None,
        send_max=None,
        would_block=0.0,
        reset_recv_after=None,
        reset_send_after=None,
        send_error=errno.ECONNRESET,
    ):
        # One generator per direction: an engine that sends in fewer calls must
        # not change what recv() returns.
        self.rng = {"recv": random.Random(seed), "send": random.Random(seed + 1)}
        self.recv_max = recv_max  # an int, or "random" for 1..4096
        self.send_max = send_max
        self.would_block = would_block  # probability of BlockingIOError per call
        self.reset_recv_after = reset_recv_after  # bytes received before ECONNRESET
        self.reset_send_after = reset_send_after  # bytes sent before send_error
        self.send_error = send_error

    def size(self, way, limit, wanted):
        if limit == "random":
            limit = self.rng[way].randint(1, 4096)
        return wanted if limit is None else min(wanted, limit)

    def blocks(self, way):
        return self.would_block and self.rng[way].random() < self.would_block


class FakeSocket:
    def __init__(self, incoming, faults=None):
        self.incoming = bytearray(incoming)
        self.faults = faults or Faults()
        self.received = 0
        self.wire = bytearray()
        self.closed = False
        self.fd = next(_fds)

    def fileno(self):
        return self.fd

    def setblocking(self, flag):
        pass

    def getpeername(self):
        return ("127.0.0.1", 9)

    def recv(self, size):
        faults = self.faults
        if faults.reset_recv_after is not None and self.received >= faults.reset_recv_after:
            raise ConnectionResetError(errno.ECONNRESET, "reset by the fake peer")
        if not self.incoming or faults.blocks("recv"):
            raise BlockingIOError(errno.EAGAIN, "nothing to read now")
        n = faults.size("recv", faults.recv_max, size)
        if faults.reset_recv_after is not None:
            n = min(n, faults.reset_recv_after - self.received)
        data = bytes(self.incoming[:n])
        del self.incoming[:n]
        self.received += n
        return data

    def send(self, data):
        faults = self.faults
        if faults.reset_send_after is not None and len(self.wire) >= faults.reset_send_after:
            raise OSError(faults.send_error, "the fake peer is gone")
        if faults.blocks("send"):
            raise BlockingIOError(errno.EAGAIN, "the send buffer is full")
        n = faults.size("send", faults.send_max, len(data))
        if faults.reset_send_after is not None:
            n = min(n, faults.reset_send_after - len(self.wire))
        self.wire += data[:n]
        return n

    def close(self):
        self.closed = True


def pump(chan, sock, rounds=100_000):
    """Serve *chan* until its input is used up and its output sent, or it closes."""
    for _ in range(rounds):
        if not chan.connected:
            return
        progress = False
        if chan.readable() and sock.incoming:
            asyncore.read(chan)
            progress = True
        if chan.connected and chan.writable():
            before = len(sock.wire)
            asyncore.write(chan)
            progress = progress or len(sock.wire) > before or chan.writable()
        if not progress and not sock.incoming:
            return
    raise AssertionError("the channel made no progress in time (wedged)")


def echo_class(base, **hooks):
    """An echo-per-line channel; *hooks* (name -> function(chan, line)) inject faults."""

    class Echo(base):
        def __init__(self, sock, sock_map):
            base.__init__(self, sock, sock_map)
            self.parts = []
            self.lines = []
            self.errors = []
            self.calls = 0
            self.set_terminator(b"\n")

        def collect_incoming_data(self, data):
            self.calls += 1
            if "collect" in hooks:
                hooks["collect"](self, data)
            self.parts.append(data)

        def found_terminator(self):
            line = b"".join(self.parts)
            self.parts = []
            if "found" in hooks:
                hooks["found"](self, line)
            self.lines.append(line)
            self.push(line + b"\n")

        def handle_error(self):
            self.errors.append(repr(sys.exc_info()[1]))  # and stays open, unlike asyncore's default

    return Echo

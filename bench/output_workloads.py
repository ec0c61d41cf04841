"""Output workloads: a request arrives and its found_terminator() pushes the whole response.

`drain_to_taker` sends to a peer that takes everything at once (a fake socket
that counts send() calls); `drain_to_socketpair` sends over a real
socketpair to a plain asyncore dispatcher that reads, in the same loop.
"""

import socket

import implementations
from scale import scaled

MIB = 1024 * 1024


class Response:
    def __init__(self, name, pieces, unit):
        self.name = name
        self.pieces = pieces  # what found_terminator() pushes, in order
        self.size = sum(map(len, pieces))
        self.unit = unit  # rates count pushes ("push") or bytes ("byte")
        self.count = len(pieces) if unit == "push" else self.size


def many_small_pushes():
    return Response("1M-pushes-of-32B", [b"%031d\n" % i for i in range(scaled(1_000_000))], "push")


def one_large_push():
    return Response("one-256MiB-push", [b"p" * scaled(256 * MIB)], "byte")


def responder(base, response):
    """A channel that answers its first line by pushing *response*."""

    class Responder(base):
        def __init__(self, sock=None, sock_map=None):
            base.__init__(self, sock, sock_map)
            self.set_terminator(b"\n")

        def collect_incoming_data(self, data):
            pass

        def found_terminator(self):
            push = self.push
            for piece in response.pieces:
                push(piece)

    return Responder


def drain_to_taker(base, response):
    """Returns the number of send() calls it took."""

    class Taker(responder(base, response)):
        def __init__(self):
            super().__init__()
            self.connected = True
            self.sends = 0
            self.sent = 0
            self.request = [b"GO\n"]

        def recv(self, size):
            return self.request.pop()

        def send(self, data):
            self.sends += 1
            self.sent += len(data)
            return len(data)

    chan = Taker()
    chan.handle_read()
    while chan.producer_fifo:
        chan.handle_write()
    chan.del_channel()
    assert chan.sent == response.size
    return chan.sends


def drain_to_socketpair(base, response):
    """Returns the number of bytes the reading peer received."""
    asyncore = implementations.asyncore_of(base)

    class Reader(asyncore.dispatcher):
        received = 0

        def handle_read(self):
            self.received += len(self.recv(1 << 20))

        def writable(self):
            return False

    sock_map = {}
    ours, theirs = socket.socketpair()
    responder(base, response)(ours, sock_map)  # the map keeps it
    reader = Reader(theirs, map=sock_map)
    theirs.sendall(b"GO\n")
    while reader.received < response.size:
        asyncore.loop(timeout=1.0, map=sock_map, count=1)
    asyncore.close_all(map=sock_map)
    return reader.received

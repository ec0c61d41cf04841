"""Framing workloads: scripted recv() results fed to a channel's handle_read(), no sockets.

Each workload yields the chunks one connection receives and the terminator
program its found_terminator() follows; `frame()` runs it on any async_chat
class and returns the number of messages framed.
"""

import itertools

KIB = 1024
MIB = 1024 * KIB


def chunked(data, size):
    return [data[i:i + size] for i in range(0, len(data), size)]


class Workload:
    def __init__(self, name, chunks, terminator, switch=None, unit="msg"):
        self.name = name
        self.chunks = chunks
        self.terminator = terminator
        self.switch = switch  # found_terminator(): next terminator from the one just found
        self.unit = unit  # what the rate counts: "msg" (messages/s) or "byte" (bytes/s)
        self.size = sum(map(len, chunks))


def lines(name, line_size, recv_size, total=8 * MIB):
    line = b"x" * (line_size - 2) + b"\r\n"
    return Workload(name, chunked(line * (total // line_size), recv_size), b"\r\n")


def smtp_bodies(recv_size=4093, bodies=400):
    """DATA bodies ended by CRLF.CRLF; an odd recv size splits the terminator often."""
    body = b"".join(b"Line %d of the message body, ordinary text.\r\n" % i for i in range(60))
    return Workload("smtp-bodies", chunked((body + b".\r\n") * bodies, recv_size), b"\r\n.\r\n")


def length_prefixed(records=40000, recv_size=64 * KIB):
    """A line holding a length, then that many raw bytes: the terminator switches every message."""
    payloads = [b"r" * (20 + i % 200) for i in range(records)]
    stream = b"".join(b"%d\r\n%s" % (len(p), p) for p in payloads)
    lengths = itertools.cycle(len(p) for p in payloads)

    def switch(found):
        # An int terminator reads 0 once found; a found line holds the next length.
        return b"\r\n" if isinstance(found, int) else next(lengths)

    return Workload("length-prefixed", chunked(stream, recv_size), b"\r\n", switch)


def one_large_message(size=64 * MIB, recv_size=64 * KIB):
    return Workload("64MiB-message", chunked(b"m" * size + b"\r\n", recv_size), b"\r\n", unit="byte")


def framing_workloads():
    return [
        lines("16B-lines/64KiB-recv", 16, 64 * KIB),
        lines("16B-lines/4KiB-recv", 16, 4 * KIB),
        lines("200B-lines/64KiB-recv", 200, 64 * KIB),
        smtp_bodies(),
        length_prefixed(),
        one_large_message(),
    ]


def framing_channel(base):
    """A subclass of *base* that collects with the base class's own plumbing and counts messages."""

    class Framing(base):
        def __init__(self, workload):
            base.__init__(self)
            self.chunks = iter(workload.chunks)
            self.switch = workload.switch
            self.messages = 0
            self.set_terminator(workload.terminator)

        def recv(self, size):
            return next(self.chunks)

        collect_incoming_data = base._collect_incoming_data

        def found_terminator(self):
            self._get_data()
            self.messages += 1
            if self.switch is not None:
                self.set_terminator(self.switch(self.get_terminator()))

    return Framing


def frame(cls, workload):
    chan = cls(workload)
    for _ in workload.chunks:
        chan.handle_read()
    chan.del_channel()
    return chan.messages

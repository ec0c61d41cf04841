"""Framing workloads: scripted recv() results fed to a channel's handle_read(), no sockets.

Each workload holds the chunks one connection receives and the terminator
program its found_terminator() follows; `frame()` runs it on any async_chat
class and returns the number of messages framed.  `floor()` delivers the same
callbacks with no framing logic at all, the messages cut by ``bytes.split``
(in C): the cost of the callbacks alone, which no engine can go below.

Messages are collected the way the module's documentation, smtpd, the ftplib
and poplib test servers and pyftpdlib do it: the handler's own
``collect_incoming_data()`` appends to a list, ``found_terminator()`` joins it
(`HANDLERS`: "documented").  The second style, "plumbing", keeps the base
class's ``_collect_incoming_data`` / ``_get_data``, which the compiled engine
short-cuts.  The 64 MiB message is streamed (its size counted as it arrives),
as a server would write a large upload out: joining 64 MiB in memory costs
~40 ms of copying in any implementation and would hide the framing.
"""

import itertools

from scale import scaled

KIB = 1024
MIB = 1024 * KIB
HANDLERS = ("documented", "plumbing")


def chunked(data, size):
    return [data[i : i + size] for i in range(0, len(data), size)]


class Workload:
    def __init__(self, name, chunks, terminator, switch=None, unit="msg", stream=False, pieces=None):
        self.name = name
        self.chunks = chunks
        self.terminator = terminator
        self.switch = switch  # found_terminator(): next terminator from the one just found
        self.unit = unit  # what the rate counts: "msg" (messages/s) or "byte" (bytes/s)
        self.stream = stream  # count the data instead of keeping it
        self.pieces = pieces  # for the floor, when no single terminator splits the stream
        self.size = sum(map(len, chunks))


def lines(name, line_size, recv_size, total=8 * MIB):
    line = b"x" * (line_size - 2) + b"\r\n"
    return Workload(name, chunked(line * scaled(total // line_size), recv_size), b"\r\n")


def smtp_bodies(recv_size=4093, bodies=3000):
    """DATA bodies ended by CRLF.CRLF; an odd recv size splits the terminator often."""
    body = b"".join(b"Line %d of the message body, ordinary text.\r\n" % i for i in range(60))
    return Workload("smtp-bodies", chunked((body + b".\r\n") * scaled(bodies), recv_size), b"\r\n.\r\n")


def length_prefixed(records=40000, recv_size=64 * KIB):
    """A line holding a length, then that many raw bytes: the terminator switches every message."""
    payloads = [b"r" * (20 + i % 200) for i in range(scaled(records))]
    stream = b"".join(b"%d\r\n%s" % (len(p), p) for p in payloads)
    lengths = itertools.cycle(len(p) for p in payloads)

    def switch(found):
        # An int terminator reads 0 once found; a found line holds the next length.
        return b"\r\n" if isinstance(found, int) else next(lengths)

    pieces = [piece for p in payloads for piece in (b"%d" % len(p), p)]
    return Workload("length-prefixed", chunked(stream, recv_size), b"\r\n", switch, pieces=pieces)


def one_large_message(size=64 * MIB, recv_size=64 * KIB):
    return Workload(
        "64MiB-message", chunked(b"m" * scaled(size) + b"\r\n", recv_size), b"\r\n", unit="byte", stream=True
    )


def framing_workloads():
    return [
        lines("16B-lines/64KiB-recv", 16, 64 * KIB),
        lines("16B-lines/4KiB-recv", 16, 4 * KIB),
        lines("200B-lines/64KiB-recv", 200, 64 * KIB),
        smtp_bodies(),
        length_prefixed(),
        one_large_message(),
    ]


def row_name(name, handler):
    """The report's row for workload *name*: the handler style is named when it is not the headline one."""
    return name if handler == "documented" else f"{name}, _collect_incoming_data"


def framing_channel(base, workload, handler="documented"):
    """A subclass of *base* that collects as *workload* and *handler* say, and counts messages."""

    class Framing(base):
        def __init__(self):
            base.__init__(self)
            self.chunks = iter(workload.chunks)
            self.switch = workload.switch
            self.messages = 0
            self.streamed = 0
            self.parts = []
            self.set_terminator(workload.terminator)

        def recv(self, size):
            return next(self.chunks)

        if workload.stream:

            def collect_incoming_data(self, data):
                self.streamed += len(data)

            def found_terminator(self):
                self.messages += 1
        elif handler == "documented":

            def collect_incoming_data(self, data):
                self.parts.append(data)

            def found_terminator(self):
                b"".join(self.parts)
                self.parts = []
                self.messages += 1
                if self.switch is not None:
                    self.set_terminator(self.switch(self.get_terminator()))
        else:
            collect_incoming_data = base._collect_incoming_data

            def found_terminator(self):
                self._get_data()
                self.messages += 1
                if self.switch is not None:
                    self.set_terminator(self.switch(self.get_terminator()))

    return Framing


def frame(cls, workload):
    chan = cls()
    for _ in workload.chunks:
        chan.handle_read()
    chan.del_channel()
    return chan.messages


def floor(cls, workload):
    """The same callbacks on a channel of *cls*, with the messages cut by bytes.split."""
    chan = cls()
    found = chan.found_terminator
    if cls.collect_incoming_data is cls._collect_incoming_data:
        collect = chan.incoming.append  # what _collect_incoming_data does, without its frame
    else:
        collect = chan.collect_incoming_data
    if workload.pieces is not None:
        for piece in workload.pieces:
            collect(piece)
            found()
    else:
        term = workload.terminator
        for chunk in workload.chunks:
            for piece in chunk.split(term):
                collect(piece)
                found()
    chan.del_channel()
    return chan.messages

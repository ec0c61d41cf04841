"""Servers from other frameworks for the end-to-end table, when installed (pip install . --group bench-peers).

- "twisted-lineonly": Twisted's LineOnlyReceiver, whose lineReceived() writes
  line + b"\\n", on Twisted's default reactor for this platform (epoll on
  Linux), a fresh one per round, driven by ``iterate()``;
- "uvloop-protocol": the asyncio Protocol of e2e.py on a uvloop event loop.
"""

import importlib.util
import os
import socket


def available():
    names = []
    if importlib.util.find_spec("twisted") is not None:
        names.append("twisted-lineonly")
    if importlib.util.find_spec("uvloop") is not None:
        names.append("uvloop-protocol")
    return names


def new_uvloop():
    import uvloop

    return uvloop.new_event_loop()


class TwistedRound:
    """One round for a Twisted line-echo server (see e2e.py for start/run/stop)."""

    def __init__(self, load, e2e):
        self.load = load
        self.e2e = e2e  # the module, for the client helpers
        self.port = self.client = None

    def start(self):
        from twisted.internet.protocol import Factory
        from twisted.protocols.basic import LineOnlyReceiver

        round_ = self
        self.reactor = _new_default_reactor()
        self.connected = 0

        class LineEcho(LineOnlyReceiver):
            delimiter = b"\n"
            MAX_LENGTH = 1 << 20

            def connectionMade(self):
                self.transport.setTcpNoDelay(True)
                round_.connected += 1

            def lineReceived(self, line):
                self.transport.write(line + b"\n")

        self.port = self.reactor.listenTCP(
            0, Factory.forProtocol(LineEcho), backlog=self.e2e.CONNECTIONS, interface="127.0.0.1"
        )
        self.client = self.e2e.start_client(self.port.getHost().port, self.load)
        while self.connected < self.e2e.CONNECTIONS:
            self.reactor.iterate(0.1)
        return (), {}

    def run(self):
        from twisted.internet.abstract import FileDescriptor

        report = []
        stdout = self.client.stdout.fileno()

        class ClientReport(FileDescriptor):
            def fileno(self):
                return stdout

            def doRead(self):
                report.append(os.read(stdout, 4096))

        reader = ClientReport(reactor=self.reactor)
        self.reactor.addReader(reader)
        self.client.stdin.write(b"go\n")
        self.client.stdin.flush()
        try:
            while not report:
                self.reactor.iterate(1.0)
        finally:
            self.reactor.removeReader(reader)
        return self.e2e.lines_reported(b"".join(report), self.load)

    def stop(self):
        if self.port is not None:
            self.port.stopListening()
            for conn in list(self.reactor.getReaders()):
                if isinstance(getattr(conn, "socket", None), socket.socket):
                    conn.loseConnection()
            self.reactor.iterate(0)
            self.port = None
        self.e2e.end_client(self.client)


def _new_default_reactor():
    """A reactor of the platform's default kind, not installed as the global one."""
    try:
        from twisted.internet.epollreactor import EPollReactor as Reactor
    except ImportError:
        from twisted.internet.selectreactor import SelectReactor as Reactor
    return Reactor()

"""End-to-end: a line-echo server on 127.0.0.1 driven by echo_client.py in another process.

Every server echoes each 16-byte line back as soon as it has framed it, with
TCP_NODELAY on every accepted socket:
- an async_chat subclass (this package on either engine, or CPython's own),
  written as the documentation writes one: collect_incoming_data() appends
  to a list, found_terminator() joins it and pushes the line back (the
  "plumbing" handler keeps the base class's _collect_incoming_data instead);
- "raw-echo": a plain asyncore dispatcher that echoes bytes without framing,
  the client's own ceiling;
- "asyncio-streams": StreamReader.readline() / StreamWriter.write() + drain();
- "asyncio-protocol": a Protocol doing the same per-line work as the
  async_chat handler: it cuts each line, builds line + b"\n", and makes one
  write() per data_received(); "uvloop-protocol" is the same on uvloop;
- "twisted-lineonly": Twisted's LineOnlyReceiver (see peers.py).

Two loads (`Load`): "pipelined-echo", where each connection keeps 300 lines in
flight, and "request-response", where each waits for every echo before it
sends the next line, as an interactive client (FTP, SMTP, POP) does.

`Round` runs one measured round: `start()` launches the client and waits until
all its connections are accepted; `run()` says go and serves until the client
reports, and returns the number of lines echoed.
"""

import asyncio
import json
import os
import socket
import subprocess
import sys
from typing import NamedTuple

import implementations
import peers
from scale import scaled

HERE = os.path.dirname(os.path.abspath(__file__))
CONNECTIONS = 50


class Load(NamedTuple):
    workload: str
    in_flight: int  # lines each connection keeps outstanding
    per_connection: int  # lines each connection sends in a round

    @property
    def total(self):
        return CONNECTIONS * self.per_connection


PIPELINED = Load("pipelined-echo", 300, scaled(20_000, minimum=300))
REQUEST_RESPONSE = Load("request-response", 1, scaled(1_000, minimum=4))


def listening_socket():
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(CONNECTIONS)
    return sock


def start_client(port, load):
    client = subprocess.Popen(
        [sys.executable, os.path.join(HERE, "echo_client.py"),
         str(port), str(CONNECTIONS), str(load.in_flight), str(load.per_connection)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE,
    )
    if client.stdout.readline().strip() != b"ready":
        raise RuntimeError("the echo client did not start")
    return client


def finish_client(client, report, load):
    client.wait(timeout=60)
    result = json.loads(report)
    assert result["lines"] == load.total, result
    return result["lines"]


class AsyncoreRound:
    """One round for a server built on asyncore (async_chat, or the raw echo)."""

    def __init__(self, load, asyncore, channel_class):
        self.load = load
        self.asyncore = asyncore
        self.channel_class = channel_class

    def start(self):
        asyncore = self.asyncore
        self.map = {}
        self.accepted = []
        sock = listening_socket()
        round_ = self

        class Listener(asyncore.dispatcher):
            def handle_accepted(self, conn, addr):
                conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                round_.accepted.append(round_.channel_class(conn, round_.map))

        listener = Listener(sock, map=self.map)
        listener.accepting = True  # wrapped around a socket already listening
        self.client = start_client(sock.getsockname()[1], self.load)
        while len(self.accepted) < CONNECTIONS:
            asyncore.loop(timeout=1.0, map=self.map, count=1)
        return (), {}

    def run(self):
        asyncore = self.asyncore
        report = []

        class ClientReport(asyncore.file_dispatcher):
            def handle_read(self):
                report.append(self.recv(4096))

            def writable(self):
                return False

        ClientReport(self.client.stdout.fileno(), map=self.map)
        self.client.stdin.write(b"go\n")
        self.client.stdin.flush()
        try:
            while not report:
                asyncore.loop(timeout=1.0, map=self.map, count=1)
        finally:
            asyncore.close_all(map=self.map)
        return finish_client(self.client, b"".join(report), self.load)


def line_echo_class(base, handler):
    class LineEcho(base):
        def __init__(self, sock, sock_map):
            base.__init__(self, sock, sock_map)
            self.parts = []
            self.set_terminator(b"\n")

        if handler == "documented":
            def collect_incoming_data(self, data):
                self.parts.append(data)

            def found_terminator(self):
                self.push(b"".join(self.parts) + b"\n")
                self.parts = []
        else:
            collect_incoming_data = base._collect_incoming_data

            def found_terminator(self):
                self.push(self._get_data() + b"\n")

        def handle_close(self):
            self.close()

    return LineEcho


def raw_echo_class(asyncore):
    class RawEcho(asyncore.dispatcher):
        def __init__(self, sock, sock_map):
            asyncore.dispatcher.__init__(self, sock, sock_map)
            self.pending = b""

        def handle_read(self):
            data = self.recv(1 << 18)
            if data:
                self.pending += data
                self.handle_write()

        def handle_write(self):
            sent = self.send(self.pending)
            self.pending = self.pending[sent:]

        def writable(self):
            return bool(self.pending)

    return RawEcho


class AsyncioRound:
    """One round for an asyncio server: streams or a Protocol."""

    def __init__(self, load, kind):
        self.load = load
        self.kind = kind

    def start(self):
        self.loop = peers.new_uvloop() if self.kind == "uvloop-protocol" else asyncio.new_event_loop()
        self.connected = 0
        self.all_connected = self.loop.create_future()
        sock = listening_socket()
        self.server = self.loop.run_until_complete(self._serve(sock))
        self.client = start_client(sock.getsockname()[1], self.load)
        self.loop.run_until_complete(self.all_connected)
        return (), {}

    def _accepted(self, transport):
        transport.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.connected += 1
        if self.connected == CONNECTIONS:
            self.all_connected.set_result(None)

    async def _serve(self, sock):
        if self.kind == "asyncio-streams":
            async def handle(reader, writer):
                self._accepted(writer.transport)
                while True:
                    line = await reader.readline()
                    if not line:
                        break
                    writer.write(line)
                    await writer.drain()
                writer.close()

            return await asyncio.start_server(handle, sock=sock)
        round_ = self

        class LineCuttingEcho(asyncio.Protocol):
            def connection_made(self, transport):
                self.transport = transport
                self.rest = b""
                round_._accepted(transport)

            def data_received(self, data):
                if self.rest:
                    data = self.rest + data
                replies = []
                start = 0
                while True:  # cut each line, as the async_chat handler is given each line
                    end = data.find(b"\n", start)
                    if end < 0:
                        break
                    replies.append(data[start:end] + b"\n")
                    start = end + 1
                self.rest = data[start:]
                self.transport.write(b"".join(replies))

        return await self.loop.create_server(LineCuttingEcho, sock=sock)

    def run(self):
        report = self.loop.create_future()
        stdout = self.client.stdout.fileno()
        self.loop.add_reader(stdout, lambda: report.done() or report.set_result(os.read(stdout, 4096)))
        self.client.stdin.write(b"go\n")
        self.client.stdin.flush()
        try:
            data = self.loop.run_until_complete(report)
        finally:
            self.loop.remove_reader(stdout)
            self.server.close()
            self.loop.run_until_complete(self.server.wait_closed())
            self.loop.close()
        return finish_client(self.client, data, self.load)


def make_round(load, implementation, handler="documented"):
    if implementation in ("asyncio-streams", "asyncio-protocol", "uvloop-protocol"):
        return AsyncioRound(load, implementation)
    if implementation == "twisted-lineonly":
        return peers.TwistedRound(load, sys.modules[__name__])
    if implementation == "raw-echo":
        asyncore = implementations.asyncore_of(implementations.base_class("python"))
        return AsyncoreRound(load, asyncore, raw_echo_class(asyncore))
    base = implementations.base_class(implementation)
    return AsyncoreRound(load, implementations.asyncore_of(base), line_echo_class(base, handler))

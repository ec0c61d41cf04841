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
- "twisted-lineonly": Twisted's LineOnlyReceiver (see peers.py);
- this package's channels on asyncio (the drivers table): "asyncio-map" and
  "uvloop-map", the socket map run by asynchat.serve_asyncio() (`AsyncioMapRound`);
  "asyncio-chat-protocol" and "uvloop-chat-protocol", each channel an
  asynchat.ChatProtocol made by create_chat_server(); "asynchat-loop", the
  same channels under asynchat.loop(), is their baseline.

Two loads (`Load`): "pipelined-echo", where each connection keeps 300 lines in
flight, and "request-response", where each waits for every echo before it
sends the next line, as an interactive client (FTP, SMTP, POP) does.  A third,
"tls-pipelined-echo", is the first over TLS (implicit, one handshake per
connection, before the clock starts): this package's channels call
start_tls() and run under asynchat.loop(); the reference runs with the TLS
mixin a user of the old module writes by hand (`reference_tls_echo_class`);
the asyncio Protocols get ssl= on asyncio and uvloop.

A round (`AsyncoreRound`, `AsyncioRound`, ...) is one measured run: `start()`
launches the client and waits until all its connections are accepted; `run()`
says go and serves until the client reports, and returns the number of lines
echoed; `stop()` closes the server and ends the client.  `measure()` times
rounds and makes sure every one is stopped.
"""

import asyncio
import atexit
import functools
import json
import os
import select
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import time
from typing import NamedTuple

import implementations
import peers
import tls_servers  # tests/tls_servers.py: certificates made by openssl
from scale import scaled

import asynchat

HERE = os.path.dirname(os.path.abspath(__file__))
CONNECTIONS = 50


class Load(NamedTuple):
    workload: str
    in_flight: int  # lines each connection keeps outstanding
    per_connection: int  # lines each connection sends in a round
    connections: int = CONNECTIONS
    idle: int = 0  # more connections, open and silent throughout
    tls: bool = False  # every connection under TLS

    @property
    def total(self):
        return self.connections * self.per_connection


PIPELINED = Load("pipelined-echo", 300, scaled(20_000, minimum=300))
REQUEST_RESPONSE = Load("request-response", 1, scaled(1_000, minimum=4))
TLS_PIPELINED = Load("tls-pipelined-echo", 300, scaled(20_000, minimum=300), tls=True)


@functools.cache
def tls_files():
    """(certificate, key) for localhost, made for this process and removed when it exits."""
    directory = tempfile.mkdtemp(prefix="asynchat-bench-tls-")
    atexit.register(shutil.rmtree, directory, True)
    return tls_servers.make_certificate(directory, "server")


def server_tls_context():
    return tls_servers.server_context(*tls_files())


def listening_socket(backlog=CONNECTIONS):
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(backlog)
    return sock


def launch_client(port, load):
    return subprocess.Popen(
        [
            sys.executable,
            os.path.join(HERE, "echo_client.py"),
            str(port),
            str(load.connections),
            str(load.in_flight),
            str(load.per_connection),
            str(load.idle),
            *([tls_files()[0]] if load.tls else []),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )


def wait_ready(client):
    if client.stdout.readline().strip() != b"ready":
        raise RuntimeError("the echo client did not start")
    return client


def start_client(port, load):
    return wait_ready(launch_client(port, load))


def accept_all(sock, count, seconds=120):
    """Accept *count* connections on a blocking listening socket, TCP_NODELAY on each."""
    sock.settimeout(seconds)
    for _ in range(count):
        conn, _ = sock.accept()
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        yield conn


def end_client(client):
    """Let the client go (it closes its idle connections and exits when its stdin closes); kill it if it hangs.

    Safe to call again, and on a client that failed to start.
    """
    if client is None or client.returncode is not None:
        return
    try:
        client.stdin.close()
        client.wait(timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        client.kill()
        client.wait()
    finally:
        client.stdout.close()


def lines_reported(report, load):
    result = json.loads(report)
    assert result["lines"] == load.total, result
    return result["lines"]


def measure(benchmark, round_, rounds=3):
    """Time *rounds* runs of *round_* (start() before each, untimed; stop() after).

    stop() runs in a finally too, because pytest-benchmark skips teardown when
    benchmarks are disabled and when a round fails: no server or client
    outlives the test.  Every round's stop() is safe to call more than once.
    """
    try:
        return benchmark.pedantic(round_.run, setup=round_.start, teardown=round_.stop, rounds=rounds, iterations=1)
    finally:
        round_.stop()


class AsyncoreRound:
    """One round for a server built on asyncore (async_chat, or the raw echo), run by *run_loop*.

    Every connection is accepted before the round starts, outside the loop,
    so that setting up thousands of idle ones costs every loop the same.
    """

    def __init__(self, load, asyncore, channel_class, run_loop=None):
        self.load = load
        self.asyncore = asyncore
        self.channel_class = channel_class
        self.run_loop = run_loop or asyncore.loop
        self.map = {}
        self.client = None

    def start(self):
        self.map = {}
        with listening_socket(min(self.load.connections + self.load.idle, 4096)) as sock:
            self.client = launch_client(sock.getsockname()[1], self.load)
            for conn in accept_all(sock, self.load.connections + self.load.idle):
                self.channel_class(conn, self.map)
        if self.load.tls:
            self._serve_until_ready()  # the handshakes need the server's loop
        else:
            wait_ready(self.client)
        self.run_loop(timeout=0, map=self.map, count=1)  # a loop that registers channels once does it here
        return (), {}

    def stop(self):
        """After the timed part: close every channel and let the client go."""
        self.asyncore.close_all(map=self.map)
        end_client(self.client)

    def _serve_until_ready(self, seconds=120):
        fd = self.client.stdout.fileno()
        said = b""
        deadline = time.monotonic() + seconds
        while not said.endswith(b"\n"):
            if time.monotonic() > deadline:
                raise RuntimeError("the echo client did not finish its handshakes")
            self.run_loop(timeout=0.01, map=self.map, count=1)
            if select.select([fd], [], [], 0)[0]:
                said += os.read(fd, 1)
        if said.strip() != b"ready":
            raise RuntimeError(f"the echo client said {said!r}")

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
        while not report:
            self.run_loop(timeout=1.0, map=self.map, count=1)
        return lines_reported(b"".join(report), self.load)


class AsyncioMapRound(AsyncoreRound):
    """AsyncoreRound's channels, run by asynchat.serve_asyncio() on asyncio's loop (or uvloop's)."""

    def __init__(self, load, channel_class, event_loop="asyncio"):
        super().__init__(load, asynchat.asyncore, channel_class, run_loop=self._registered)
        self.event_loop_name = event_loop
        self.loop = self.report = None

    def _registered(self, timeout, map, count):
        """AsyncoreRound.start() runs one iteration: here, serving starts and registers every channel."""
        self.loop = peers.new_uvloop() if self.event_loop_name == "uvloop" else asyncio.new_event_loop()
        self.report = self.loop.create_future()
        report, loop = self.report, self.loop

        class ClientReport(asynchat.asyncore.file_dispatcher):
            def handle_read(self):
                data = self.recv(4096)
                loop.call_soon(lambda: report.done() or report.set_result(data))

            def writable(self):
                return False

        ClientReport(self.client.stdout.fileno(), map=map)
        self.serving = self.loop.create_task(asynchat.serve_asyncio(map, until=self.report))
        self.loop.run_until_complete(asyncio.sleep(0))  # its first pass: the registrations

    def run(self):
        self.client.stdin.write(b"go\n")
        self.client.stdin.flush()
        self.loop.run_until_complete(self.serving)
        return lines_reported(self.report.result(), self.load)

    def stop(self):
        super().stop()
        if self.loop is not None:
            self.loop.run_until_complete(asyncio.sleep(0))
            self.loop.close()
            self.loop = None


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


def tls_line_echo_class(base, context):
    """The documented line echo under implicit TLS, through start_tls()."""

    class TLSLineEcho(line_echo_class(base, "documented")):
        def __init__(self, sock, sock_map):
            super().__init__(sock, sock_map)
            self.start_tls(context)

    return TLSLineEcho


def reference_tls_echo_class(base, context):
    """The documented line echo on the old module, with the TLS a user writes by hand today.

    As CPython's own ftplib tests do: wrap the accepted socket, run the
    handshake from the read and write events, turn want-read/want-write into
    would-block, and read what the SSL object already decrypted.
    """
    echo = line_echo_class(base, "documented")

    class HandWrittenTLSEcho(echo):
        def __init__(self, sock, sock_map):
            sock = context.wrap_socket(sock, server_side=True, do_handshake_on_connect=False)
            echo.__init__(self, sock, sock_map)
            self.handshaking = True
            self.want_write = False

        def handshake(self):
            try:
                self.socket.do_handshake()
            except ssl.SSLWantReadError:
                self.want_write = False
            except ssl.SSLWantWriteError:
                self.want_write = True
            except (ssl.SSLError, OSError):
                self.handle_close()
            else:
                self.handshaking = self.want_write = False

        def writable(self):
            return self.want_write if self.handshaking else echo.writable(self)

        def handle_read(self):
            if self.handshaking:
                self.handshake()
                return
            echo.handle_read(self)
            while self.connected and self.socket.pending():
                echo.handle_read(self)

        def handle_write(self):
            if self.handshaking:
                self.handshake()
            else:
                echo.handle_write(self)

        def recv(self, size):
            try:
                return echo.recv(self, size)
            except (ssl.SSLWantReadError, ssl.SSLWantWriteError):
                raise BlockingIOError from None

        def send(self, data):
            try:
                return echo.send(self, data)
            except (ssl.SSLWantReadError, ssl.SSLWantWriteError):
                return 0

    return HandWrittenTLSEcho


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


class LineCuttingEcho(asyncio.Protocol):
    """The line echo as an asyncio Protocol doing the async_chat handler's per-line work."""

    def connection_made(self, transport):
        self.transport = transport
        self.rest = b""

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


class AsyncioRound:
    """One round for an asyncio server: streams or a Protocol."""

    def __init__(self, load, kind):
        self.load = load
        self.kind = kind
        self.loop = self.server = self.client = None

    def start(self):
        self.loop = peers.new_uvloop() if self.kind.startswith("uvloop") else asyncio.new_event_loop()
        self.connected = 0
        self.all_connected = self.loop.create_future()
        sock = listening_socket()
        self.server = self.loop.run_until_complete(self._serve(sock))
        if self.load.tls:  # the handshakes need the server's loop: read "ready" from it
            self.client = launch_client(sock.getsockname()[1], self.load)
            self.loop.run_until_complete(asyncio.wait_for(self._ready(), 120))
        else:
            self.client = start_client(sock.getsockname()[1], self.load)
        self.loop.run_until_complete(self.all_connected)
        return (), {}

    async def _ready(self):
        line = self.loop.create_future()
        fd = self.client.stdout.fileno()
        said = []

        def read_byte():  # one at a time: nothing after the line may be taken
            said.append(os.read(fd, 1))
            if said[-1] in (b"\n", b"") and not line.done():
                line.set_result(b"".join(said))

        self.loop.add_reader(fd, read_byte)
        try:
            if (await line).strip() != b"ready":
                raise RuntimeError("the echo client did not start")
        finally:
            self.loop.remove_reader(fd)

    def stop(self):
        if self.server is not None:
            self.server.close()
            self.loop.run_until_complete(self.server.wait_closed())
            self.server = None
        if self.loop is not None:
            self.loop.close()
            self.loop = None
        end_client(self.client)

    def _accepted(self, transport):
        transport.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.connected += 1
        if self.connected == self.load.connections:
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
        context = server_tls_context() if self.load.tls else None
        if self.kind.endswith("chat-protocol"):  # this package's channels as asyncio Protocols
            channel_class = line_echo_class(asynchat.async_chat, "documented")

            def channel(sock):
                round_._accepted(sock.transport)
                return channel_class(sock, None)

            return await asynchat.create_chat_server(channel, sock=sock, ssl=context)

        class AcceptedEcho(LineCuttingEcho):
            def connection_made(self, transport):
                super().connection_made(transport)
                round_._accepted(transport)

        return await self.loop.create_server(AcceptedEcho, sock=sock, ssl=context)

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
        return lines_reported(data, self.load)


ASYNCIO_SERVERS = (
    "asyncio-streams",
    "asyncio-protocol",
    "uvloop-protocol",
    "asyncio-chat-protocol",
    "uvloop-chat-protocol",
)


def make_round(load, implementation, handler="documented"):
    if load.tls and implementation in implementations.available():
        base = implementations.base_class(implementation)
        asyncore = implementations.asyncore_of(base)
        if implementation == "reference":
            return AsyncoreRound(load, asyncore, reference_tls_echo_class(base, server_tls_context()))
        return AsyncoreRound(load, asyncore, tls_line_echo_class(base, server_tls_context()), run_loop=asynchat.loop)
    if implementation in ASYNCIO_SERVERS:
        return AsyncioRound(load, implementation)
    if implementation in ("asyncio-map", "uvloop-map"):
        channel_class = line_echo_class(asynchat.async_chat, handler)
        return AsyncioMapRound(load, channel_class, implementation.split("-")[0])
    if implementation == "asynchat-loop":
        return AsyncoreRound(load, asynchat.asyncore, line_echo_class(asynchat.async_chat, handler), asynchat.loop)
    if implementation == "twisted-lineonly":
        return peers.TwistedRound(load, sys.modules[__name__])
    if implementation == "raw-echo":
        asyncore = implementations.asyncore_of(implementations.base_class("python"))
        return AsyncoreRound(load, asyncore, raw_echo_class(asyncore))
    base = implementations.base_class(implementation)
    return AsyncoreRound(load, implementations.asyncore_of(base), line_echo_class(base, handler))

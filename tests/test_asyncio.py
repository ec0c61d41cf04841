"""The asyncio drivers: serve_asyncio() (a socket map on the running loop) and ChatProtocol.

The socket-level suites (test_loopback, test_output_rule, test_tls, test_soak)
run under both through the run_loop fixture; here is what is particular to
them: asyncio code beside a map, registrations that change only when interest
does, one driver per map, cancellation, and the Protocol's mapping of the
output rule, water marks and errors onto a transport (a recording transport,
so that every write and every pause is seen).
"""

import asyncio
import functools
import gc
import os
import signal
import smtplib
import socket
import subprocess
import sys
import threading

import pytest
from loopback import Collector, LineServer, Listener, asyncore, close_all, new_event_loop

import asynchat

EVENT_LOOPS = ["asyncio", "uvloop"]


@pytest.fixture(params=EVENT_LOOPS)
def event_loop(request):
    loop = new_event_loop(request.param)
    yield loop
    loop.run_until_complete(loop.shutdown_asyncgens())
    loop.close()


def run(loop, coroutine, seconds=20):
    return loop.run_until_complete(asyncio.wait_for(coroutine, seconds))


class LineEcho(LineServer):
    def found_terminator(self):
        self.push(self.take_message() + b"\n")


class DocEcho(asynchat.async_chat):
    """The documentation's handler: its __init__ takes the socket."""

    def __init__(self, sock):
        asynchat.async_chat.__init__(self, sock)
        self.set_terminator(b"\n")
        self.parts = []
        self.events = []

    def collect_incoming_data(self, data):
        self.parts.append(data)

    def found_terminator(self):
        self.push(b"".join(self.parts) + b"\n")
        self.parts = []

    def handle_error(self):
        self.events.append(("error", sys.exc_info()[0]))
        asynchat.async_chat.handle_error(self)

    def handle_close(self):
        self.events.append("close")
        asynchat.async_chat.handle_close(self)

    def log_info(self, message, type="info"):
        self.events.append(("log", type))


# --- serve_asyncio() ----------------------------------------------------------


async def stop(task):
    task.cancel()
    try:
        await task
    except asyncio.CancelledError:
        pass


def test_an_async_chat_server_and_asyncio_code_share_one_loop(engine, event_loop, sock_map):
    """A chat server and an asyncio server in one loop, each called by the other kind of client."""

    async def upper(reader, writer):
        line = await reader.readline()
        writer.write(line.upper())
        await writer.drain()
        writer.close()

    async def scenario():
        chat_server = Listener(LineEcho, sock_map)
        serving = asyncio.ensure_future(asynchat.serve_asyncio(sock_map))
        aio_server = await asyncio.start_server(upper, "127.0.0.1", 0)
        try:
            # A coroutine awaits the chat server's reply.
            reader, writer = await asyncio.open_connection("127.0.0.1", chat_server.port)
            writer.write(b"from asyncio\n")
            echoed = await reader.readline()
            writer.close()
            # An async_chat client, made from the coroutine, talks to the asyncio server.
            client = Collector(aio_server.sockets[0].getsockname()[1], sock_map)
            client.push(b"from async_chat\n")
            while not client.messages:
                await asyncio.sleep(0.005)
            return echoed, client.messages
        finally:
            aio_server.close()
            await stop(serving)

    assert run(event_loop, scenario()) == (b"from asyncio\n", [b"FROM ASYNC_CHAT"])
    assert sock_map == {}  # cancelled: every channel closed


class CountingLoop(asyncio.SelectorEventLoop):
    """A selector loop that counts the registrations it is asked for."""

    def __init__(self):
        super().__init__()
        self.calls = {"add_reader": 0, "remove_reader": 0, "add_writer": 0, "remove_writer": 0}

    def _count(name):  # noqa: N805  (a decorator factory inside the class body)
        def method(self, *args):
            self.calls[name] += 1
            return getattr(asyncio.SelectorEventLoop, name)(self, *args)

        return method

    add_reader = _count("add_reader")
    remove_reader = _count("remove_reader")
    add_writer = _count("add_writer")
    remove_writer = _count("remove_writer")


def test_registrations_change_only_when_interest_does(engine, sock_map):
    """200 request/response rounds beside 20 idle connections: registrations in proportion to channels."""
    loop = CountingLoop()
    idle_clients = []

    async def scenario():
        server = Listener(LineEcho, sock_map)
        serving = asyncio.ensure_future(asynchat.serve_asyncio(sock_map))
        for _ in range(20):
            idle_clients.append((await asyncio.open_connection("127.0.0.1", server.port))[1])
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        while len(server.channels) < 21:
            await asyncio.sleep(0.005)
        before = dict(loop.calls)
        for i in range(200):
            writer.write(b"%d\n" % i)
            assert await reader.readline() == b"%d\n" % i
        during = {name: loop.calls[name] - before[name] for name in loop.calls}
        for other in idle_clients + [writer]:
            other.close()
        await stop(serving)
        return during

    try:
        during = loop.run_until_complete(asyncio.wait_for(scenario(), 20))
    finally:
        loop.close()
    # No reply needed write interest (each left in one send), and reading interest never changed.
    assert during == {"add_reader": 0, "remove_reader": 0, "add_writer": 0, "remove_writer": 0}


def test_a_loop_without_add_reader_is_a_clear_error(sock_map):
    class NoReaders(asyncio.SelectorEventLoop):
        def add_reader(self, *args):
            raise NotImplementedError  # as Windows' ProactorEventLoop

    loop = NoReaders()
    try:
        Listener(LineEcho, sock_map)
        with pytest.raises(RuntimeError, match="add_reader.*WindowsSelectorEventLoopPolicy"):
            loop.run_until_complete(asyncio.wait_for(asynchat.serve_asyncio(sock_map), 10))
    finally:
        loop.close()


def test_a_map_runs_under_one_loop_at_a_time(event_loop, sock_map):
    async def scenario():
        Listener(LineEcho, sock_map)
        serving = asyncio.ensure_future(asynchat.serve_asyncio(sock_map))
        await asyncio.sleep(0.01)
        with pytest.raises(RuntimeError, match="serve_asyncio.*one loop at a time"):
            await asynchat.serve_asyncio(sock_map)
        with pytest.raises(RuntimeError, match="serve_asyncio.*one loop at a time"):
            asynchat.loop(timeout=0.01, map=sock_map, count=1)
        stopped = asyncio.Event()
        asyncio.get_running_loop().call_soon(stopped.set)
        await serving  # (not stopped: it runs on)

    async def scenario_with_until():
        Listener(LineEcho, sock_map)
        ended = asyncio.Event()
        serving = asyncio.ensure_future(asynchat.serve_asyncio(sock_map, until=ended.wait()))
        await asyncio.sleep(0.01)
        with pytest.raises(RuntimeError, match="one loop at a time"):
            asynchat.loop(timeout=0.01, map=sock_map, count=1)
        ended.set()
        await serving
        return len(sock_map)

    assert run(event_loop, scenario_with_until()) == 1  # handed back with the listener open
    asynchat.loop(timeout=0.01, map=sock_map, count=1)  # and another loop may run it now


def test_until_hands_the_map_back_mid_conversation(engine, event_loop, sock_map):
    server = Listener(LineEcho, sock_map)
    client = Collector(server.port, sock_map)
    client.push(b"one\n")

    async def first_half():
        await asynchat.serve_asyncio(sock_map, until=wait_for(lambda: client.messages))

    async def wait_for(done):
        while not done():
            await asyncio.sleep(0.005)

    run(event_loop, first_half())
    assert client.messages == [b"one"] and client.connected
    client.push(b"two\n")
    deadline = 2000
    while len(client.messages) < 2 and deadline:
        asynchat.loop(timeout=0.01, map=sock_map, count=1)
        deadline -= 1
    assert client.messages == [b"one", b"two"]


def open_descriptors():
    gc.collect()
    return len(os.listdir("/proc/self/fd"))


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="counts descriptors in /proc")
def test_cancelling_closes_every_channel_and_releases_every_descriptor(engine, event_loop, sock_map):
    before = open_descriptors()

    async def scenario():
        server = Listener(LineEcho, sock_map)
        clients = [Collector(server.port, sock_map) for _ in range(5)]
        for client in clients:
            client.push(b"hello\n")
        serving = asyncio.ensure_future(asynchat.serve_asyncio(sock_map))
        while not all(client.messages for client in clients):
            await asyncio.sleep(0.005)
        channels = list(sock_map.values())
        await stop(serving)
        return channels

    channels = run(event_loop, scenario())
    assert len(channels) == 11 and sock_map == {}
    assert not any(chan.connected or chan.accepting for chan in channels)
    assert open_descriptors() == before


def test_a_plain_dispatcher_added_from_a_coroutine_is_served(event_loop, sock_map):
    """Added outside the map's handlers, it is seen at the next pass, within *interval*."""
    left, right = socket.socketpair()
    got = []

    class Plain(asyncore.dispatcher):
        def handle_read(self):
            got.append(self.recv(100))

        def writable(self):
            return False

    async def scenario():
        Listener(LineEcho, sock_map)  # keeps the map from being empty
        serving = asyncio.ensure_future(asynchat.serve_asyncio(sock_map, interval=0.02))
        await asyncio.sleep(0.01)
        Plain(left, map=sock_map)
        right.sendall(b"ping")
        while not got:
            await asyncio.sleep(0.005)
        await stop(serving)

    try:
        run(event_loop, scenario(), seconds=5)
    finally:
        right.close()
    assert got == [b"ping"]


def test_a_regular_file_is_always_ready_as_poll_says(event_loop, sock_map, tmp_path):
    path = tmp_path / "data"
    path.write_bytes(b"from a file")
    got = []

    class FileReader(asyncore.file_dispatcher):
        def handle_read(self):
            data = self.recv(100)
            if data:
                got.append(data)
            else:
                self.close()  # the end of the file

        def writable(self):
            return False

    with open(path, "rb") as f:
        FileReader(f.fileno(), map=sock_map)
        run(event_loop, asynchat.serve_asyncio(sock_map), seconds=5)
    assert got == [b"from a file"] and sock_map == {}


def test_exitnow_from_a_handler_ends_serve_asyncio_with_it(event_loop, sock_map):
    class Quitting(LineServer):
        def found_terminator(self):
            raise asyncore.ExitNow("quit")

    server = Listener(Quitting, sock_map)
    Collector(server.port, sock_map).push(b"quit\n")
    with pytest.raises(asyncore.ExitNow, match="quit"):
        run(event_loop, asynchat.serve_asyncio(sock_map))
    assert len(sock_map) == 3  # left open, as asyncore.loop() leaves them


@pytest.mark.parametrize("interval", [0, -1, float("nan")])
def test_a_bad_interval_is_refused(event_loop, interval):
    with pytest.raises(ValueError, match="interval"):
        run(event_loop, asynchat.serve_asyncio({}, interval=interval))


def test_an_empty_map_returns_at_once(event_loop):
    assert run(event_loop, asynchat.serve_asyncio({}), seconds=1) is None


# --- ChatProtocol, over a recording transport ---------------------------------------


class RecordingTransport(asyncio.Transport):
    """Records writes, pauses and closes; the protocol's calls back are the test's to make."""

    def __init__(self):
        super().__init__()
        self.writes = []
        self.events = []
        self.closing = False

    def write(self, data):
        assert not self.closing, "written after close()"
        self.writes.append(bytes(data))

    def is_closing(self):
        return self.closing

    def close(self):
        self.events.append("close")
        self.closing = True

    def abort(self):
        self.events.append("abort")
        self.closing = True

    def pause_reading(self):
        self.events.append("pause_reading")

    def resume_reading(self):
        self.events.append("resume_reading")

    def can_write_eof(self):
        return True

    def write_eof(self):
        self.events.append("write_eof")

    def get_extra_info(self, name, default=None):
        return {"peername": ("127.0.0.9", 4321), "sockname": ("127.0.0.1", 25)}.get(name, default)

    def get_protocol(self):
        return self.protocol


def in_a_running_loop(test):
    """Run the coroutine function *test* on an event loop of its own (the Protocol schedules its passes)."""

    @functools.wraps(test)
    def run_it(*args, **kwargs):
        loop = asyncio.new_event_loop()
        try:
            return loop.run_until_complete(test(*args, **kwargs))
        finally:
            loop.close()

    return run_it


def connect(factory):
    """A ChatProtocol made with *factory*, connected to a RecordingTransport: (protocol, transport)."""
    protocol = asynchat.ChatProtocol(factory)
    transport = RecordingTransport()
    transport.protocol = protocol
    protocol.connection_made(transport)
    return protocol, transport


@in_a_running_loop
async def test_the_channel_is_built_on_a_socket_that_stands_for_the_transport(engine):
    protocol, transport = connect(DocEcho)
    chan = protocol.channel
    assert isinstance(chan, DocEcho) and chan.connected and chan.addr == ("127.0.0.9", 4321)
    assert chan.socket.getpeername() == ("127.0.0.9", 4321) and chan.socket.getsockname() == ("127.0.0.1", 25)
    assert chan.socket.fileno() == -1  # this transport has no socket
    assert chan not in asyncore.socket_map.values()  # no asyncore loop may poll it


@in_a_running_loop
async def test_a_pipelined_burst_is_one_write_and_a_lone_request_is_answered_at_once(engine):
    protocol, transport = connect(DocEcho)
    protocol.data_received(b"".join(b"line %d\n" % i for i in range(300)))
    assert transport.writes == [b"".join(b"line %d\n" % i for i in range(300))]
    protocol.data_received(b"alone\n")
    assert transport.writes[1:] == [b"alone\n"]


@in_a_running_loop
async def test_each_push_of_a_reply_is_its_own_write_as_the_reference_sends_it(engine):
    class Ehlo(DocEcho):
        def found_terminator(self):
            self.parts = []
            for line in (b"250-one\r\n", b"250-two\r\n", b"250 three\r\n"):
                self.push(line)

    protocol, transport = connect(Ehlo)
    protocol.data_received(b"EHLO x\n")
    assert transport.writes == [b"250-one\r\n", b"250-two\r\n", b"250 three\r\n"]


@in_a_running_loop
async def test_the_water_marks_pause_and_resume_reading_and_nothing_is_lost(engine):
    class Marked(DocEcho):
        ac_out_high_water = 1000
        ac_out_low_water = 100

    protocol, transport = connect(Marked)
    protocol.pause_writing()  # the transport's buffer is full
    lines = [b"%04d" % i + b"x" * 95 + b"\n" for i in range(50)]
    protocol.data_received(b"".join(lines))
    assert transport.writes == [] and transport.events == ["pause_reading"]
    assert protocol.channel.ac_in_buffer  # the rest waits, unframed
    protocol.resume_writing()
    for _ in range(100):  # the passes the protocol schedules
        await asyncio.sleep(0)
    assert b"".join(transport.writes) == b"".join(lines)
    assert transport.events == ["pause_reading", "resume_reading"]


@in_a_running_loop
async def test_producers_then_close_when_done(engine):
    class Producing(DocEcho):
        def found_terminator(self):
            self.push_with_producer(asynchat.simple_producer(b"p" * 2000, 300))
            self.push(b"end\n")
            self.close_when_done()

    protocol, transport = connect(Producing)
    protocol.data_received(b"go\n")
    for _ in range(20):  # the passes the protocol schedules
        await asyncio.sleep(0)
    assert b"".join(transport.writes) == b"p" * 2000 + b"end\n"
    assert transport.events == ["close"] and not protocol.channel.connected


@in_a_running_loop
async def test_the_message_limit_by_default_logs_and_closes(engine):
    class Limited(DocEcho):
        ac_max_message_size = 10

    protocol, transport = connect(Limited)
    protocol.data_received(b"short\n" + b"y" * 100)
    assert transport.writes == [b"short\n"]
    assert protocol.channel.events == [("log", "warning")] and transport.events == ["close"]


@in_a_running_loop
async def test_a_callback_that_raises_reaches_handle_error_and_the_channel_closes(engine):
    class Failing(DocEcho):
        def found_terminator(self):
            raise ValueError("bad request")

    protocol, transport = connect(Failing)
    protocol.data_received(b"x\n")
    assert protocol.channel.events[0] == ("error", ValueError)
    assert transport.events == ["close"]


@in_a_running_loop
async def test_a_hang_up_mid_burst_is_handle_close_once(engine):
    protocol, transport = connect(DocEcho)
    protocol.pause_writing()
    protocol.data_received(b"a\nb\n")
    protocol.connection_lost(ConnectionResetError())
    protocol.connection_lost(None)  # nothing more
    assert protocol.channel.events == ["close"] and transport.events == ["close"]


@in_a_running_loop
async def test_the_end_of_stream_frames_what_came_before_it_then_closes(engine):
    protocol, transport = connect(DocEcho)
    protocol.data_received(b"last\n")
    assert protocol.eof_received() is True  # the channel closes the transport itself
    assert transport.writes == [b"last\n"] and transport.events == ["close"]


@in_a_running_loop
async def test_a_factory_that_returns_no_async_chat_is_refused(engine):
    with pytest.raises(TypeError, match="async_chat"):
        connect(lambda sock: object())


# --- ChatProtocol on real event loops ----------------------------------------


def test_server_and_client_helpers_and_pushes_from_a_coroutine(engine, event_loop):
    """create_chat_server(), create_chat_connection(), and a push and close_when_done() made outside the callbacks."""
    made = []

    def server_channel(sock):
        made.append(DocEcho(sock))
        return made[-1]

    class Client(DocEcho):
        def __init__(self, sock):
            DocEcho.__init__(self, sock)
            self.received = []

        def found_terminator(self):
            self.received.append(b"".join(self.parts))
            self.parts = []

    async def scenario():
        server = await asynchat.create_chat_server(server_channel, "127.0.0.1", 0)
        client = await asynchat.create_chat_connection(Client, "127.0.0.1", server.sockets[0].getsockname()[1])
        client.push(b"".join(b"%d\n" % i for i in range(1000)))
        while len(client.received) < 1000:
            await asyncio.sleep(0.005)
        (chan,) = made
        chan.push(b"from the server, unasked\n")  # from a coroutine: sent at once
        chan.push(b"x" * (4 << 20) + b"\n")  # more than the transport takes at once: the rest follows
        chan.close_when_done()
        while client.connected:
            await asyncio.sleep(0.005)
        server.close()
        await server.wait_closed()
        return client.received

    received = run(event_loop, scenario())
    assert received[:1000] == [b"%d" % i for i in range(1000)]
    assert received[1000:] == [b"from the server, unasked", b"x" * (4 << 20)]


def test_smtpd_channel_runs_unchanged_as_a_protocol(engine, event_loop):
    smtpd = pytest.importorskip("smtpd", reason="smtpd is in the standard library up to 3.11")

    class Server:
        """What SMTPChannel asks of its server."""

        def __init__(self):
            self.messages = []

        def process_message(self, peer, mailfrom, rcpttos, data, **kwargs):
            self.messages.append((peer, mailfrom, rcpttos, data))

    server = Server()
    outcome = []

    def client(port):
        try:
            with smtplib.SMTP("127.0.0.1", port, timeout=10) as smtp:
                smtp.sendmail("a@example.org", ["b@example.org"], "Subject: hi\r\n\r\nbody\r\n")
        except BaseException as error:  # reported by the test
            outcome.append(error)

    async def scenario():
        listening = await asynchat.create_chat_server(
            lambda sock: smtpd.SMTPChannel(server, sock, sock.getpeername()), "127.0.0.1", 0
        )
        thread = threading.Thread(target=client, args=(listening.sockets[0].getsockname()[1],))
        thread.start()
        while thread.is_alive():
            await asyncio.sleep(0.01)
        listening.close()
        return thread

    run(event_loop, scenario())
    assert outcome == []
    ((peer, mailfrom, rcpttos, data),) = server.messages
    assert peer[0] == "127.0.0.1" and mailfrom == "a@example.org" and rcpttos == ["b@example.org"]
    assert data == b"Subject: hi\n\nbody"


def test_close_all_leaves_protocol_channels_alone(engine, event_loop, sock_map):
    """A Protocol's channel is in no map: asyncore.close_all() of its map does not reach it."""
    made = []

    async def scenario():
        server = await asynchat.create_chat_server(lambda sock: made.append(LineEcho(sock, sock_map)) or made[-1],
                                                   "127.0.0.1", 0)  # fmt: skip
        reader, writer = await asyncio.open_connection("127.0.0.1", server.sockets[0].getsockname()[1])
        writer.write(b"hi\n")
        assert await reader.readline() == b"hi\n"
        close_all(sock_map)
        writer.write(b"still\n")
        assert await reader.readline() == b"still\n"
        writer.close()
        server.close()

    run(event_loop, scenario())
    assert sock_map == {} and made[0]._map is sock_map


# --- examples/asyncio_together.py ---------------------------------------------

EXAMPLE = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "examples", "asyncio_together.py")


@pytest.mark.skipif(not hasattr(signal, "SIGTERM") or sys.platform == "win32", reason="stopped by SIGTERM")
@pytest.mark.parametrize("loop_option", [[], ["--uvloop"]], ids=["asyncio", "uvloop"])
def test_the_example_serves_both_and_stops_on_sigterm(engine, loop_option):
    if loop_option:
        pytest.importorskip("uvloop")
    env = dict(os.environ)
    if engine.__name__.endswith("_fallback"):
        env["ASYNCHAT_NO_EXTENSIONS"] = "1"
    command = [sys.executable, EXAMPLE, "--port", "0", "--stats-port", "0", *loop_option]
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env) as server:
        try:
            banner = server.stdout.readline().decode()
            assert banner.startswith("echo on 127.0.0.1:"), banner + server.stderr.read().decode()
            echo, stats = (int(part.rsplit(":", 1)[1]) for part in banner.strip().split(", "))
            with socket.create_connection(("127.0.0.1", echo), timeout=10) as sock:
                sock.sendall(b"one\ntwo\n")
                received = b""
                while received.count(b"\n") < 2:
                    received += sock.recv(100)
                with socket.create_connection(("127.0.0.1", stats), timeout=10) as reader:
                    answer = reader.makefile("rb").readline()
            assert received == b"one\ntwo\n" and answer == b"connections 1 lines 2\n"
            server.send_signal(signal.SIGTERM)
            assert server.wait(timeout=20) == 0, server.stderr.read().decode()
        finally:
            if server.poll() is None:
                server.kill()
                server.wait()

"""asynchat.loop(): asyncore.loop()'s semantics on kept registrations.

Event traces are compared with asyncore.loop(use_poll=True) on the same
sockets, channel by channel (the two report ready channels in different
orders).  Behaviour that every loop must show runs under all of them
(the ``run_loop`` fixture); what only asynchat.loop() promises (an idle
channel costs nothing, no 1,024-descriptor limit) runs under it alone.
"""

import errno
import functools
import inspect
import os
import resource
import select
import socket
import struct
import sys
import time

import pytest
from loopback import Collector, LineServer, Listener, asyncore, run_until

import asynchat
from asynchat import _loop, _settings

needs_epoll = pytest.mark.skipif(not hasattr(select, "epoll"), reason="epoll is Linux's")


def tcp_pair():
    """A connected (server side, client side) pair of TCP sockets on 127.0.0.1."""
    with socket.create_server(("127.0.0.1", 0)) as listener:
        client = socket.create_connection(listener.getsockname())
        server, _ = listener.accept()
    server.setblocking(False)
    return server, client


class Recorder(asyncore.dispatcher):
    """A plain dispatcher that records each handler call in *trace* under its *name*."""

    def __init__(self, name, trace, sock=None, sock_map=None):
        asyncore.dispatcher.__init__(self, sock, sock_map)
        self.name = name
        self.trace = trace
        self.asked = 0

    def note(self, event):
        self.trace.setdefault(self.name, []).append(event)

    def readable(self):
        self.asked += 1
        return True

    def writable(self):
        return not self.connected  # a pending connect

    def handle_read(self):
        try:
            data = self.recv(4096)
        except BlockingIOError:
            data = "nothing"
        self.note(("read", data))

    def handle_expt(self):
        self.note(("urgent", self.socket.recv(1, socket.MSG_OOB)))

    def handle_close(self):
        self.note("close")
        self.close()

    def handle_connect(self):
        self.note("connect")

    def handle_accepted(self, sock, addr):
        self.note("accepted")
        Recorder("accepted", self.trace, sock, self._map)

    def handle_error(self):
        self.note(("error", sys.exc_info()[0].__name__))
        self.close()


ASYNCORE_POLL = functools.partial(asyncore.loop, use_poll=True)
TRACED_LOOPS = {"asyncore-poll": ASYNCORE_POLL, "asynchat": asynchat.loop}


def traces(scenario):
    """{loop: trace} for *scenario*(run_loop) under asyncore's poll mode and asynchat.loop()."""
    return {name: scenario(run_loop) for name, run_loop in TRACED_LOOPS.items()}


def run_for(run_loop, sock_map, iterations=20):
    for _ in range(iterations):
        run_loop(timeout=0.01, map=sock_map, count=1)


def test_signature_is_asyncores():
    """The same names, kinds and defaults (ours also has annotations)."""

    def parameters(function):
        return [(p.name, p.kind, p.default) for p in inspect.signature(function).parameters.values()]

    assert parameters(asynchat.loop) == parameters(asyncore.loop)


def test_an_empty_map_returns_at_once():
    started = time.monotonic()
    asynchat.loop(timeout=5, map={})
    assert time.monotonic() - started < 1


def test_count_bounds_the_iterations_and_the_default_map_is_asyncores(monkeypatch):
    trace = {}
    server, client = tcp_pair()
    sock_map = {}
    monkeypatch.setattr(asyncore, "socket_map", sock_map)
    channel = Recorder("server", trace, server)  # no map: asyncore.socket_map
    try:
        asynchat.loop(timeout=0.001, count=7)
        assert channel.asked == 7  # asked once per iteration, as asyncore asks it
        client.sendall(b"x")
        asynchat.loop(timeout=1, count=1)
        assert trace == {"server": [("read", b"x")]}
    finally:
        client.close()
        asyncore.close_all(sock_map)


def test_timeout_is_waited_when_nothing_happens():
    server, client = tcp_pair()
    sock_map = {}
    Recorder("server", {}, server, sock_map)
    try:
        started = time.monotonic()
        asynchat.loop(timeout=0.2, map=sock_map, count=2)
        assert 0.35 < time.monotonic() - started < 5
    finally:
        client.close()
        asyncore.close_all(sock_map)


def test_reads_urgent_data_and_hang_up_as_asyncore_poll():
    def scenario(run_loop):
        trace, sock_map = {}, {}
        server, client = tcp_pair()
        Recorder("server", trace, server, sock_map)
        client.sendall(b"abc")
        run_for(run_loop, sock_map)
        client.send(b"!", socket.MSG_OOB)
        run_for(run_loop, sock_map)
        client.close()
        run_for(run_loop, sock_map)
        return trace

    results = traces(scenario)
    assert results["asynchat"] == results["asyncore-poll"]
    assert results["asynchat"]["server"][0] == ("read", b"abc")
    assert ("urgent", b"!") in results["asynchat"]["server"]
    assert results["asynchat"]["server"][-2:] == ["close", ("read", b"")]  # recv() closes, then returns


def test_a_reset_connection_is_closed_as_asyncore_poll():
    def scenario(run_loop):
        trace, sock_map = {}, {}
        server, client = tcp_pair()
        Recorder("server", trace, server, sock_map)
        client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        client.close()  # RST: POLLIN | POLLERR | POLLHUP
        run_for(run_loop, sock_map)
        return trace

    results = traces(scenario)
    assert results["asynchat"] == results["asyncore-poll"]
    assert "close" in results["asynchat"]["server"]


def test_accept_connect_and_a_refused_connect_as_asyncore_poll():
    def scenario(run_loop):
        trace, sock_map = {}, {}
        listener = Recorder("listener", trace, sock_map=sock_map)
        listener.create_socket()
        listener.bind(("127.0.0.1", 0))
        listener.listen(5)
        client = Recorder("client", trace, sock_map=sock_map)
        client.create_socket()
        client.connect(listener.socket.getsockname())
        with socket.create_server(("127.0.0.1", 0)) as closed:
            refused_port = closed.getsockname()[1]
        refused = Recorder("refused", trace, sock_map=sock_map)
        refused.create_socket()
        refused.connect(("127.0.0.1", refused_port))
        run_for(run_loop, sock_map)
        asyncore.close_all(sock_map)
        return trace

    results = traces(scenario)
    assert results["asynchat"] == results["asyncore-poll"]
    assert results["asynchat"]["listener"] == ["accepted"]
    assert results["asynchat"]["client"] == ["connect"]
    assert results["asynchat"]["refused"][0] == ("error", "ConnectionRefusedError")


@pytest.mark.parametrize("raised", [asyncore.ExitNow, KeyboardInterrupt])
def test_exitnow_and_keyboardinterrupt_leave_the_loop(raised):
    class Raising(Recorder):
        def handle_read(self):
            raise raised("stop")

    server, client = tcp_pair()
    sock_map = {}
    channel = Raising("server", {}, server, sock_map)
    client.sendall(b"x")
    try:
        with pytest.raises(raised):
            asynchat.loop(timeout=1, map=sock_map, count=5)
        # The loop is usable again, and the event still waits.
        channel.handle_read = lambda: channel.note(("read", channel.recv(10)))
        asynchat.loop(timeout=1, map=sock_map, count=1)
        assert channel.trace == {"server": [("read", b"x")]}
    finally:
        client.close()
        asyncore.close_all(sock_map)


def test_other_exceptions_reach_handle_error(engine, run_loop, sock_map):
    class Failing(LineServer):
        def found_terminator(self):
            raise ValueError("bad line")

        def handle_error(self):
            failures.append(sys.exc_info()[0])
            self.close()

    failures = []
    server = Listener(Failing, sock_map)
    client = Collector(server.port, sock_map)
    client.push(b"boom\n")
    run_until(sock_map, lambda: failures, run_loop)
    assert failures == [ValueError]


def test_a_channel_closed_by_another_handler_gets_no_more_events(run_loop):
    trace, sock_map = {}, {}
    pairs = [tcp_pair() for _ in range(2)]

    class Closer(Recorder):
        def handle_read(self):
            Recorder.handle_read(self)
            victim.close()

    Closer("closer", trace, pairs[0][0], sock_map)
    victim = Recorder("victim", trace, pairs[1][0], sock_map)
    victim.close = functools.partial(lambda close: (victim.note("closed"), close()), victim.close)
    pairs[1][1].sendall(b"v")
    pairs[0][1].sendall(b"c")
    try:
        run_for(run_loop, sock_map)
        events = trace["victim"]
        assert events[-1] == "closed"  # whether it read first depends on the order of readiness
        assert events in (["closed"], [("read", b"v"), "closed"])
    finally:
        for _, client in pairs:
            client.close()
        asyncore.close_all(sock_map)


def test_map_changed_between_iterations_by_user_code(run_loop):
    trace, sock_map = {}, {}
    server, client = tcp_pair()
    first = Recorder("first", trace, server, sock_map)
    try:
        client.sendall(b"1")
        run_for(run_loop, sock_map, 3)
        fd = first._fileno
        del sock_map[fd]  # taken out by hand: no more events
        client.sendall(b"2")
        run_loop(timeout=0.01, map=sock_map, count=3)  # returns at once: the map is empty
        idle_server, idle_client = tcp_pair()
        Recorder("idle", trace, idle_server, sock_map)  # keeps the loop running; never ready
        run_for(run_loop, sock_map, 3)
        assert trace == {"first": [("read", b"1")]}
        sock_map[fd] = Recorder("second", trace, first.socket, {})  # put back, in a new dispatcher
        run_for(run_loop, sock_map, 3)
        assert trace == {"first": [("read", b"1")], "second": [("read", b"2")]}
    finally:
        client.close()
        idle_client.close()
        asyncore.close_all(sock_map)


@needs_epoll
def test_a_socket_closed_under_asyncore_before_registration_is_closed_as_poll_says():
    def scenario(run_loop):
        trace, sock_map = {}, {}
        server, client = tcp_pair()
        channel = Recorder("server", trace, server, sock_map)
        channel.socket.close()  # behind the dispatcher's back: the map still has it
        run_for(run_loop, sock_map, 3)
        client.close()
        return trace

    results = traces(scenario)
    assert results["asynchat"] == results["asyncore-poll"] == {"server": ["close"]}


class Sink(asynchat.async_chat):
    """A server channel that reads lines and pushes nothing unless told to."""

    def __init__(self, sock, sock_map):
        asynchat.async_chat.__init__(self, sock, sock_map)
        self.set_terminator(b"\n")
        self.lines = []
        self.writes = 0

    def collect_incoming_data(self, data):
        self.lines.append(data)

    def found_terminator(self):
        pass

    def handle_write(self):
        self.writes += 1
        asynchat.async_chat.handle_write(self)


def read_all(sock, size, seconds=20):
    sock.settimeout(seconds)
    data = b""
    while len(data) < size:
        chunk = sock.recv(1 << 20)
        if not chunk:
            break
        data += chunk
    return data


def test_a_push_from_outside_its_handlers_is_sent_in_full(engine, run_loop):
    """More than the socket takes at once, pushed between iterations: the loop must come back for the rest."""
    server, client = tcp_pair()
    sock_map = {}
    channel = Sink(server, sock_map)
    payload = os.urandom(1 << 22)
    try:
        run_for(run_loop, sock_map, 2)
        channel.push(payload)
        assert channel.producer_fifo, "the socket took everything: the test needs a partial send"
        got = []
        import threading

        reader = threading.Thread(target=lambda: got.append(read_all(client, len(payload))))
        reader.start()
        run_until(sock_map, lambda: not channel.producer_fifo, run_loop)
        reader.join(20)
        assert got == [payload]
    finally:
        client.close()
        asyncore.close_all(sock_map)


def test_a_push_by_another_channels_handler_is_sent_in_full(engine, run_loop, sock_map):
    """A broadcast: one channel's found_terminator() pushes to every other."""

    class Broadcast(LineServer):
        def found_terminator(self):
            line = self.take_message() + b"\n"
            for other in server.channels:
                if other is not self:
                    other.push(line * 20000)

    server = Listener(Broadcast, sock_map)
    talker = Collector(server.port, sock_map)
    listener = Collector(server.port, sock_map)
    run_until(sock_map, lambda: len(server.channels) == 2, run_loop)
    talker.push(b"hello\n")
    run_until(sock_map, lambda: len(listener.messages) == 20000, run_loop)
    assert set(listener.messages) == {b"hello"}


def drain(sock):
    sock.settimeout(0.2)
    try:
        while sock.recv(1 << 20):
            pass
    except socket.timeout:
        pass


def test_discard_buffers_and_close_when_done_from_outside(engine, run_loop):
    server, client = tcp_pair()
    sock_map = {}
    channel = Sink(server, sock_map)
    try:
        channel.push(os.urandom(1 << 22))
        writes = -1
        while writes != channel.writes:  # until an iteration passes without an event
            writes = channel.writes
            run_loop(timeout=0.05, map=sock_map, count=1)
        assert channel.producer_fifo, "the socket took everything: the test needs a partial send"
        channel.discard_buffers()
        writes = channel.writes
        drain(client)  # the socket is writable again, and nothing is queued
        run_for(run_loop, sock_map, 3)
        assert channel.writes == writes, "handle_write() called with nothing to write"
        channel.push(b"bye\n")
        run_for(run_loop, sock_map, 3)
        channel.close_when_done()  # with nothing left to send
        run_until(sock_map, lambda: not sock_map, run_loop)
        assert read_all(client, 100) == b"bye\n"
    finally:
        client.close()


def test_reading_paused_by_the_water_marks_resumes(engine, run_loop, sock_map):
    """The server pushes 64 KiB per line; the client reads only after it sent everything."""

    class Bulky(LineServer):
        ac_out_high_water = 1 << 18

        def found_terminator(self):
            self.push(self.take_message()[:1] * (1 << 16) + b"\n")

    def small_buffers(sock, sock_map):  # so that the replies cannot all vanish into the kernel
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 1 << 16)
        return Bulky(sock, sock_map)

    server = Listener(small_buffers, sock_map)
    client_sock = socket.socket()
    client_sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 16)
    client_sock.connect(("127.0.0.1", server.port))
    lines = 200
    try:
        client_sock.sendall(b"x\n" * lines)
        run_until(sock_map, lambda: server.channels and server.channels[0]._framer.flow == _settings.PAUSED, run_loop)
        run_for(run_loop, sock_map, 5)
        assert server.channels[0]._framer.flow == _settings.PAUSED  # and stays so while the peer reads nothing
        import threading

        got = []
        reader = threading.Thread(target=lambda: got.append(read_all(client_sock, lines * ((1 << 16) + 1))))
        reader.start()
        run_until(sock_map, lambda: not reader.is_alive(), run_loop, seconds=60)
        assert got == [(b"x" * (1 << 16) + b"\n") * lines]
    finally:
        client_sock.close()


def test_a_pending_connect_completes_and_then_sends(engine, run_loop, sock_map):
    server = Listener(lambda sock, m: EchoLines(sock, m), sock_map)
    client = Collector(server.port, sock_map)
    assert not client.connected
    client.push(b"queued before the connect completed\n")
    run_until(sock_map, lambda: client.messages, run_loop)
    assert client.messages == [b"queued before the connect completed"]


class EchoLines(LineServer):
    def found_terminator(self):
        self.push(self.take_message() + b"\n")


def test_overridden_predicates_are_asked_every_iteration(engine):
    class Asking(Sink):
        asked = 0

        def writable(self):
            self.asked += 1
            return Sink.writable(self)

    server, client = tcp_pair()
    sock_map = {}
    channel = Asking(server, sock_map)
    try:
        asynchat.loop(timeout=0.001, map=sock_map, count=9)
        assert channel.asked == 9
    finally:
        client.close()
        asyncore.close_all(sock_map)


def test_an_idle_async_chat_is_not_asked(engine, monkeypatch):
    asked = []
    monkeypatch.setattr(
        _loop._MapPoller,
        "_update",
        lambda self, fd, obj, update=_loop._MapPoller._update: (asked.append(obj), update(self, fd, obj))[1],
    )
    pairs = [tcp_pair() for _ in range(50)]
    sock_map = {}
    channels = [Sink(server, sock_map) for server, _ in pairs]
    try:
        asynchat.loop(timeout=0.001, map=sock_map, count=1)
        assert sorted(map(id, asked)) == sorted(map(id, channels))  # each asked once, when added
        asked.clear()
        asynchat.loop(timeout=0.001, map=sock_map, count=5)
        assert asked == []
        pairs[7][1].sendall(b"line\n")
        asynchat.loop(timeout=1, map=sock_map, count=2)
        assert channels[7].lines == [b"line"]
        assert asked == [channels[7]]  # after its own event, and nobody else
    finally:
        for _, client in pairs:
            client.close()
        asyncore.close_all(sock_map)


def raise_descriptor_limit(needed):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft >= needed:
        return soft, hard
    if hard != resource.RLIM_INFINITY and hard < needed:
        pytest.skip(f"RLIMIT_NOFILE's hard limit is {hard}; {needed} descriptors are needed")
    resource.setrlimit(resource.RLIMIT_NOFILE, (needed, hard))
    return soft, hard


@needs_epoll
def test_more_than_1024_connections(engine):
    connections = 1100
    limits = raise_descriptor_limit(2 * connections + 100)
    sock_map = {}
    server = Listener(EchoLines, sock_map)
    server.listen(connections)
    clients = []
    try:
        for i in range(connections):
            clients.append(socket.create_connection(("127.0.0.1", server.port)))
            if i % 100 == 99:
                asynchat.loop(timeout=0.01, map=sock_map, count=3)
        run_until(sock_map, lambda: len(server.channels) == connections, asynchat.loop)
        assert max(sock_map) > 1024
        with pytest.raises(ValueError):  # what asyncore's select mode does here
            asyncore.loop(timeout=0.01, use_poll=False, map=sock_map, count=1)
        for i, client in enumerate(clients):
            client.sendall(b"%d\n" % i)
        replies = {}

        def all_replied():
            for i, client in enumerate(clients):
                if i not in replies:
                    try:
                        replies[i] = client.recv(100, socket.MSG_DONTWAIT)
                    except BlockingIOError:
                        pass
            return len(replies) == connections

        run_until(sock_map, all_replied, asynchat.loop, seconds=60)
        assert all(replies[i] == b"%d\n" % i for i in range(connections))
    finally:
        for client in clients:
            client.close()
        asyncore.close_all(sock_map)
        resource.setrlimit(resource.RLIMIT_NOFILE, limits)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork()")
@needs_epoll
def test_a_forked_child_gets_a_poller_of_its_own(engine):
    """The child must not touch the epoll instance it shares with its parent."""
    server, client = tcp_pair()
    sock_map = {}
    channel = Sink(server, sock_map)
    try:
        asynchat.loop(timeout=0.001, map=sock_map, count=1)
        parent_poller = _loop._map_pollers[id(sock_map)]
        pid = os.fork()
        if pid == 0:  # the child closes its copy of the channel, and loops on a map of its own
            code = 1
            try:
                channel.close()
                child_map = {}
                Recorder("child", {}, socket.socketpair()[0], child_map)
                asynchat.loop(timeout=0.001, map=child_map, count=1)
                code = 0 if id(sock_map) not in _loop._map_pollers else 2
            finally:
                os._exit(code)
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0
        assert _loop._map_pollers[id(sock_map)] is parent_poller
        client.sendall(b"still registered\n")
        asynchat.loop(timeout=1, map=sock_map, count=1)
        assert channel.lines == [b"still registered"]
    finally:
        client.close()
        asyncore.close_all(sock_map)


def test_a_regular_file_is_always_ready_as_poll_says(tmp_path):
    def scenario(run_loop):
        trace, sock_map = {}, {}
        path = tmp_path / "data"
        path.write_bytes(b"file contents")

        class FileReader(asyncore.file_dispatcher):
            def handle_read(self):
                trace.setdefault("file", []).append(self.recv(4))

            def writable(self):
                return False

        with open(path, "rb") as f:
            FileReader(f, sock_map)
            run_for(run_loop, sock_map, 5)
        asyncore.close_all(sock_map)
        return trace

    results = traces(scenario)
    assert results["asynchat"] == results["asyncore-poll"]
    assert results["asynchat"]["file"][:4] == [b"file", b" con", b"tent", b"s"]


def test_errno_of_a_closed_descriptor_is_ebadf():
    # _Epoll relies on it to tell a closed socket from a failure.
    if not hasattr(select, "epoll"):
        pytest.skip("epoll is Linux's")
    epoll = select.epoll()
    sock = socket.socket()
    fd = sock.fileno()
    sock.close()
    with pytest.raises(OSError) as caught:
        epoll.register(fd, select.EPOLLIN)
    assert caught.value.errno == errno.EBADF
    epoll.close()

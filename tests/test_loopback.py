"""async_chat over real loopback sockets under every loop: asyncore.loop() (select, poll) and asynchat.loop()."""

import hashlib
import os

from loopback import Collector, LineServer, Listener, asyncore, run_until

import asynchat


class LineEcho(LineServer):
    """Echoes every line back, newline-terminated."""

    def found_terminator(self):
        self.push(self.take_message() + b"\n")


def test_lines_and_empty_lines_echo(engine, run_loop, sock_map):
    server = Listener(LineEcho, sock_map)
    client = Collector(server.port, sock_map)
    lines = [b"hello", b"", b"world", b"", b"", b"x" * 5000] + [b"line %d" % i for i in range(300)]
    client.push(b"".join(line + b"\n" for line in lines))
    run_until(sock_map, lambda: len(client.messages) == len(lines), run_loop)
    assert client.messages == lines


def test_bytes_bytearray_and_memoryview_pushes(engine, run_loop, sock_map):
    server = Listener(LineEcho, sock_map)
    client = Collector(server.port, sock_map)
    client.push(b"bytes\n")
    client.push(bytearray(b"bytearray\n"))
    client.push(memoryview(b"memoryview\n"))
    run_until(sock_map, lambda: len(client.messages) == 3, run_loop)
    assert client.messages == [b"bytes", b"bytearray", b"memoryview"]


class LengthPrefixed(LineServer):
    """Reads "<n>\\n" then n raw bytes, and answers with the record's SHA-256 as a line."""

    def found_terminator(self):
        data = self.take_message()
        if isinstance(self.get_terminator(), int):
            self.push(hashlib.sha256(data).hexdigest().encode() + b"\n")
            self.set_terminator(b"\n")
        else:
            self.set_terminator(int(data))


def test_numeric_terminators_switching_with_lines(engine, run_loop, sock_map):
    server = Listener(LengthPrefixed, sock_map)
    client = Collector(server.port, sock_map)
    records = [b"abc", b"with\nnewlines\n", b"z" * 70000, os.urandom(300), b"\n"]
    client.push(b"".join(b"%d\n%s" % (len(r), r) for r in records))
    run_until(sock_map, lambda: len(client.messages) == len(records), run_loop)
    assert client.messages == [hashlib.sha256(r).hexdigest().encode() for r in records]


class Sink(asynchat.async_chat):
    """Collects everything (terminator None) and reports a digest when the peer closes."""

    received = {}

    def __init__(self, sock, sock_map):
        asynchat.async_chat.__init__(self, sock, sock_map)
        self.digest = hashlib.sha256()
        self.size = 0
        self.set_terminator(None)

    def collect_incoming_data(self, data):
        self.digest.update(data)
        self.size += len(data)

    def found_terminator(self):
        raise AssertionError("no terminator is set")

    def handle_close(self):
        Sink.received[id(self._map)] = (self.size, self.digest.hexdigest())
        self.close()


def test_large_push_arrives_byte_exact_with_none_terminator(engine, run_loop, sock_map):
    server = Listener(Sink, sock_map)
    client = Collector(server.port, sock_map)
    payload = os.urandom(6 * 1024 * 1024 + 123)
    client.push(payload)
    client.close_when_done()
    run_until(sock_map, lambda: id(sock_map) in Sink.received, run_loop, seconds=60)
    assert Sink.received.pop(id(sock_map)) == (len(payload), hashlib.sha256(payload).hexdigest())


class Producing(asynchat.async_chat):
    """On "GET\\n" answers with two producers and bytes, then closes when done."""

    def __init__(self, sock, sock_map):
        asynchat.async_chat.__init__(self, sock, sock_map)
        self.set_terminator(b"\n")

    def collect_incoming_data(self, data):
        pass

    def found_terminator(self):
        self.push_with_producer(asynchat.simple_producer(b"".join(b"p%d\n" % i for i in range(2000)), 77))
        self.push_with_producer(CountingProducer(500))
        self.push_with_producer(b"raw bytes\n")
        self.close_when_done()


class CountingProducer:
    def __init__(self, n):
        self.left = n

    def more(self):
        if not self.left:
            return b""
        self.left -= 1
        return b"c%d\n" % self.left


def test_producers_and_close_when_done(engine, run_loop, sock_map):
    server = Listener(Producing, sock_map)
    client = Collector(server.port, sock_map)
    client.push(b"GET\n")
    run_until(sock_map, lambda: client.peer_closed, run_loop)
    expected = [b"p%d" % i for i in range(2000)] + [b"c%d" % i for i in reversed(range(500))] + [b"raw bytes"]
    assert client.messages == expected


class PlainEcho(asyncore.dispatcher_with_send):
    """A plain asyncore channel in the same map."""

    def __init__(self, sock, sock_map):
        asyncore.dispatcher_with_send.__init__(self, sock, map=sock_map)

    def handle_read(self):
        self.send(self.recv(8192))


def test_mixes_with_plain_dispatchers_in_one_map(engine, run_loop, sock_map):
    chat_server = Listener(LineEcho, sock_map)
    plain_server = Listener(PlainEcho, sock_map, chat=False)  # a plain dispatcher is no Protocol
    chat_clients = [Collector(chat_server.port, sock_map) for _ in range(3)]
    plain_clients = [Collector(plain_server.port, sock_map) for _ in range(3)]
    for i, client in enumerate(chat_clients + plain_clients):
        client.push(b"".join(b"%d:%d\n" % (i, j) for j in range(100)))
    everyone = chat_clients + plain_clients
    run_until(sock_map, lambda: all(len(c.messages) == 100 for c in everyone), run_loop)
    for i, client in enumerate(everyone):
        assert client.messages == [b"%d:%d" % (i, j) for j in range(100)]

"""Soak: hundreds of connections over 127.0.0.1, random sizes, random disconnects; nothing lost.

Clients send messages of random size, each a header line (length and CRC-32)
and a byte-counted body, pushed in random pieces; the server checks every
message and echoes it; the client checks every echo.  Clients hang up at
random, mid-message too, and new ones take their place.  Half of the server
channels run with water marks and a message limit, and each reads with its
own recv size; with TLS, half the clients connect to a second listener
whose channels start TLS at once.  It runs under asyncore.loop(use_poll=True) and under
asynchat.loop(), and ends by itself: ASYNCHAT_SOAK_SECONDS per engine and loop (default
5; the run with a loop per thread half of it; the asyncio drivers an eighth, with a
quarter of the clients); run it longer with, e.g.::

    ASYNCHAT_SOAK_SECONDS=600 bash tests/run.sh python3 -- -k soak -s
"""

import gc
import os
import random
import shutil
import socket
import sys
import threading
import time
import zlib

import pytest
import tls_servers
from loopback import Listener, asyncore, close_loop, loop_function

import asynchat

SECONDS = float(os.environ.get("ASYNCHAT_SOAK_SECONDS", "5"))
CONNECTIONS = int(os.environ.get("ASYNCHAT_SOAK_CONNECTIONS", "200"))


class Tally:
    def __init__(self):
        self.connections = self.server_messages = self.client_messages = 0
        self.bytes_in = self.bytes_out = self.hangups = 0
        self.errors = []


class Framed(asynchat.async_chat):
    """Reads header-and-body messages; message() gets each one checked."""

    def __init__(self, tally, sock=None, sock_map=None):
        asynchat.async_chat.__init__(self, sock, sock_map)
        self.tally = tally
        self.parts = []
        self.header = None
        self.set_terminator(b"\n")

    def collect_incoming_data(self, data):
        self.parts.append(data)

    def found_terminator(self):
        data = b"".join(self.parts)
        self.parts = []
        if self.header is None:
            size, crc = data.split()
            self.header = (int(size), int(crc, 16))
            if self.header[0]:
                self.set_terminator(self.header[0])
                return
            data = b""
        size, crc = self.header
        self.header = None
        self.set_terminator(b"\n")
        if len(data) != size or zlib.crc32(data) != crc:
            self.tally.errors.append(f"{type(self).__name__}: message of {len(data)} bytes fails its check")
        self.message(data)

    def handle_error(self):
        self.tally.errors.append(repr(sys.exc_info()[1]))
        self.close()


def framed(body):
    return b"%d %08x\n" % (len(body), zlib.crc32(body)) + body


class Server(Framed):
    def __init__(self, tally, rng, sock, sock_map, context=None):
        Framed.__init__(self, tally, sock, sock_map)
        # Odd sizes split headers, terminators and bodies anywhere.  Not 1: a channel reading a
        # byte a pass makes the drain at the end take most of the run (recv() a byte at a time
        # is tests/test_faults.py's, on both engines).
        self.ac_in_buffer_size = rng.choice([7, 13, 512, 4096, 65536])
        if rng.random() < 0.5:
            self.ac_out_high_water, self.ac_out_low_water = 8192, 1024
            self.ac_max_message_size = 1 << 20
        if context is not None:
            self.start_tls(context)

    def log_info(self, message, type="info"):
        pass  # a client that hangs up mid-handshake is logged: expected here

    def message(self, body):
        self.tally.server_messages += 1
        self.tally.bytes_in += len(body)
        self.push(framed(body))


class Client(Framed):
    def __init__(self, tally, rng, port, sock_map, context=None):
        Framed.__init__(self, tally, sock_map=sock_map)
        self.rng = rng
        self.context = context
        self.sent = []  # bodies whose echo is due, in order
        self.finishing = False
        tally.connections += 1
        self.create_socket(socket.AF_INET, socket.SOCK_STREAM)
        self.connect(("127.0.0.1", port))

    def handle_connect(self):
        if self.context is None:
            self.send_some()
        else:
            self.start_tls(self.context, server_side=False, server_hostname="localhost")

    def handle_tls_established(self):
        self.send_some()

    def handle_tls_failed(self, error):
        self.tally.errors.append(f"client: TLS handshake failed: {error!r}")
        self.close()

    def send_some(self):
        rng = self.rng
        for _ in range(rng.randint(1, 4)):
            body = rng.randbytes(rng.choice([0, 1, 10, 100, 1000, 20000]) + rng.randint(0, 99))
            data = framed(body)
            self.sent.append(body)
            while data:  # pushed in random pieces
                cut = rng.randint(1, 4096)
                self.push(data[:cut])
                data = data[cut:]
            self.tally.bytes_out += len(body)

    def message(self, body):
        expected = self.sent.pop(0) if self.sent else None
        if body != expected:
            self.tally.errors.append("client: an echo differs from what was sent")
        self.tally.client_messages += 1
        if self.finishing:
            if not self.sent:
                self.close()
        elif self.rng.random() < 0.05:
            self.tally.hangups += 1
            self.close()  # a hang-up, sometimes with echoes or a message still in flight
        elif not self.sent:
            self.send_some()

    def handle_close(self):
        if self.finishing and self.sent:
            self.tally.errors.append(f"client: the server closed with {len(self.sent)} echoes due")
        self.close()


def soak(run_loop, seconds, connections, seed, tls=None):
    """Serve *connections* clients through one map for *seconds*, then drain; return the Tally.

    *tls*: (server context, client context) to put half the clients under TLS.
    """
    rng = random.Random(seed)
    tally = Tally()
    sock_map = {}
    listener = Listener(lambda sock, m: Server(tally, rng, sock, m), sock_map)
    listener.listen(connections)
    listeners = [(listener, None)]
    if tls is not None:
        secure = Listener(lambda sock, m: Server(tally, rng, sock, m, tls[0]), sock_map)
        secure.listen(connections)
        listeners.append((secure, tls[1]))
    clients = []

    def top_up():
        clients[:] = [c for c in clients if c.connected or c.connecting]
        while len(clients) < connections:
            chosen, context = rng.choice(listeners)
            clients.append(Client(tally, rng, chosen.port, sock_map, context))

    try:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            top_up()
            run_loop(timeout=0.01, map=sock_map, count=1)
        for client in clients:
            client.finishing = True
            if client.connected and not client.sent:
                client.close()
        drain_deadline = time.monotonic() + 120  # a hang guard: draining 1-byte reads is slow on a busy machine
        while any(c.connected or c.connecting for c in clients):
            if time.monotonic() > drain_deadline:
                tally.errors.append("the echoes due did not arrive in time")
                break
            run_loop(timeout=0.01, map=sock_map, count=1)
    finally:
        for chosen, _ in listeners:
            chosen.close()
        asyncore.close_all(map=sock_map)
    return tally


def report(tally, what):
    print(
        f"\nsoak ({asynchat._chat._engine.__name__}, {what}): {tally.connections} connections, "
        f"{tally.hangups} hang-ups, {tally.server_messages} messages in ({tally.bytes_in} bytes), "
        f"{tally.client_messages} echoes checked ({tally.bytes_out} bytes sent), errors: {len(tally.errors)}"
    )


def open_descriptors():
    gc.collect()  # what is only waiting for the collector (PyPy has no reference counts; pollers)
    return len(os.listdir("/proc/self/fd"))


needs_proc = pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="counts descriptors in /proc")


# Seconds and clients per loop.  The asyncio drivers soak an eighth as long with a quarter of
# the clients, the map on asyncio's loop and the Protocol on uvloop's (CI time: a soak takes
# about three times its seconds, draining included; every socket suite runs under all four).
SOAK_SIZES = {
    "asyncore-poll": (SECONDS, CONNECTIONS),
    "asynchat": (SECONDS, CONNECTIONS),
    **{name: (SECONDS / 8, CONNECTIONS // 4) for name in ("asyncio", "uvloop-protocol")},
}


@needs_proc
@pytest.mark.parametrize("loop_name", list(SOAK_SIZES))
def test_soak(engine, loop_name, monkeypatch):
    seconds, connections = SOAK_SIZES[loop_name]
    if loop_name.startswith("uvloop"):
        close_loop(loop_function(loop_name, monkeypatch))  # uvloop's first loop opens two descriptors for good
    fds_before = open_descriptors()
    run_loop = loop_function(loop_name, monkeypatch)
    try:
        tally = soak(run_loop, seconds, connections, seed=1234)
    finally:
        close_loop(run_loop)
    report(tally, f"{loop_name}, {connections} clients, {seconds:.2f} s")
    assert tally.errors == []
    assert tally.connections >= connections and tally.client_messages > 1000 * seconds / SECONDS
    assert open_descriptors() == fds_before


@needs_proc
@pytest.mark.parametrize("loop_name", ["asyncore-poll", "asynchat"])
def test_soak_with_tls_on_half_the_connections(engine, loop_name, monkeypatch, tmp_path):
    if shutil.which("openssl") is None:
        pytest.skip("the certificate is made by openssl")
    cert, key = tls_servers.make_certificate(str(tmp_path), "server")
    contexts = (tls_servers.server_context(cert, key), tls_servers.client_context(cert))
    run_loop = loop_function(loop_name, monkeypatch)
    fds_before = open_descriptors()
    tally = soak(run_loop, SECONDS / 2, CONNECTIONS // 2, seed=4321, tls=contexts)  # half as long: CI time
    report(tally, f"{loop_name}, TLS on half, {SECONDS / 2:.1f} s")
    assert tally.errors == []
    assert tally.connections >= CONNECTIONS // 2 and tally.client_messages > 250
    assert open_descriptors() == fds_before


THREADS = 4


@needs_proc
def test_soak_with_a_loop_per_thread(engine):
    """Four threads, each running asynchat.loop() on a map of its own: what free-threaded builds run in parallel.

    A channel belongs to one thread; nothing else is shared but the package's
    module state (docs/loop.md, "Threads").  Under PYTHON_GIL=0 on a free-threaded
    build the loops run at once.
    """
    fds_before = open_descriptors()
    tallies = [None] * THREADS
    failures = []

    def serve(i):
        try:
            tallies[i] = soak(asynchat.loop, SECONDS / 2, CONNECTIONS // THREADS, seed=1000 + i)
        except BaseException as exc:  # noqa: B902  (reported below, in the test's own thread)
            failures.append(exc)

    threads = [threading.Thread(target=serve, args=(i,)) for i in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=SECONDS + 120)
    assert not any(thread.is_alive() for thread in threads), "a loop did not end"
    assert failures == []
    gil = getattr(sys, "_is_gil_enabled", lambda: True)()
    for i, tally in enumerate(tallies):
        report(tally, f"thread {i} of {THREADS}, GIL {'on' if gil else 'off'}, {SECONDS / 2:.0f} s")
        assert tally.errors == []
        assert tally.connections >= CONNECTIONS // THREADS and tally.client_messages > 100
    assert open_descriptors() == fds_before

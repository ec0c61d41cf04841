"""What a hostile peer costs a server, in RSS of a server process (tests/rss_server.py).

A peer that sends 256 MiB without a terminator, and one that pipelines 32 MiB
of lines and reads nothing until it stalls.  Protected (a 64 KiB message
limit; water marks of 1 MiB / 256 KiB), the server's peak RSS grows by less
than 16 MiB and 24 MiB; unprotected it grows by about what the peer sent,
which shows that the measurement sees it.

On PyPy the GC holds memory of its own on top of what the server keeps: its
nursery, which it sizes from the "cache size" the CPU reports (half of it:
130 MiB where that is a 260 MiB L3), and the garbage that survived a minor
collection, kept until the first major one, which waits until the heap
reaches PYPY_GC_MIN (by default 8 times the nursery).  That share depends on
the machine, not on the package, so the servers here run with the knobs the
docs/protection.md gives for a memory-bounded PyPy server, the same on every CPU, and the
test checks that they took effect.  The limits are CPython's.
"""

import hashlib
import json
import os
import selectors
import socket
import subprocess
import sys

import pytest

import asynchat

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="reads the peak RSS from Linux's /proc")

KIB = 1024
MIB = 1024 * KIB
SERVER = os.path.join(os.path.dirname(__file__), "rss_server.py")
PYPY = sys.implementation.name == "pypy"
# docs/protection.md, "On PyPy": the GC settings of a memory-bounded PyPy server.
PYPY_GC = {"PYPY_GC_NURSERY": "4MB", "PYPY_GC_MIN": "8MB"}


@pytest.fixture
def start(engine_name):
    """start(kind, protection) runs rss_server.py on *engine_name*: (process, connected socket).

    Whatever it started is killed after the test, passed or failed.
    """
    started = []

    def start(kind, protection):
        env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1", **(PYPY_GC if PYPY else {}))
        if engine_name == "python":
            env["ASYNCHAT_NO_EXTENSIONS"] = "1"
        proc = subprocess.Popen([sys.executable, SERVER, kind, protection], stdout=subprocess.PIPE, env=env)
        started.append(proc)
        port = int(proc.stdout.readline())
        sock = socket.create_connection(("127.0.0.1", port))
        started.append(sock)
        return proc, sock

    yield start
    for thing in started:
        if isinstance(thing, socket.socket):
            thing.close()
        else:
            thing.kill()
            thing.wait()
            thing.stdout.close()


def growth_kib(proc):
    out, _ = proc.communicate(timeout=120)
    assert proc.returncode == 0
    report = json.loads(out.splitlines()[-1])
    if PYPY:  # the GC took the settings: the figure does not depend on this machine's CPU
        assert report["nursery"] == "4.0MB", report
    return report["growth_kib"]


def send_unterminated(sock, total):
    chunk = b"x" * MIB
    sent = 0
    try:
        while sent < total:
            sock.sendall(chunk)
            sent += len(chunk)
    except (BrokenPipeError, ConnectionResetError):
        pass
    sock.close()
    return sent


def pipeline(sock, total):
    """Send *total* bytes of lines, reading nothing until a send would block; return (sent, echoed) digests."""
    line = b"0123456789abcd\r\n"  # 16 bytes: many small replies, as a chatty protocol has
    data = memoryview(line * (total // len(line)))
    sent_digest, echo_digest = hashlib.sha256(data), hashlib.sha256()
    sock.setblocking(False)
    pos = echoed = 0
    stalled = False
    with selectors.DefaultSelector() as sel:
        sel.register(sock, selectors.EVENT_WRITE)
        while not stalled and pos < len(data):
            if not sel.select(timeout=1.0):
                stalled = True  # a second without room to send: the server stopped reading
            else:
                pos += sock.send(data[pos : pos + 256 * KIB])
        sel.modify(sock, selectors.EVENT_READ | selectors.EVENT_WRITE)
        while echoed < len(data):
            events = sel.select(timeout=30)
            assert events, "the server stopped answering"
            for _, mask in events:
                if mask & selectors.EVENT_WRITE and pos < len(data):
                    try:
                        pos += sock.send(data[pos : pos + 256 * KIB])
                    except BlockingIOError:
                        stalled = True
                if mask & selectors.EVENT_READ:
                    received = sock.recv(256 * KIB)
                    assert received, "the server closed early"
                    echo_digest.update(received)
                    echoed += len(received)
            if pos == len(data):
                sel.modify(sock, selectors.EVENT_READ)
    sock.close()
    return sent_digest.hexdigest(), echo_digest.hexdigest(), stalled


@pytest.fixture(params=["cython", "python"])
def engine_name(request):
    if request.param == "cython" and asynchat.IMPLEMENTATION != "cython":
        pytest.skip("compiled engine not in use here")
    return request.param


def test_a_message_limit_bounds_a_peer_that_never_sends_a_terminator(start, engine_name):
    proc, sock = start("unterminated", "protected")
    sent = send_unterminated(sock, 256 * MIB)
    grown = growth_kib(proc)
    print(
        f"\nunterminated, protected ({engine_name}): {sent // MIB} MiB sent before the close, "
        f"peak RSS +{grown / KIB:.1f} MiB"
    )
    assert sent < 256 * MIB  # the server closed the connection
    assert grown < 16 * KIB


def test_unprotected_the_whole_message_is_kept(start, engine_name):
    proc, sock = start("unterminated", "unprotected")
    sent = send_unterminated(sock, 256 * MIB)
    grown = growth_kib(proc)
    print(f"\nunterminated, unprotected ({engine_name}): peak RSS +{grown / KIB:.1f} MiB")
    assert sent == 256 * MIB and grown > 200 * KIB


def test_water_marks_bound_a_pipelining_peer_that_reads_late(start, engine_name):
    proc, sock = start("pipelined", "protected")
    sent, echoed, stalled = pipeline(sock, 32 * MIB)
    grown = growth_kib(proc)
    print(f"\npipelined, protected ({engine_name}): peak RSS +{grown / KIB:.1f} MiB")
    assert stalled and sent == echoed
    assert grown < 24 * KIB


def test_unprotected_every_reply_is_queued(start, engine_name):
    proc, sock = start("pipelined", "unprotected")
    sent, echoed, _ = pipeline(sock, 32 * MIB)
    grown = growth_kib(proc)
    print(f"\npipelined, unprotected ({engine_name}): peak RSS +{grown / KIB:.1f} MiB")
    assert sent == echoed and grown > 48 * KIB

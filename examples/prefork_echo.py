"""A line-echo server on every core: N workers, each running asynchat.loop() on one port.

    python examples/prefork_echo.py [--port 8007] [--workers N] [--reuseport] [--threads]

One Python process runs on one core.  To use them all, start one process per
core, each with its own event loop, and let the kernel share the connections
among them.  Two ways to share one port:

- by default the listening socket is made once, before fork(), and every
  worker inherits it and accepts from it (any Unix);
- with --reuseport every worker binds a socket of its own with SO_REUSEPORT,
  and the kernel spreads new connections evenly across them (Linux 3.9+, the
  BSDs).

With --threads the workers are threads of one process instead, each with a
socket map of its own: on a free-threaded Python (3.13t and later) they run
on as many cores; with the GIL they take turns on one.

The server prints "listening on HOST:PORT" once the workers run, and stops
them all on SIGINT or SIGTERM.  Workers share nothing but the port: state that
must be seen by every connection belongs in a database or another process.
"""

import argparse
import os
import signal
import socket
import sys
import threading
import traceback

import asynchat

asyncore = asynchat.asyncore  # the asyncore async_chat subclasses (stdlib or backport)


class LineEcho(asynchat.async_chat):
    """Echoes every line back, as the documentation writes a handler."""

    def __init__(self, sock, sock_map):
        asynchat.async_chat.__init__(self, sock, sock_map)
        self.parts = []
        self.set_terminator(b"\n")

    def collect_incoming_data(self, data):
        self.parts.append(data)

    def found_terminator(self):
        self.push(b"".join(self.parts) + b"\n")
        self.parts = []


class Acceptor(asyncore.dispatcher):
    """Wraps a listening socket; every worker's Acceptor may race for a connection, and one wins."""

    def __init__(self, sock, sock_map):
        asyncore.dispatcher.__init__(self, sock, sock_map)
        self.accepting = True  # the socket listens already

    def handle_accepted(self, sock, addr):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        LineEcho(sock, self._map)


def listening_socket(host, port, reuseport, listen=True):
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if reuseport:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    if listen:
        sock.listen(1024)
        sock.setblocking(False)
    return sock


class Stopper(asyncore.dispatcher):
    """One end of a socket pair in a thread's map: a byte on the other end closes everything in that map.

    The thread that runs the map closes its channels itself: a channel belongs to one thread.
    """

    def handle_read(self):
        self.recv(1)
        asyncore.close_all(self._map)

    def writable(self):
        return False


def worker(sock, ready, stop=None):
    sock_map = {}
    Acceptor(sock, sock_map)
    if stop is not None:
        Stopper(stop, sock_map)
    os.write(ready, b".")  # listening: the parent may announce the port
    if stop is None:
        os.close(ready)
    asynchat.loop(timeout=30.0, map=sock_map)


def run_threads(args, host, port, shared):
    """The workers as threads of this process; SIGINT or SIGTERM stops them.  Returns the exit status."""
    ready_r, ready_w = os.pipe()
    stops, threads = [], []
    for _ in range(args.workers):
        stop, stop_here = socket.socketpair()
        stops.append(stop_here)
        sock = listening_socket(host, port, True) if args.reuseport else shared.dup()
        threads.append(threading.Thread(target=worker, args=(sock, ready_w, stop)))
        threads[-1].start()
    shared.close()
    for _ in range(args.workers):
        os.read(ready_r, 1)
    os.close(ready_r)
    os.close(ready_w)

    def stop_all(signum, frame):
        for stop_here in stops:
            stop_here.send(b"!")

    signal.signal(signal.SIGTERM, stop_all)
    signal.signal(signal.SIGINT, stop_all)
    print(f"listening on {host}:{port} with {args.workers} worker thread(s)", flush=True)
    for thread in threads:
        while thread.is_alive():
            thread.join(timeout=1.0)  # a timed wait, so that the signal handlers run
    for stop_here in stops:
        stop_here.close()
    return 0


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8007, help="0 for any free port")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="processes (default: one per core)")
    parser.add_argument("--reuseport", action="store_true", help="a socket per worker, with SO_REUSEPORT")
    parser.add_argument("--threads", action="store_true", help="workers are threads of one process")
    args = parser.parse_args(argv)
    if args.workers < 1:
        parser.error("--workers must be at least 1")
    if args.reuseport and not hasattr(socket, "SO_REUSEPORT"):
        parser.error("this platform has no SO_REUSEPORT")

    # With --reuseport the parent only holds the port (bound, not listening) while workers bind it too.
    shared = listening_socket(args.host, args.port, args.reuseport, listen=not args.reuseport)
    host, port = shared.getsockname()[:2]
    if args.threads:
        return run_threads(args, host, port, shared)
    children = []
    ready_r, ready_w = os.pipe()
    for _ in range(args.workers):
        pid = os.fork()
        if pid == 0:
            code = 0
            try:
                os.close(ready_r)
                worker(listening_socket(host, port, True) if args.reuseport else shared, ready_w)
            except KeyboardInterrupt:
                pass
            except BaseException:
                traceback.print_exc()
                code = 1
            finally:
                os._exit(code)
        children.append(pid)
    shared.close()
    os.close(ready_w)
    started = 0
    while started < args.workers:
        byte = os.read(ready_r, 1)
        if not byte:
            break  # a worker died before listening; waitpid() below reports it
        started += 1
    os.close(ready_r)

    def stop(signum, frame):
        for pid in children:
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    print(f"listening on {host}:{port} with {args.workers} worker(s)", flush=True)
    status = 0
    for pid in children:
        _, code = os.waitpid(pid, 0)
        status = status or (os.waitstatus_to_exitcode(code) not in (0, -signal.SIGTERM))
    return status


if __name__ == "__main__":
    sys.exit(main())

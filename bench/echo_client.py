"""The load for the end-to-end benchmark: many connections, each with lines in flight.

    python echo_client.py PORT CONNECTIONS IN_FLIGHT LINES_PER_CONNECTION [IDLE [CAFILE]]

Opens IDLE connections that stay silent (0 by default), connects every other
socket (TCP_NODELAY) to 127.0.0.1:PORT, prints "ready", waits
for a line on stdin, then on each connection keeps IN_FLIGHT 16-byte lines
outstanding (topping up as echoes come back) until every line has come back,
and prints a JSON line {"lines": ..., "seconds": ...}; it exits when its
stdin closes.  It only counts
newlines, so it costs little per line: its own ceiling shows against a server
that echoes raw bytes.  With CAFILE, every connection speaks TLS (implicit,
server name "localhost"): the handshakes are done before "ready".
"""

import json
import selectors
import socket
import ssl
import sys
import time

LINE = b"0123456789abcde\n"


class Connection:
    def __init__(self, port, in_flight, total, context=None):
        self.sock = socket.create_connection(("127.0.0.1", port))
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock.setblocking(False)
        if context is not None:
            self.sock = context.wrap_socket(self.sock, server_hostname="localhost", do_handshake_on_connect=False)
        self.in_flight = in_flight
        self.unsent = total  # lines not yet written
        self.missing = total  # lines not yet echoed
        self.pending = b""  # written lines the socket has not taken yet

    def top_up(self):
        """Write lines until IN_FLIGHT are outstanding; True while bytes wait for the socket."""
        outstanding = self.missing - self.unsent
        if not self.pending and outstanding <= self.in_flight // 2 and self.unsent:
            n = min(self.in_flight - outstanding, self.unsent)
            self.unsent -= n
            self.pending = LINE * n
        if self.pending:
            try:
                sent = self.sock.send(self.pending)
            except (BlockingIOError, ssl.SSLWantReadError, ssl.SSLWantWriteError):
                sent = 0
            self.pending = self.pending[sent:]
        return bool(self.pending)

    def read(self):
        while True:
            try:
                data = self.sock.recv(1 << 18)
            except (BlockingIOError, ssl.SSLWantReadError, ssl.SSLWantWriteError):
                return
            if not data:
                raise ConnectionError("the server closed a connection early")
            self.missing -= data.count(b"\n")
            if not isinstance(self.sock, ssl.SSLSocket) or not self.sock.pending():
                return  # under TLS, decrypted bytes may wait that the socket will not announce


def handshake_all(conns, seconds=60):
    """Drive every TLS handshake to its end, without blocking on any one of them."""
    waiting = {conn.sock: conn for conn in conns}
    selector = selectors.DefaultSelector()
    deadline = time.monotonic() + seconds
    while waiting:
        if time.monotonic() > deadline:
            raise TimeoutError("TLS handshakes did not finish")
        for sock in list(waiting):
            try:
                sock.do_handshake()
            except ssl.SSLWantReadError:
                selector.register(sock, selectors.EVENT_READ)
            except ssl.SSLWantWriteError:
                selector.register(sock, selectors.EVENT_WRITE)
            else:
                del waiting[sock]
        selector.select(timeout=1)
        for key in list(selector.get_map().values()):
            selector.unregister(key.fileobj)
    selector.close()


def main(port, connections, in_flight, per_connection, idle=0, cafile=None):
    context = ssl.create_default_context(cafile=cafile) if cafile else None
    silent = [socket.create_connection(("127.0.0.1", port)) for _ in range(idle)]
    conns = [Connection(port, in_flight, per_connection, context) for _ in range(connections)]
    if context is not None:
        handshake_all(conns)
    selector = selectors.DefaultSelector()
    for conn in conns:
        selector.register(conn.sock, selectors.EVENT_READ, conn)
    print("ready", flush=True)
    sys.stdin.readline()
    start = time.perf_counter()
    for conn in conns:
        conn.top_up()
    left = len(conns)
    while left:
        for key, events in selector.select(timeout=10):
            conn = key.data
            if events & selectors.EVENT_READ:
                conn.read()
                if not conn.missing:
                    left -= 1
                    selector.unregister(conn.sock)
                    continue
            wants_write = conn.top_up()
            selector.modify(conn.sock, selectors.EVENT_READ | (selectors.EVENT_WRITE if wants_write else 0), conn)
    seconds = time.perf_counter() - start
    for conn in conns:
        conn.sock.close()
    print(json.dumps({"lines": connections * per_connection, "seconds": seconds}), flush=True)
    sys.stdin.read()  # the idle connections stay open until the server has stopped the clock
    for sock in silent:
        sock.close()


if __name__ == "__main__":
    main(*map(int, sys.argv[1:6]), *sys.argv[6:7])

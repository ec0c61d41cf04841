"""The load for the end-to-end benchmark: many connections, each with lines in flight.

    python echo_client.py PORT CONNECTIONS IN_FLIGHT LINES_PER_CONNECTION [IDLE]

Opens IDLE connections that stay silent (0 by default), connects every other
socket (TCP_NODELAY) to 127.0.0.1:PORT, prints "ready", waits
for a line on stdin, then on each connection keeps IN_FLIGHT 16-byte lines
outstanding (topping up as echoes come back) until every line has come back,
and prints a JSON line {"lines": ..., "seconds": ...}; it exits when its
stdin closes.  It only counts
newlines, so it costs little per line: its own ceiling shows against a server
that echoes raw bytes.
"""

import json
import selectors
import socket
import sys
import time

LINE = b"0123456789abcde\n"


class Connection:
    def __init__(self, port, in_flight, total):
        self.sock = socket.create_connection(("127.0.0.1", port))
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock.setblocking(False)
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
            except BlockingIOError:
                sent = 0
            self.pending = self.pending[sent:]
        return bool(self.pending)

    def read(self):
        try:
            data = self.sock.recv(1 << 18)
        except BlockingIOError:
            return
        if not data:
            raise ConnectionError("the server closed a connection early")
        self.missing -= data.count(b"\n")


def main(port, connections, in_flight, per_connection, idle=0):
    silent = [socket.create_connection(("127.0.0.1", port)) for _ in range(idle)]
    conns = [Connection(port, in_flight, per_connection) for _ in range(connections)]
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
    main(*map(int, sys.argv[1:6]))

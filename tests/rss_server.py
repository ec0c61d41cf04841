"""A one-connection server whose peak RSS growth the memory tests measure (run as a program).

    python rss_server.py {unterminated|pipelined} {protected|unprotected}

It prints the port it listens on (127.0.0.1), serves one connection until
the peer or the channel closes it, then prints how much its peak RSS grew
from just before it accepted, in KiB: Linux's VmHWM, reset at the start
through /proc/self/clear_refs so that the start-up's own peak does not hide it,
and on PyPy the nursery size its GC runs with.  The engine is the
package's default; ASYNCHAT_NO_EXTENSIONS=1 picks the pure-Python one.
"""

import gc
import json
import socket
import sys

import asynchat

asyncore = asynchat.asyncore

KIB = 1024
MIB = 1024 * KIB


class Collecting(asynchat.async_chat):
    """The documentation's handler: the list grows until the terminator comes."""

    def __init__(self, sock, sock_map):
        asynchat.async_chat.__init__(self, sock, sock_map)
        self.parts = []
        self.set_terminator(b"\r\n")

    def collect_incoming_data(self, data):
        self.parts.append(data)

    def found_terminator(self):
        self.push(b"%d\r\n" % len(b"".join(self.parts)))
        self.parts = []


class Echoing(Collecting):
    most_queued = 0  # the most output the channel held at once, in bytes

    def found_terminator(self):
        self.push(b"".join(self.parts) + b"\r\n")
        self.parts = []

    def handle_read(self):
        super().handle_read()
        Echoing.most_queued = max(Echoing.most_queued, self._framer.queued)


SERVERS = {
    "unterminated": (Collecting, {"ac_max_message_size": 64 * KIB}),
    "pipelined": (Echoing, {"ac_out_high_water": 1 * MIB, "ac_out_low_water": 256 * KIB}),
}


class OneShot(asyncore.dispatcher):
    def __init__(self, channel_class, sock_map):
        asyncore.dispatcher.__init__(self, map=sock_map)
        self.channel_class = channel_class
        self.create_socket(socket.AF_INET, socket.SOCK_STREAM)
        self.bind(("127.0.0.1", 0))
        self.listen(1)

    def handle_accepted(self, sock, addr):
        self.channel_class(sock, self._map)
        self.close()  # one connection: the loop ends when it does


def _status_kib(field):
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"no {field} in /proc/self/status")


def main(kind, protection):
    base, settings = SERVERS[kind]
    channel_class = type(base.__name__, (base,), settings if protection == "protected" else {})
    sock_map = {}
    server = OneShot(channel_class, sock_map)
    print(server.socket.getsockname()[1], flush=True)
    with open("/proc/self/clear_refs", "w") as clear_refs:
        clear_refs.write("5")  # the peak RSS starts again from the current RSS
    before = _status_kib("VmRSS")
    asyncore.loop(timeout=1.0, use_poll=True, map=sock_map)
    report = {"growth_kib": _status_kib("VmHWM") - before, "most_queued": Echoing.most_queued, "nursery": None}
    if sys.implementation.name == "pypy":
        stats = gc.get_stats()
        report.update(nursery=stats.nursery_size, gc_peak=stats.peak_memory)
    print(json.dumps(report), flush=True)


if __name__ == "__main__":
    main(*sys.argv[1:])

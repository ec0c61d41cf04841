"""An async_chat server and asyncio code in one program, on one event loop.

    python examples/asyncio_together.py [--port 8007] [--stats-port 8008] [--uvloop]

The line-echo server is the documentation's, unchanged: an asyncore
dispatcher that accepts, and an async_chat handler per connection.  Beside it,
an asyncio server answers every connection with the echo server's counts and
closes, the kind of admin or metrics endpoint an application adds.
``asynchat.serve_asyncio()`` runs the socket map on the running event loop
(uvloop's with --uvloop).  The program prints "echo on HOST:PORT, stats on
HOST:PORT" once both listen, and stops on SIGINT or SIGTERM: cancelling
serve_asyncio() closes every channel of the map.
"""

import argparse
import asyncio
import signal
import socket

import asynchat

asyncore = asynchat.asyncore  # the asyncore async_chat subclasses (stdlib or backport)

counts = {"connections": 0, "lines": 0}


class EchoHandler(asynchat.async_chat):
    def __init__(self, sock):
        asynchat.async_chat.__init__(self, sock)
        self.parts = []
        self.set_terminator(b"\n")

    def collect_incoming_data(self, data):
        self.parts.append(data)

    def found_terminator(self):
        counts["lines"] += 1
        self.push(b"".join(self.parts) + b"\n")
        self.parts = []


class EchoServer(asyncore.dispatcher):
    def __init__(self, host, port):
        asyncore.dispatcher.__init__(self)
        self.create_socket(socket.AF_INET, socket.SOCK_STREAM)
        self.set_reuse_addr()
        self.bind((host, port))
        self.listen(128)

    def handle_accepted(self, sock, addr):
        counts["connections"] += 1
        EchoHandler(sock)


async def stats(reader, writer):
    writer.write(f"connections {counts['connections']} lines {counts['lines']}\n".encode())
    await writer.drain()
    writer.close()


async def main(host, port, stats_port):
    echo = EchoServer(host, port)
    stats_server = await asyncio.start_server(stats, host, stats_port)
    serving = asyncio.ensure_future(asynchat.serve_asyncio())  # asyncore.socket_map, on this loop
    for signum in (signal.SIGINT, signal.SIGTERM):
        asyncio.get_running_loop().add_signal_handler(signum, serving.cancel)
    echo_host, echo_port = echo.socket.getsockname()[:2]
    stats_host, stats_port = stats_server.sockets[0].getsockname()[:2]
    print(f"echo on {echo_host}:{echo_port}, stats on {stats_host}:{stats_port}", flush=True)
    try:
        await serving
    except asyncio.CancelledError:
        pass  # stopped by a signal: the map's channels are closed
    finally:
        stats_server.close()
        await stats_server.wait_closed()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8007)
    parser.add_argument("--stats-port", type=int, default=8008)
    parser.add_argument("--uvloop", action="store_true", help="run on uvloop's event loop (pip install uvloop)")
    args = parser.parse_args()
    if args.uvloop:
        import uvloop

        uvloop.run(main(args.host, args.port, args.stats_port))
    else:
        asyncio.run(main(args.host, args.port, args.stats_port))

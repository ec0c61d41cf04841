"""examples/prefork_echo.py, the recipe in docs/loop.md for every core: it serves, in every mode, and stops."""

import os
import signal
import socket
import subprocess
import sys

import prefork_server
import pytest

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="the example forks its workers")


@pytest.fixture
def start_example():
    """prefork_server.start(), every server it started stopped afterwards, with its workers."""
    servers = []

    def start(*args, env=None):
        server, port, banner = prefork_server.start(*args, env=env)
        servers.append(server)
        return server, port, banner

    yield start
    for server in servers:
        prefork_server.stop(server)


@pytest.mark.parametrize(
    "mode",
    [[], ["--reuseport"], ["--threads"], ["--threads", "--reuseport"]],
    ids=["inherited socket", "SO_REUSEPORT", "threads", "threads, SO_REUSEPORT"],
)
def test_workers_serve_one_port_and_stop_on_sigterm(mode, engine, start_example):
    env = dict(os.environ)
    if engine.__name__.endswith("_fallback"):
        env["ASYNCHAT_NO_EXTENSIONS"] = "1"
    server, port, banner = start_example("--workers", "2", *mode, env=env)
    assert banner.split(" with ")[1].startswith("2 worker"), banner
    clients = [socket.create_connection(("127.0.0.1", port), timeout=10) for _ in range(40)]
    try:
        for i, client in enumerate(clients):
            client.sendall(b"line %d\nand %d\n" % (i, i))
        for i, client in enumerate(clients):
            expected = b"line %d\nand %d\n" % (i, i)
            received = b""
            while len(received) < len(expected):
                received += client.recv(100)
            assert received == expected
    finally:
        for client in clients:
            client.close()
    server.send_signal(signal.SIGTERM)
    assert server.wait(timeout=20) == 0, server.stderr.read().decode()


def test_bad_worker_count_is_refused():
    result = subprocess.run(
        [sys.executable, prefork_server.EXAMPLE, "--workers", "0"], capture_output=True, text=True, timeout=30
    )
    assert result.returncode == 2 and "--workers must be at least 1" in result.stderr

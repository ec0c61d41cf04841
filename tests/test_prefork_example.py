"""examples/prefork_echo.py, the README's recipe for every core: it serves, in both modes, and stops."""

import os
import signal
import socket
import subprocess
import sys

import pytest

EXAMPLE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "examples", "prefork_echo.py")

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="the example forks its workers")


@pytest.mark.parametrize("mode", [[], ["--reuseport"]], ids=["inherited socket", "SO_REUSEPORT"])
def test_workers_serve_one_port_and_stop_on_sigterm(mode, engine):
    env = dict(os.environ)
    if engine.__name__.endswith("_fallback"):
        env["ASYNCHAT_NO_EXTENSIONS"] = "1"
    server = subprocess.Popen([sys.executable, EXAMPLE, "--port", "0", "--workers", "2", *mode],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    try:
        banner = server.stdout.readline().decode()
        assert banner.startswith("listening on 127.0.0.1:") and "2 worker(s)" in banner, banner
        port = int(banner.split()[2].rsplit(":", 1)[1])
        clients = [socket.create_connection(("127.0.0.1", port), timeout=10) for _ in range(40)]
        for i, client in enumerate(clients):
            client.sendall(b"line %d\nand %d\n" % (i, i))
        for i, client in enumerate(clients):
            expected = b"line %d\nand %d\n" % (i, i)
            received = b""
            while len(received) < len(expected):
                received += client.recv(100)
            assert received == expected
            client.close()
        server.send_signal(signal.SIGTERM)
        assert server.wait(timeout=20) == 0, server.stderr.read().decode()
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
        server.stdout.close()
        server.stderr.close()


def test_bad_worker_count_is_refused():
    result = subprocess.run([sys.executable, EXAMPLE, "--workers", "0"], capture_output=True, text=True, timeout=30)
    assert result.returncode == 2 and "--workers must be at least 1" in result.stderr

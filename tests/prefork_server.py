"""examples/prefork_echo.py run as a server for tests and benchmarks, and stopped with all its workers."""

import os
import signal
import subprocess
import sys

EXAMPLE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "examples", "prefork_echo.py")


def start(*args, env=None):
    """Start the example with *args*; return the process and the port it announced.

    It runs in a session of its own, so that stop() can reach its workers even
    if the parent died.
    """
    server = subprocess.Popen(
        [sys.executable, EXAMPLE, "--port", "0", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        start_new_session=True,
    )
    banner = server.stdout.readline().decode()
    if not banner.startswith("listening on 127.0.0.1:"):
        stop(server)
        raise RuntimeError(f"the example server did not start: {banner!r} {server.stderr.read()!r}")
    return server, int(banner.split()[2].rsplit(":", 1)[1]), banner


def stop(server, timeout=20):
    """SIGTERM, as a user stops it; whatever of its process group is left after *timeout* s is killed.

    Returns the parent's exit code (None if it had to be killed).  Safe to call again.
    """
    code = None
    if server.returncode is None:
        server.send_signal(signal.SIGTERM)
        try:
            code = server.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            pass
    try:
        os.killpg(server.pid, signal.SIGKILL)  # workers the parent did not take down
    except (ProcessLookupError, PermissionError):
        pass
    server.wait()
    server.stdout.close()
    server.stderr.close()
    return code

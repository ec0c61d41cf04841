"""A pytest plugin: the run fails if a process that the tests or benchmarks started outlives them.

At the start of the session it puts a token of its own in ``os.environ``, so
every process started from then on inherits it, children of children too,
even once their parent died and they were handed to init.  At the end it
looks for that token in ``/proc/*/environ``: whatever still carries it is
killed and named, and the session fails.  Linux only (elsewhere it does
nothing).  ``tests/conftest.py`` and ``bench/conftest.py`` both register it,
once.
"""

import os
import signal
import time
import uuid

import pytest

NAME = "asynchat-leftover-processes"
VARIABLE = "ASYNCHAT_TEST_SESSION"
GRACE_SECONDS = 5.0  # for processes that were told to stop and are still on their way out


def register(config):
    if not config.pluginmanager.has_plugin(NAME):
        config.pluginmanager.register(_Guard(), NAME)


def _carrying(token):
    """Pids of the live processes, other than this one, whose environment holds *token*."""
    needle = f"{VARIABLE}={token}".encode()
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            with open(f"/proc/{entry}/environ", "rb") as f:
                if needle in f.read().split(b"\0"):
                    pids.append(int(entry))
        except OSError:  # gone meanwhile, a zombie, or not ours to read
            pass
    return pids


def _command_line(pid):
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        return "?"


class _Guard:
    def __init__(self):
        self.token = None

    def pytest_sessionstart(self, session):
        if os.path.isdir("/proc/self"):
            self.token = uuid.uuid4().hex
            os.environ[VARIABLE] = self.token

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session):
        if self.token is None:
            return
        deadline = time.monotonic() + GRACE_SECONDS
        while (left := _carrying(self.token)) and time.monotonic() < deadline:
            time.sleep(0.1)
        if not left:
            return
        lines = [f"  pid {pid}: {_command_line(pid)}" for pid in left]
        for pid in left:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        message = f"{len(left)} process(es) started by this run outlived it (now killed):\n" + "\n".join(lines)
        if reporter is not None:
            reporter.ensure_newline()
            reporter.write_line(message, red=True, bold=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED

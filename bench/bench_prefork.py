"""Every core: examples/prefork_echo.py with one worker process and with two.

The load is pipelined-echo (see e2e.py): 50 connections from echo_client.py,
each keeping 300 lines in flight.  The client runs on the same machine, so on
a 2-core box it takes one of the cores the workers would use.
"""

import os
import signal
import subprocess
import sys

import pytest

import e2e

EXAMPLE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "examples", "prefork_echo.py")


class PreforkRound:
    def __init__(self, load, workers, reuseport):
        self.load = load
        self.args = [sys.executable, EXAMPLE, "--port", "0", "--workers", str(workers)]
        self.args += ["--reuseport"] if reuseport else []

    def start(self):
        self.server = subprocess.Popen(self.args, stdout=subprocess.PIPE)
        banner = self.server.stdout.readline().decode()
        if not banner.startswith("listening on "):
            raise RuntimeError(f"the example server did not start: {banner!r}")
        port = int(banner.split()[2].rsplit(":", 1)[1])
        self.client = e2e.start_client(port, self.load)
        return (), {}

    def run(self):
        self.client.stdin.write(b"go\n")
        self.client.stdin.flush()
        return e2e.lines_reported(self.client.stdout.readline(), self.load)

    def stop(self):
        self.client.stdin.close()
        self.client.wait(timeout=60)
        self.server.send_signal(signal.SIGTERM)
        assert self.server.wait(timeout=60) == 0


@pytest.mark.skipif(not hasattr(os, "fork"), reason="the example forks its workers")
@pytest.mark.parametrize("reuseport", [False, True], ids=["inherited socket", "SO_REUSEPORT"])
@pytest.mark.parametrize("workers", [1, 2])
def test_prefork_line_echo(benchmark, workers, reuseport):
    load = e2e.PIPELINED
    mode = "SO_REUSEPORT" if reuseport else "inherited socket"
    workload = f"{load.workload}, prefork example, {mode}"
    benchmark.group = f"prefork: {workload}"
    benchmark.extra_info.update(workload=workload, implementation=f"{workers}-process", unit="line",
                                count=load.total, baseline="1-process")
    round_ = PreforkRound(load, workers, reuseport)
    lines = benchmark.pedantic(round_.run, setup=round_.start, teardown=round_.stop, rounds=3, iterations=1)
    assert lines == load.total

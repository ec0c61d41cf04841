"""Every core: examples/prefork_echo.py with one worker and with two, processes or threads.

Threads scale only where the GIL is off (a free-threaded build); with it they
show what a GIL costs against processes.

The load is pipelined-echo (see e2e.py): 50 connections from echo_client.py,
each keeping 300 lines in flight.  The client runs on the same machine, so on
a 2-core box it takes one of the cores the workers would use.
"""

import os

import e2e
import prefork_server
import pytest


class PreforkRound:
    def __init__(self, load, workers, reuseport, threads=False):
        self.load = load
        self.args = ["--workers", str(workers)] + (["--reuseport"] if reuseport else [])
        self.args += ["--threads"] if threads else []
        self.server = self.client = None

    def start(self):
        self.server, port, _ = prefork_server.start(*self.args)
        self.client = e2e.start_client(port, self.load)
        return (), {}

    def run(self):
        self.client.stdin.write(b"go\n")
        self.client.stdin.flush()
        return e2e.lines_reported(self.client.stdout.readline(), self.load)

    def stop(self):
        e2e.end_client(self.client)
        if self.server is not None:
            server, self.server = self.server, None
            assert prefork_server.stop(server) == 0


@pytest.mark.skipif(not hasattr(os, "fork"), reason="the example forks its workers")
@pytest.mark.parametrize("kind", ["process", "thread"])
@pytest.mark.parametrize("reuseport", [False, True], ids=["inherited socket", "SO_REUSEPORT"])
@pytest.mark.parametrize("workers", [1, 2])
def test_prefork_line_echo(benchmark, workers, reuseport, kind):
    load = e2e.PIPELINED
    mode = "SO_REUSEPORT" if reuseport else "inherited socket"
    workload = f"{load.workload}, prefork example, {mode}"
    benchmark.group = f"prefork: {workload}"
    benchmark.extra_info.update(
        workload=workload, implementation=f"{workers}-{kind}", unit="line", count=load.total, baseline="1-process"
    )
    lines = e2e.measure(benchmark, PreforkRound(load, workers, reuseport, threads=kind == "thread"))
    assert lines == load.total

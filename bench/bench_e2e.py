"""End-to-end line echo over loopback, pipelined and request/response (see e2e.py)."""

import pytest

import e2e
import implementations

SERVERS = implementations.available() + ["asyncio-protocol", "asyncio-streams", "raw-echo"]
LOADS = [e2e.PIPELINED, e2e.REQUEST_RESPONSE]


@pytest.mark.parametrize("implementation", SERVERS)
@pytest.mark.parametrize("load", LOADS, ids=[load.workload for load in LOADS])
def test_line_echo(benchmark, load, implementation):
    benchmark.group = f"end-to-end {load.workload}"
    benchmark.extra_info.update(
        workload=load.workload, implementation=implementation, unit="line", count=load.total,
    )
    with implementations.engine_for(implementation if implementation in implementations.available() else "python"):
        round_ = e2e.make_round(load, implementation)
        lines = benchmark.pedantic(round_.run, setup=round_.start, rounds=3, iterations=1)
    assert lines == load.total

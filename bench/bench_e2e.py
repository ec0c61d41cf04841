"""End-to-end pipelined line echo over loopback (see e2e.py)."""

import pytest

import e2e
import implementations

SERVERS = implementations.available() + ["asyncio-protocol", "asyncio-streams", "raw-echo"]


@pytest.mark.parametrize("implementation", SERVERS)
def test_pipelined_echo(benchmark, implementation):
    benchmark.group = "end-to-end pipelined echo"
    benchmark.extra_info.update(
        workload="pipelined-echo", implementation=implementation, unit="line", count=e2e.TOTAL_LINES,
    )
    with implementations.engine_for(implementation if implementation in implementations.available() else "python"):
        round_ = e2e.make_round(implementation)
        lines = benchmark.pedantic(round_.run, setup=round_.start, rounds=3, iterations=1)
    assert lines == e2e.TOTAL_LINES

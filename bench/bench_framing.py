"""Framing throughput: how fast handle_read() turns recv() results into callbacks.

Besides the implementations, "floor" is the same callbacks with the messages
cut by bytes.split and no framing logic: the best any engine could do.
"""

import pytest

import implementations
from workloads import floor, frame, framing_channel, framing_workloads

WORKLOADS = framing_workloads()


@pytest.mark.parametrize("workload", WORKLOADS, ids=[w.name for w in WORKLOADS])
@pytest.mark.parametrize("implementation", implementations.available() + ["floor"])
def test_framing(benchmark, implementation, workload):
    name = "python" if implementation == "floor" else implementation
    with implementations.engine_for(name):
        cls = framing_channel(implementations.base_class(name), workload)
        run = floor if implementation == "floor" else frame
        count = run(cls, workload)  # warm-up, and the count every round must reproduce
        benchmark.group = f"framing {workload.name}"
        benchmark.extra_info.update(
            workload=workload.name, implementation=implementation, unit=workload.unit,
            count=count if workload.unit == "msg" else workload.size,
        )
        assert benchmark.pedantic(run, args=(cls, workload), rounds=5, iterations=1) == count

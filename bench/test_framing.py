"""Framing throughput: how fast handle_read() turns recv() results into callbacks."""

import pytest

from workloads import frame, framing_channel, framing_workloads

WORKLOADS = framing_workloads()


@pytest.mark.parametrize("workload", WORKLOADS, ids=[w.name for w in WORKLOADS])
def test_framing(benchmark, base, implementation, workload):
    cls = framing_channel(base)
    expected = frame(cls, workload)  # warm-up, and the count every round must reproduce
    benchmark.group = f"framing {workload.name}"
    benchmark.extra_info.update(
        workload=workload.name, implementation=implementation, unit=workload.unit,
        count=expected if workload.unit == "msg" else workload.size,
    )
    messages = benchmark.pedantic(frame, args=(cls, workload), rounds=5, iterations=1)
    assert messages == expected

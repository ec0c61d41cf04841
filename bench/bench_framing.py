"""Framing throughput: how fast handle_read() turns recv() results into callbacks.

Besides the async_chat implementations: "floor", the same callbacks with the
messages cut by bytes.split and no framing logic (the best any engine could
do), and the same workloads written for asyncio (see asyncio_framing.py).
"""

import pytest

import asyncio_framing
import implementations
from workloads import floor, frame, framing_channel, framing_workloads

WORKLOADS = framing_workloads()
ASYNCIO = {"asyncio-protocol": asyncio_framing.protocol, "asyncio-streams": asyncio_framing.streams}


@pytest.mark.parametrize("workload", WORKLOADS, ids=[w.name for w in WORKLOADS])
@pytest.mark.parametrize("implementation", implementations.available() + ["floor"] + list(ASYNCIO))
def test_framing(benchmark, implementation, workload):
    benchmark.group = f"framing {workload.name}"
    count = workload.size
    if workload.unit == "msg":
        count = frame(framing_channel(implementations.base_class("python"), workload), workload)
    benchmark.extra_info.update(workload=workload.name, implementation=implementation,
                                unit=workload.unit, count=count)
    if implementation in ASYNCIO:
        run, args = ASYNCIO[implementation], (workload,)
    else:
        name = "python" if implementation == "floor" else implementation
        run = floor if implementation == "floor" else frame
        args = (framing_channel(implementations.base_class(name), workload), workload)
    with implementations.engine_for("python" if implementation not in implementations.available() else implementation):
        expected = run(*args)  # warm-up; every round must frame the same
        if workload.unit == "msg" and implementation != "floor":
            assert expected == count
        assert benchmark.pedantic(run, args=args, rounds=5, iterations=1) == expected

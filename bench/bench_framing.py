"""Framing throughput: how fast handle_read() turns recv() results into callbacks.

Each workload runs with a documentation-style handler (the headline row) and
with the base class's plumbing (see framing_workloads.py).  Besides the async_chat
implementations: "floor", the same callbacks with the messages cut by
bytes.split and no framing logic (the best any engine could do), and, on the
headline rows, the same workloads written for asyncio (see asyncio_framing.py).
"""

import asyncio_framing
import implementations
import pytest
from framing_workloads import HANDLERS, floor, frame, framing_channel, framing_workloads, row_name

ASYNCIO = {"asyncio-protocol": asyncio_framing.protocol, "asyncio-streams": asyncio_framing.streams}
# asyncio has no handler styles: measured once, on the headline row.  A streamed
# message has no plumbing variant.
CASES = [
    (workload, handler, implementation)
    for workload in framing_workloads()
    for handler in HANDLERS
    if handler == "documented" or not workload.stream
    for implementation in implementations.available() + ["floor"] + (list(ASYNCIO) if handler == "documented" else [])
]


@pytest.mark.parametrize(
    "workload,handler,implementation", CASES, ids=[f"{row_name(w.name, h)}-{i}" for w, h, i in CASES]
)
def test_framing(benchmark, implementation, workload, handler):
    row = row_name(workload.name, handler)
    benchmark.group = f"framing {row}"
    count = workload.size
    if workload.unit == "msg":
        count = frame(framing_channel(implementations.base_class("python"), workload, handler), workload)
    benchmark.extra_info.update(workload=row, implementation=implementation, unit=workload.unit, count=count)
    if implementation in ASYNCIO:
        run, args = ASYNCIO[implementation], (workload,)
    else:
        name = "python" if implementation == "floor" else implementation
        run = floor if implementation == "floor" else frame
        args = (framing_channel(implementations.base_class(name), workload, handler), workload)
    with implementations.engine_for(implementation if implementation in implementations.available() else "python"):
        expected = run(*args)  # warm-up; every round must frame the same
        if workload.unit == "msg" and implementation != "floor":
            assert expected == count
        assert benchmark.pedantic(run, args=args, rounds=5, iterations=1) == expected

"""End-to-end line echo over loopback, pipelined and request/response (see e2e.py).

async_chat servers run with the documentation-style handler (the headline
rows) and with the base class's plumbing (a second row per load).
"""

import e2e
import implementations
import peers
import pytest
from framing_workloads import row_name

LOADS = [e2e.PIPELINED, e2e.REQUEST_RESPONSE]
OTHERS = ["asyncio-protocol"] + peers.available() + ["asyncio-streams", "raw-echo"]
# The other servers are not async_chat handlers: one row per load for them.
CASES = [
    (load, handler, implementation)
    for load in LOADS
    for handler in ("documented", "plumbing")
    for implementation in implementations.available() + (OTHERS if handler == "documented" else [])
]
# Over TLS: the headline handler, against the asyncio Protocol with ssl= (and on uvloop).
CASES += [
    (e2e.TLS_PIPELINED, "documented", implementation)
    for implementation in implementations.available()
    + ["asyncio-protocol"]
    + (["uvloop-protocol"] if "uvloop-protocol" in peers.available() else [])
]


@pytest.mark.parametrize(
    "load,handler,implementation", CASES, ids=[f"{row_name(load.workload, h)}-{i}" for load, h, i in CASES]
)
def test_line_echo(benchmark, load, handler, implementation):
    row = row_name(load.workload, handler)
    benchmark.group = f"end-to-end {row}"
    benchmark.extra_info.update(workload=row, implementation=implementation, unit="line", count=load.total)
    with implementations.engine_for(implementation if implementation in implementations.available() else "python"):
        round_ = e2e.make_round(load, implementation, handler)
        lines = e2e.measure(benchmark, round_)
    assert lines == load.total

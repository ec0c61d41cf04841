"""The same async_chat channels under every driver: asynchat.loop(), the map on asyncio, the Protocol.

The documentation-style line echo on the compiled engine (where built), under
asynchat.loop() (the baseline), asynchat.serve_asyncio() on asyncio's loop and
on uvloop's, and as asynchat.ChatProtocol on both; beside them the
hand-written asyncio Protocol of e2e.py, the ceiling of what asyncio itself
costs.  Pipelined and request/response loads, as in bench_e2e.py.
"""

import e2e
import implementations
import peers
import pytest

LOADS = [e2e.PIPELINED, e2e.REQUEST_RESPONSE]
UVLOOP = "uvloop-protocol" in peers.available()
DRIVERS = ["asynchat-loop", "asyncio-map", "asyncio-chat-protocol", "asyncio-protocol"]
if UVLOOP:
    DRIVERS += ["uvloop-map", "uvloop-chat-protocol", "uvloop-protocol"]
CASES = [(load, driver) for load in LOADS for driver in DRIVERS]


@pytest.mark.parametrize("load,driver", CASES, ids=[f"{load.workload}-{driver}" for load, driver in CASES])
def test_line_echo_by_driver(benchmark, load, driver):
    workload = f"{load.workload}, by driver"
    benchmark.group = f"drivers: {workload}"
    benchmark.extra_info.update(
        workload=workload, implementation=driver, unit="line", count=load.total, baseline="asynchat-loop"
    )
    with implementations.engine_for(implementations.available()[0]):  # compiled where built
        round_ = e2e.make_round(load, driver)
        lines = e2e.measure(benchmark, round_)
    assert lines == load.total

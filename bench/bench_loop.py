"""The event loop beside idle connections: asyncore.loop(use_poll=True), asynchat.loop(), serve_asyncio().

Ten connections each keep 256 lines in flight through the documentation-style
line echo (compiled engine where built), while 0, 1,000 or 10,000 more
connections stay open and silent.  asyncore.loop() asks every channel and
builds a new poll set on every iteration, so idle connections slow it down;
asynchat.loop() keeps its registrations and should not notice them, nor should
asynchat.serve_asyncio(), which keeps them in the asyncio loop.
"""

import functools
import resource

import e2e
import implementations
import pytest
from scale import scaled

import asynchat

asyncore = asynchat.asyncore
IDLE = [0, scaled(1_000), scaled(10_000)]
LOOPS = {
    "asyncore-poll": functools.partial(asyncore.loop, use_poll=True),
    "asynchat-loop": asynchat.loop,
    "asyncio-map": None,  # asynchat.serve_asyncio() on asyncio's loop (e2e.AsyncioMapRound)
}


def enough_descriptors(needed):
    """Raise this process's descriptor limit to *needed* (the client inherits it), or skip."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < needed:
        if hard != resource.RLIM_INFINITY and hard < needed:
            pytest.skip(f"{needed} descriptors needed; RLIMIT_NOFILE's hard limit is {hard}")
        resource.setrlimit(resource.RLIMIT_NOFILE, (needed, hard))


@pytest.mark.parametrize("loop_name", list(LOOPS))
@pytest.mark.parametrize("idle", IDLE)
def test_pipelining_beside_idle_connections(benchmark, idle, loop_name):
    load = e2e.Load(
        f"pipelined-echo, 10 connections beside {idle:,} idle",
        in_flight=256,
        per_connection=scaled(50_000, minimum=300),
        connections=10,
        idle=idle,
    )
    enough_descriptors(load.connections + load.idle + 200)
    benchmark.group = f"event loop: {load.workload}"
    benchmark.extra_info.update(
        workload=load.workload,
        implementation=loop_name,
        unit="line",
        count=load.total,
        baseline="asyncore-poll",
        idle=idle,
    )
    engine = implementations.available()[0]  # the compiled engine where it is built
    with implementations.engine_for(engine):
        channel_class = e2e.line_echo_class(asynchat.async_chat, "documented")
        if loop_name == "asyncio-map":
            round_ = e2e.AsyncioMapRound(load, channel_class)
        else:
            round_ = e2e.AsyncoreRound(load, asyncore, channel_class, run_loop=LOOPS[loop_name])
        lines = e2e.measure(benchmark, round_)
    assert lines == load.total

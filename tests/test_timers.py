"""asynchat.call_later(): order, cancel, errors, timers that make timers, under every loop that runs a map."""

import asyncio
import random
import socket
import time

import pytest
from loopback import asyncore, close_all, new_event_loop, run_until

import asynchat


def test_timers_run_in_order_of_time_then_of_making(run_loop, sock_map):
    ran = []
    for name, delay in [("c", 0.06), ("a", 0.02), ("b", 0.04), ("a2", 0.02), ("now", 0)]:
        asynchat.call_later(delay, ran.append, name, map=sock_map)
    run_until(sock_map, lambda: len(ran) == 5, run_loop)
    assert ran == ["now", "a", "a2", "b", "c"]
    run_until(sock_map, lambda: not sock_map, run_loop)  # no timer left: the map is empty again


def test_a_cancelled_timer_never_runs(run_loop, sock_map):
    ran = []
    cancelled = asynchat.call_later(0.01, ran.append, "cancelled", map=sock_map)
    asynchat.call_later(0.03, ran.append, "kept", map=sock_map)
    cancelled.cancel()
    cancelled.cancel()  # again: nothing
    run_until(sock_map, lambda: ran, run_loop)
    assert ran == ["kept"] and cancelled.cancelled()


def test_a_callback_that_raises_is_logged_and_the_loop_goes_on(run_loop, sock_map, capsys):
    ran = []

    def fails():
        raise ValueError("boom")

    asynchat.call_later(0, fails, map=sock_map)
    asynchat.call_later(0.02, ran.append, "after", map=sock_map)
    run_until(sock_map, lambda: ran, run_loop)
    assert ran == ["after"]
    out = capsys.readouterr().out
    assert "error: a timer's callback" in out and "ValueError: boom" in out


def test_a_callback_that_makes_a_timer(run_loop, sock_map):
    ran = []

    def again(n):
        ran.append(n)
        if n < 3:
            asynchat.call_later(0, again, n + 1, map=sock_map)

    asynchat.call_later(0, again, 0, map=sock_map)
    run_until(sock_map, lambda: len(ran) == 4, run_loop)
    assert ran == [0, 1, 2, 3]


def test_a_timer_can_close_channels_while_the_loop_runs(engine, run_loop, sock_map):
    """Timers run where handlers run, so closing a channel from one is as safe as from a handler."""
    left, right = socket.socketpair()
    try:
        chan = asynchat.async_chat(left, sock_map)
        asynchat.call_later(0.01, chan.close, map=sock_map)
        run_until(sock_map, lambda: not sock_map, run_loop)
        assert not chan.connected
    finally:
        right.close()


def test_ten_thousand_timers_run_in_order_and_cancelled_ones_are_dropped(sock_map):
    rng = random.Random(7)
    ran = []
    handles = [asynchat.call_later(rng.uniform(0, 0.2), ran.append, i, map=sock_map) for i in range(10_000)]
    kept = [i for i in range(10_000) if i % 5 >= 3]
    for i in range(10_000):
        if i % 5 < 3:
            handles[i].cancel()
    timers = asynchat._timers.timers_of(sock_map)
    assert len(timers.heap) < 10_000 * 3 // 4  # most cancelled: compacted, not kept
    deadline = time.monotonic() + 20
    while sock_map and time.monotonic() < deadline:
        asynchat.loop(timeout=0.05, map=sock_map, count=1)
    assert sorted(ran) == kept
    assert ran == sorted(ran, key=lambda i: (handles[i].when, i))


def test_asynchat_loop_waits_no_longer_than_the_next_timer(sock_map):
    left, right = socket.socketpair()
    try:
        chan = asyncore.dispatcher(left, sock_map)
        chan.writable = lambda: False
        asynchat.call_later(0.05, chan.close, map=sock_map)
        started = time.monotonic()
        asynchat.loop(timeout=30, map=sock_map)  # returns once the timer closed the last channel
        assert time.monotonic() - started < 10
    finally:
        right.close()


def test_under_asyncore_loop_timers_run_at_the_pass_after_they_are_due(sock_map):
    """asyncore.loop() knows no timers: a due timer is seen when the loop asks its channels, once a pass."""
    ran = []
    asynchat.call_later(0.05, lambda: ran.append(time.monotonic()), map=sock_map)
    started = time.monotonic()
    asyncore.loop(timeout=0.3, map=sock_map)  # the timer keeps the map from being empty until it ran
    elapsed = ran[0] - started
    assert 0.05 <= elapsed and sock_map == {}


@pytest.mark.parametrize("event_loop_name", ["asyncio", "uvloop"])
def test_serve_asyncio_wakes_for_a_timer_made_from_a_coroutine(event_loop_name, sock_map):
    loop = new_event_loop(event_loop_name)
    left, right = socket.socketpair()

    async def scenario():
        chan = asyncore.dispatcher(left, sock_map)
        chan.writable = lambda: False
        serving = asyncio.ensure_future(asynchat.serve_asyncio(sock_map, interval=30))
        await asyncio.sleep(0.01)
        fired = []

        def finish():
            fired.append(time.monotonic())
            chan.close()  # the map is empty: serving ends

        made = time.monotonic()
        asynchat.call_later(0.05, finish, map=sock_map)
        await asyncio.wait_for(serving, 10)  # long before the 30 s pass
        return fired[0] - made

    try:
        assert 0.05 <= loop.run_until_complete(scenario()) < 10
    finally:
        right.close()
        loop.close()


def test_close_all_of_the_map_cancels_its_timers(sock_map):
    ran = []
    handle = asynchat.call_later(0, ran.append, "never", map=sock_map)
    close_all(sock_map)
    asynchat.loop(timeout=0.01, map=sock_map, count=3)
    assert ran == [] and handle.cancelled() and sock_map == {}


@pytest.mark.parametrize(
    "delay,callback,error",
    [(-1, print, ValueError), (float("nan"), print, ValueError), ("1", print, ValueError), (1, None, TypeError)],
)
def test_bad_arguments_are_refused(delay, callback, error, sock_map):
    with pytest.raises(error):
        asynchat.call_later(delay, callback, map=sock_map)
    assert sock_map == {}

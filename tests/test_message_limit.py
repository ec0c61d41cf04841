"""ac_max_message_size: what one message may hand to collect_incoming_data(), on both engines.

The expected trace is the reference's own trace for the same input, with the
limit applied to it by `apply_limit` (the rule written out plainly): within a
message, the bytes that fit are collected, handle_message_too_large() is
called once, and the rest of the message never reaches collect_incoming_data();
found_terminator() still ends it.
"""

import pytest
from hypothesis import given
from hypothesis import strategies as st
from scripted_runs import recorder_class, run_trace
from test_differential import chunkings, string_terminators

import asynchat

# Terminators that end messages (None, 0 and b"" stream: tested on their own below).
ending_terminators = st.one_of(string_terminators, st.integers(1, 24))
ending_programs = st.lists(st.tuples(ending_terminators, st.just(None)), max_size=30)


def limited_class(base, limit):
    """A base for run_trace(): its recorder logs handle_message_too_large() and stays open."""

    class Limited(base):
        ac_max_message_size = limit

        def handle_message_too_large(self):
            self.events.append(("too_large",))

    return Limited


def apply_limit(trace, limit):
    expected = []
    size = 0
    skipping = False
    for event in trace:
        if event[0] == "collect":
            if skipping:
                continue
            data = event[1]
            if len(data) > limit - size:
                if limit - size:
                    expected.append(("collect", data[: limit - size]))
                expected.append(("too_large",))
                skipping = True
                continue
            size += len(data)
        elif event[0] == "found":
            size = 0
            skipping = False
        expected.append(event)
    return expected


@given(chunks=chunkings(), first=ending_terminators, program=ending_programs, limit=st.integers(0, 40))
def test_the_limit_cuts_the_reference_trace(engine, ref, chunks, first, program, limit):
    expected = apply_limit(run_trace(ref.async_chat, chunks, first, program), limit)
    assert run_trace(limited_class(asynchat.async_chat, limit), chunks, first, program) == expected


@given(chunks=chunkings(), first=ending_terminators, program=ending_programs)
def test_a_limit_no_message_reaches_changes_nothing(engine, ref, chunks, first, program):
    expected = run_trace(ref.async_chat, chunks, first, program)
    assert run_trace(limited_class(asynchat.async_chat, 1 << 20), chunks, first, program) == expected


def test_a_message_of_exactly_the_limit_passes(engine):
    events = run_trace(limited_class(asynchat.async_chat, 5), [b"12345\n123456\nok\n"], b"\n")
    assert events == [
        ("collect", b"12345"),
        ("found", b"\n"),
        ("collect", b"12345"),
        ("too_large",),
        ("found", b"\n"),
        ("collect", b"ok"),
        ("found", b"\n"),
        ("left", b"", b"\n"),
    ]


def test_an_int_terminator_counts_its_bytes_and_still_ends_the_record(engine):
    events = run_trace(limited_class(asynchat.async_chat, 4), [b"abc", b"defgh", b"ij"], 8, [(b"\n", None)])
    assert events == [
        ("collect", b"abc"),
        ("left", b"", 5),
        ("collect", b"d"),
        ("too_large",),
        ("found", 0),
        ("left", b"", b"\n"),
        ("collect", b"ij"),
        ("left", b"", b"\n"),
    ]


def test_a_terminator_of_none_streams_one_message_until_it_changes(engine):
    chan = recorder_class(limited_class(asynchat.async_chat, 6))([b"abcd", b"efgh", b"ijkl"], None, [])
    for _ in range(3):
        chan.handle_read()
    assert chan.events == [("collect", b"abcd"), ("collect", b"ef"), ("too_large",)]
    # Dropped until the terminator changes; then a new message, counted afresh.
    chan.set_terminator(b"\n")
    chan.chunks = [b"line\nlonger line\n"]
    chan.handle_read()
    assert chan.events[3:] == [
        ("collect", b"line"),
        ("found", b"\n"),
        ("collect", b"longer"),
        ("too_large",),
        ("found", b"\n"),
    ]
    chan.del_channel()


def test_the_limit_is_read_from_the_instance_at_each_recv(engine):
    chan = recorder_class(limited_class(asynchat.async_chat, None))([b"abcdef\n", b"abcdef\n"], b"\n", [])
    chan.handle_read()
    chan.ac_max_message_size = 3
    chan.handle_read()
    assert chan.events == [
        ("collect", b"abcdef"),
        ("found", b"\n"),
        ("collect", b"abc"),
        ("too_large",),
        ("found", b"\n"),
    ]
    chan.del_channel()


class Logged(asynchat.async_chat):
    ac_max_message_size = 8

    def __init__(self, chunks):
        asynchat.async_chat.__init__(self)
        self.connected = True
        self.chunks = list(chunks)
        self.seen = []
        self.logged = []
        self.set_terminator(b"\r\n")

    def recv(self, size):
        return self.chunks.pop(0)

    def collect_incoming_data(self, data):
        self.seen.append(data)

    def found_terminator(self):
        self.seen.append("found")

    def log_info(self, message, type="info"):
        self.logged.append((type, message))


def test_by_default_the_channel_logs_and_closes_and_frames_nothing_more(engine):
    chan = Logged([b"ok\r\n0123456789 and more\r\nnever\r\n"])
    chan.handle_read()
    assert chan.seen == [b"ok", "found", b"01234567"]
    assert not chan.connected
    assert chan.ac_in_buffer == b""
    assert [t for t, _ in chan.logged] == ["warning"] and "ac_max_message_size (8 bytes)" in chan.logged[0][1]


def test_a_peer_sending_no_terminator_costs_no_more_than_the_limit(engine):
    """Whatever arrives after the limit is neither collected nor kept in the input buffer."""

    class Quiet(Logged):
        ac_max_message_size = 1000

        def handle_message_too_large(self):
            self.seen.append("too_large")  # stays open, so the engine must keep dropping

    chan = Quiet([b"x" * 4096] * 64)
    for _ in range(64):
        chan.handle_read()
        assert len(chan.ac_in_buffer) < 2  # at most a held-back b"\r"
    assert chan.seen == [b"x" * 1000, "too_large"]
    chan.del_channel()


@pytest.mark.parametrize("bad,error", [(-1, ValueError), (1.5, TypeError), ("10", TypeError), (True, TypeError)])
def test_a_bad_limit_is_refused_where_it_is_written(engine, bad, error):
    with pytest.raises(error, match="ac_max_message_size"):
        type("Bad", (asynchat.async_chat,), {"ac_max_message_size": bad})
    chan = Logged([b"x\r\n"])
    chan.ac_max_message_size = bad
    with pytest.raises(error, match="ac_max_message_size"):
        chan.handle_read()
    chan.del_channel()

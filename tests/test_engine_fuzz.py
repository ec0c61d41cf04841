"""The two engines against each other, under programs that no peer alone could cause.

Random recv() chunks, and inside every callback a random action: a new
terminator, ``ac_in_buffer`` cut or replaced, pushes and producers, new
limits and water marks, a re-entered read, ``handle_write()``,
``discard_buffers()``, ``close()``, an exception; ``send()`` takes a random
share or returns something odd.  After every step the whole observable state
is recorded; the compiled engine's record must be the pure engine's, error
messages included.  Where the reference is sane, the differential tests
(test_differential.py, test_faults.py, ...) compare with it; here the
question is only whether the engines agree, and never crash.

``tests/sanitize.sh`` runs this under AddressSanitizer and
UndefinedBehaviorSanitizer with more examples.
"""

import pytest
from engines import engine_modules, running_on
from hypothesis import given, settings
from hypothesis import strategies as st
from scripted_runs import examples

import asynchat

TERMINATORS = [b"\n", b"\r\n", b"ab", b"aab", b"", None, 0, 1, 3, 7]
ACTIONS = st.one_of(
    st.tuples(st.just("term"), st.sampled_from(TERMINATORS)),
    st.tuples(st.just("drop"), st.integers(0, 4)),
    st.tuples(st.just("assign"), st.sampled_from([b"", b"x\n", b"ab", b"aab\r"])),
    st.tuples(st.just("push"), st.binary(max_size=20)),
    st.tuples(st.just("produce"), st.binary(max_size=20)),
    st.tuples(st.just("limit"), st.sampled_from([None, 0, 1, 5, 50])),
    st.tuples(st.just("marks"), st.sampled_from([(None, None), (4, None), (10, 2), (0, 0), (3, 5)])),
    st.tuples(st.just("out_size"), st.sampled_from([1, 3, 65536, 2**63])),
    st.sampled_from(
        [("peek",), ("read",), ("write",), ("discard",), ("close_when_done",), ("close",), ("raise",), ("nothing",)]
    ),
)
SEND_RESULTS = st.one_of(st.integers(0, 12), st.sampled_from([None, 2**70, -1, 1.0, True]))
STEPS = st.lists(
    st.one_of(
        st.tuples(st.just("recv"), st.lists(st.sampled_from(b"ab\r\nx"), max_size=24).map(bytes)),
        st.tuples(st.just("write"), SEND_RESULTS),
        st.tuples(st.just("send"), SEND_RESULTS),
    ),
    max_size=25,
)


# The channel's protection at the start (class attributes); actions change them later.
START = st.tuples(st.sampled_from([None, 0, 1, 5, 50]), st.sampled_from([(None, None), (4, None), (10, 2), (50, 40)]))


class ActionFailed(Exception):
    pass


class Fuzzed(asynchat.async_chat):
    """A channel without a socket whose callbacks act as the program says."""

    def __init__(self, actions, terminator, start):
        self.ac_max_message_size, (self.ac_out_high_water, self.ac_out_low_water) = start
        super().__init__()
        self.connected = True
        self.actions = list(actions)
        self.chunk = b""
        self.send_result = 65536
        self.wire = bytearray()
        self.events = []
        self.set_terminator(terminator)

    def recv(self, size):
        chunk, self.chunk = self.chunk, b""
        return chunk

    def send(self, data):
        result = self.send_result
        if type(result) is int and not isinstance(result, bool) and 0 <= result:
            self.wire += bytes(data[:result])
            return min(result, len(data))
        self.wire += bytes(data)
        return result

    def collect_incoming_data(self, data):
        self.events.append(("collect", bytes(data)))
        self.act()

    def found_terminator(self):
        self.events.append(("found", self.terminator))
        self.act()

    def handle_message_too_large(self):
        self.events.append(("too large",))

    def act(self):
        if not self.actions:
            return
        action, *arg = self.actions.pop(0)
        if action == "term":
            self.set_terminator(arg[0])
        elif action == "drop":
            self.ac_in_buffer = self.ac_in_buffer[arg[0] :]
        elif action == "assign":
            self.ac_in_buffer = arg[0]
        elif action == "push":
            self.push(arg[0])
        elif action == "produce":
            self.push_with_producer(asynchat.simple_producer(arg[0], 3))
        elif action == "limit":
            self.ac_max_message_size = arg[0]
        elif action == "marks":
            self.ac_out_high_water, self.ac_out_low_water = arg[0]
        elif action == "out_size":
            self.ac_out_buffer_size = arg[0]
        elif action == "peek":
            self.events.append(("peek", self.ac_in_buffer))
        elif action == "read":
            self.handle_read()
        elif action == "write":
            self.handle_write()
        elif action == "discard":
            self.discard_buffers()
        elif action == "close_when_done":
            self.close_when_done()
        elif action == "close":
            self.close()
        elif action == "raise":
            raise ActionFailed("raised by a callback")


def queued(item):
    if item is None or isinstance(item, (bytes, bytearray, memoryview)):
        return item if item is None else bytes(item)
    return ("producer", item.data)


def record(chan):
    framer = chan._framer
    return (
        chan.ac_in_buffer,
        chan.terminator,
        [queued(item) for item in chan.producer_fifo],
        bytes(chan.wire),
        chan.connected,
        chan.readable(),
        chan.writable(),
        framer.queued,
        framer.flow,
        framer.feeding,
        framer.reading,
        framer.deferred,
    )


def run(actions, first_terminator, start, steps):
    chan = Fuzzed(actions, first_terminator, start)
    trace = []
    try:
        for step, arg in steps:
            try:
                if step == "recv":
                    chan.chunk = arg
                    chan.handle_read()
                elif step == "send":
                    chan.send_result = arg
                    chan.initiate_send()
                else:
                    chan.send_result = arg
                    chan.handle_write()
            except Exception as exc:  # what would reach handle_error(): it must be the same error
                chan.events.append(("raised", type(exc).__name__, str(exc)))
            trace.append((chan.events, record(chan)))
            chan.events = []
    finally:
        chan.del_channel()
    return trace


@pytest.mark.skipif("cython" not in engine_modules(), reason="the compiled engine is not built here")
@settings(max_examples=examples(1000))
@given(st.lists(ACTIONS, max_size=40), st.sampled_from(TERMINATORS), START, STEPS)
def test_the_engines_agree_on_any_program(actions, first_terminator, start, steps):
    traces = {}
    for name, module in engine_modules().items():
        with running_on(module):
            traces[name] = run(actions, first_terminator, start, steps)
    assert traces["cython"] == traces["python"]

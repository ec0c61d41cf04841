"""Output: bytes on the wire and the moment of closing match the reference (contract rule 5)."""

from collections import deque

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scripted_runs import examples

import asynchat

payloads = st.binary(max_size=40)


class Tagged(bytes):
    """A bytes subclass, as protocol code defines for typed replies."""


push_types = st.sampled_from([bytes, bytearray, memoryview, Tagged])
operations = st.lists(
    st.one_of(
        st.tuples(st.just("push"), payloads, push_types),
        st.tuples(st.just("producer"), payloads, st.integers(1, 9)),
        st.tuples(st.just("raw"), payloads),  # push_with_producer(bytes)
        st.tuples(st.just("close_when_done")),
        st.tuples(st.just("write")),  # one writable event: handle_write()
    ),
    max_size=25,
)


def wire_class(base):
    """A connected channel without a socket whose send() takes what *accept* allows.

    An *accept* entry of None makes send() return None: nothing sent, as a
    subclass's send() may say it.
    """

    class Wire(base):
        def __init__(self, out_size, accept):
            base.__init__(self)
            self.ac_out_buffer_size = out_size
            self.connected = True
            self.accept = deque(accept)
            self.wire = bytearray()
            self.closed_after = None

        def send(self, data):
            allowed = self.accept[0]
            self.accept.rotate(-1)
            if allowed is None:
                return None
            n = min(len(data), allowed)
            self.wire += bytes(data[:n])
            return n

        def handle_close(self):
            self.closed_after = bytes(self.wire)
            self.connected = False

    return Wire


def run_output(module, out_size, accept, ops):
    chan = wire_class(module.async_chat)(out_size, accept)
    for op in ops:
        if op[0] == "push":
            chan.push(op[2](op[1]))
        elif op[0] == "producer":
            chan.push_with_producer(module.simple_producer(op[1], op[2]))
        elif op[0] == "raw":
            chan.push_with_producer(op[1])
        elif op[0] == "close_when_done":
            chan.close_when_done()
        else:
            chan.handle_write()
    for _ in range(10_000):  # drain, as writable events would
        if not chan.writable() or not chan.connected:
            break
        chan.handle_write()
    chan.del_channel()
    return bytes(chan.wire), chan.closed_after


@settings(max_examples=examples(300))
@given(
    out_size=st.integers(1, 32),
    accept=st.lists(st.one_of(st.integers(0, 50), st.none()), min_size=1, max_size=6).filter(any),
    ops=operations,
)
def test_wire_bytes_and_close_match_reference(engine, ref, out_size, accept, ops):
    assert run_output(asynchat, out_size, accept, ops) == run_output(ref, out_size, accept, ops)


def test_queued_pushes_are_gathered_into_one_send(engine):
    chan = wire_class(asynchat.async_chat)(4096, [1000])
    chan.connected = False  # queue without sending
    for i in range(10):
        chan.push(b"%d-line\n" % i)
    chan.connected = True
    sends = []
    original = chan.send
    chan.send = lambda data: sends.append(bytes(data)) or original(data)
    chan.handle_write()
    assert sends == [b"".join(b"%d-line\n" % i for i in range(10))]
    assert not chan.producer_fifo
    chan.del_channel()


def test_a_send_never_exceeds_ac_out_buffer_size(engine):
    chan = wire_class(asynchat.async_chat)(10, [1000])
    chan.connected = False
    chan.push(b"x" * 35)
    chan.push_with_producer(asynchat.simple_producer(b"y" * 30, 7))
    chan.connected = True
    sizes = []
    original = chan.send
    chan.send = lambda data: sizes.append(len(data)) or original(data)
    while chan.writable() and chan.connected:
        chan.handle_write()
    assert max(sizes) <= 10
    assert chan.wire == b"x" * 35 + b"y" * 30
    chan.del_channel()


def test_bytearray_split_by_push_is_a_copy(engine):
    chan = wire_class(asynchat.async_chat)(4, [1000])
    chan.connected = False
    data = bytearray(b"abcdefghij")
    chan.push(data)
    data[:] = b"XXXXXXXXXX"
    chan.connected = True
    while chan.writable() and chan.connected:
        chan.handle_write()
    assert chan.wire == b"abcdefghij"
    chan.del_channel()


def test_close_when_done_closes_only_after_everything_before_it(engine):
    chan = wire_class(asynchat.async_chat)(8, [3])
    chan.push(b"0123456789")
    chan.close_when_done()
    chan.push(b"never sent")
    while chan.writable() and chan.connected:
        chan.handle_write()
    assert chan.closed_after == b"0123456789"
    assert chan.wire == b"0123456789"
    chan.del_channel()


def test_oversized_raw_item_is_sent_in_order(engine):
    chan = wire_class(asynchat.async_chat)(1000, [777])
    chan.connected = False
    big = bytes(range(256)) * 400
    chan.push_with_producer(big)
    chan.push(b"tail")
    chan.connected = True
    for _ in range(1000):
        if not chan.writable():
            break
        chan.handle_write()
    assert chan.wire == big + b"tail"
    chan.del_channel()


@pytest.mark.parametrize(
    "bad,message",
    [(42, "more()"), ("text", "more()"), (object(), "more()")],
)
def test_push_with_producer_rejects_what_cannot_produce(engine, bad, message):
    chan = asynchat.async_chat()
    with pytest.raises(TypeError, match=message.replace("(", r"\(").replace(")", r"\)")):
        chan.push_with_producer(bad)
    assert not chan.producer_fifo
    chan.del_channel()


def test_producer_returning_non_bytes_is_reported_by_initiate_send(engine):
    class Broken:
        def more(self):
            return 12

    chan = wire_class(asynchat.async_chat)(8, [100])
    with pytest.raises(TypeError, match="more"):
        chan.push_with_producer(Broken())
    chan.del_channel()


def test_use_encoding_sends_str_from_producers_encoded(engine):
    chan = wire_class(asynchat.async_chat)(8, [100])
    chan.use_encoding = 1
    chan.push_with_producer("caf\xe9 ok")
    assert chan.wire == "caf\xe9 ok".encode("latin-1")
    chan.del_channel()

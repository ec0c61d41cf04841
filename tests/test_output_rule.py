"""Pushes made inside handle_read() callbacks are sent together when it returns.

Whatever the deferral changes (the number of send() calls), nothing observable
on the wire may differ from the reference, which sends each push at once.
"""

import pytest

import asynchat


def pipelined_class(base):
    """A connected channel fed from a script; send() records each call, closing the moment."""

    class Pipelined(base):
        def __init__(self, chunks, reply, accept=None):
            base.__init__(self)
            self.connected = True
            self.chunks = list(chunks)
            self.reply = reply  # reply(self, line) runs in found_terminator()
            self.accept = accept
            self.sends = []
            self.wire = bytearray()
            self.closed_after = None
            self.parts = []
            self.set_terminator(b"\n")

        def recv(self, size):
            return self.chunks.pop(0)

        def send(self, data):
            n = len(data) if self.accept is None else min(len(data), self.accept)
            self.sends.append(bytes(data[:n]))
            self.wire += data[:n]
            return n

        def del_channel(self, map=None):
            # dispatcher.close() leaves the map here, as it closes the socket.
            if self.closed_after is None and not self.connected:
                self.closed_after = bytes(self.wire)
            base.del_channel(self, map)

        def collect_incoming_data(self, data):
            self.parts.append(data)

        def found_terminator(self):
            line = b"".join(self.parts)
            self.parts = []
            self.reply(self, line)

    return Pipelined


def run(base, chunks, reply, accept=None):
    chan = pipelined_class(base)(chunks, reply, accept)
    error = None
    try:
        while chan.chunks:
            chan.handle_read()
        for _ in range(1000):
            if not (chan.connected and chan.producer_fifo):
                break
            chan.handle_write()
    except RuntimeError as exc:
        error = str(exc)
    chan.del_channel()
    return chan, (bytes(chan.wire), chan.closed_after, error)


def echo(chan, line):
    chan.push(line + b"\n")


def echo_then_close(chan, line):
    chan.push(line + b"\n")
    if line == b"bye":
        chan.close()


def echo_then_close_when_done(chan, line):
    chan.push(line + b"\n")
    if line == b"bye":
        chan.close_when_done()


def echo_then_fail(chan, line):
    chan.push(line + b"\n")
    if line == b"boom":
        raise RuntimeError("application error")


def echo_then_discard(chan, line):
    chan.push(line + b"\n")
    if line == b"reset":
        chan.discard_buffers()


BURST = [b"".join(b"line %d\n" % i for i in range(200))]
SCENARIOS = [
    ("echo", BURST, echo),
    ("close", [b"a\nb\nbye\nlost\n"], echo_then_close),
    ("close_when_done", [b"a\nb\nbye\nstill read\n"], echo_then_close_when_done),
    ("exception", [b"a\nb\nboom\nnever\n"], echo_then_fail),
    ("discard_buffers", [b"a\nreset\nb\n"], echo_then_discard),
]


@pytest.mark.parametrize("name,chunks,reply", SCENARIOS, ids=[s[0] for s in SCENARIOS])
def test_observable_output_matches_reference(engine, ref, name, chunks, reply):
    _, ours = run(asynchat.async_chat, chunks, reply)
    _, theirs = run(ref.async_chat, chunks, reply)
    assert ours == theirs


@pytest.mark.parametrize("name,chunks,reply", SCENARIOS, ids=[s[0] for s in SCENARIOS])
def test_partial_sends_lose_nothing_the_reference_sent(engine, ref, name, chunks, reply):
    """With a socket taking 5 bytes a call, the reference leaves bytes queued that a
    close or discard_buffers() then drops; the deferred flush may send more, never less."""
    _, (full, _, _) = run(asynchat.async_chat, chunks, reply)
    _, (ours, ours_closed, ours_error) = run(asynchat.async_chat, chunks, reply, accept=5)
    _, (theirs, theirs_closed, theirs_error) = run(ref.async_chat, chunks, reply, accept=5)
    assert ours.startswith(theirs)
    assert full.startswith(ours)
    assert (ours_closed is None, ours_error) == (theirs_closed is None, theirs_error)


def test_a_pipelined_burst_goes_out_in_one_send(engine):
    chan, (wire, _, _) = run(asynchat.async_chat, BURST, echo)
    assert wire == BURST[0]
    assert chan.sends == [BURST[0]]


def test_a_burst_larger_than_the_out_buffer_is_sent_in_full_chunks(engine):
    class Small(asynchat.async_chat):
        ac_out_buffer_size = 100

    chan, (wire, _, _) = run(Small, BURST, echo)
    assert wire == BURST[0]
    assert [len(s) for s in chan.sends[:-1]] == [100] * (len(chan.sends) - 1)
    assert len(chan.sends) == -(-len(BURST[0]) // 100)


def test_deferral_can_be_turned_off(engine):
    class Immediate(asynchat.async_chat):
        ac_defer_output = False

    chan, (wire, _, _) = run(Immediate, BURST, echo)
    assert wire == BURST[0]
    assert len(chan.sends) == 200


def test_a_replaced_initiate_send_is_called_for_every_push(engine):
    class OwnSender(asynchat.async_chat):
        def initiate_send(self):
            while self.producer_fifo:
                data = self.producer_fifo.popleft()
                self.sends.append(bytes(data))
                self.wire += data

    chan, (wire, _, _) = run(OwnSender, [b"a\nb\nc\n"], echo)
    assert chan.sends == [b"a\n", b"b\n", b"c\n"]


def test_pushes_outside_handle_read_are_sent_at_once(engine):
    chan = pipelined_class(asynchat.async_chat)([], echo)
    chan.push(b"one")
    chan.push(b"two")
    assert chan.sends == [b"one", b"two"]
    chan.del_channel()

"""The output rule: a push goes out at once unless the peer is pipelining.

A push made while no further received input waits to be framed is sent at
once, as the reference sends every push.  Pushes made while more input waits
are gathered and leave with the next push made once it is used up, or when
handle_read() returns.  Nothing observable on the wire may differ from the
reference; for a peer that waits for each reply, not even the send() calls.
"""

import threading

import pytest
from engines import engine_modules, running_on
from hypothesis import given, settings
from hypothesis import strategies as st
from loopback import LineServer, Listener, ProtocolRunner, run_until
from scripted_runs import examples

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


# --- pending(): what the rule asks the engine -------------------------------------------


def pending_probe_class(base):
    """Records, in every callback, whether the engine says more input waits to be framed."""

    class Probe(base):
        def __init__(self, chunks, terminators):
            base.__init__(self)
            self.chunks = list(chunks)
            self.terminators = list(terminators)
            self.seen = []
            self.set_terminator(self.terminators.pop(0) if self.terminators else b"\n")

        def recv(self, size):
            return self.chunks.pop(0)

        def collect_incoming_data(self, data):
            self.seen.append(("collect", bytes(data), self._framer.pending()))

        def found_terminator(self):
            self.seen.append(("found", self._framer.pending(), self.ac_in_buffer))
            if self.terminators:
                self.set_terminator(self.terminators.pop(0))

    return Probe


def pending_trace(module, chunks, terminators):
    with running_on(module):
        chan = pending_probe_class(asynchat.async_chat)(chunks, terminators)
        while chan.chunks:
            chan.handle_read()
        chan.del_channel()
    return chan.seen


stream_terminators = st.one_of(st.sampled_from([b"\n", b"\r\n", b"aab", None, 0]), st.integers(1, 9))


@settings(max_examples=examples(300))
@given(
    data=st.lists(st.sampled_from(b"ab\r\n"), max_size=80).map(bytes),
    cuts=st.lists(st.integers(1, 30), max_size=10),
    terminators=st.lists(stream_terminators, min_size=1, max_size=12),
)
def test_engines_agree_on_pending_input(data, cuts, terminators):
    chunks, at = [], 0
    for size in cuts + [len(data)]:
        chunks.append(data[at : at + size])
        at += size
    traces = {name: pending_trace(module, chunks, terminators) for name, module in engine_modules().items()}
    python = traces.pop("python")
    for other in traces.values():
        assert other == python
    for event in python:
        if event[0] == "found":
            # Right after a message, whatever is left of this recv waits to be framed.
            assert event[1] == bool(event[2])


def test_pending_inside_callbacks(engine):
    probe = pending_probe_class(asynchat.async_chat)
    chan = probe([b"ab\ncd\nef"], [b"\n"])
    chan.handle_read()
    chan.del_channel()
    assert chan.seen == [
        ("collect", b"ab", True),
        ("found", True, b"cd\nef"),
        ("collect", b"cd", True),
        ("found", True, b"ef"),
        ("collect", b"ef", False),
    ]
    chan = probe([b"QUIT\n"], [b"\n"])
    chan.handle_read()
    chan.del_channel()
    assert chan.seen == [("collect", b"QUIT", False), ("found", False, b"")]


# --- a peer that waits for each reply sees the reference's send() calls -------------------


replies = st.lists(st.binary(min_size=1, max_size=12), max_size=3)
exchanges = st.lists(
    st.tuples(st.binary(max_size=10).map(lambda b: b.replace(b"\n", b"")), replies), min_size=1, max_size=8
)


def request_response(base, exchange, accept=None):
    """One recv per request, as from a peer that waits for the replies; returns each send()."""
    answers = [list(reply) for _, reply in exchange]

    def reply(chan, line):
        for part in answers.pop(0):
            chan.push(part)

    chan = pipelined_class(base)([line + b"\n" for line, _ in exchange], reply, accept)
    while chan.chunks:
        chan.handle_read()
    chan.del_channel()
    return chan.sends


@settings(max_examples=examples(200))
@given(exchange=exchanges)
def test_request_response_makes_the_reference_send_calls(engine, ref, exchange):
    assert request_response(asynchat.async_chat, exchange) == request_response(ref.async_chat, exchange)


def test_a_multi_line_reply_is_one_send_per_push(engine):
    """smtpd's EHLO reply: three pushes for one request, three send() calls (test_smtpd counts)."""
    sends = request_response(asynchat.async_chat, [(b"EHLO x", [b"250-a\r\n", b"250-b\r\n", b"250 c\r\n"])])
    assert sends == [b"250-a\r\n", b"250-b\r\n", b"250 c\r\n"]


def test_pushes_before_the_input_is_used_up_leave_with_the_next_push(engine):
    pushed = []

    def reply(chan, line):
        chan.push(line + b"\n")
        pushed.append(len(chan.sends))

    chan = pipelined_class(asynchat.async_chat)([b"a\nb\nc\n"], reply)
    chan.handle_read()
    chan.del_channel()
    # a and b wait (input follows them); c finds the input used up and takes all three.
    assert pushed == [0, 0, 1]
    assert chan.sends == [b"a\nb\nc\n"]


# --- over 127.0.0.1 ---------------------------------------------------------------------


def client_thread(port, work):
    """Run work(sock) on a blocking client socket in a thread; returns (thread, errors)."""
    import socket

    errors = []

    def main():
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
                work(sock)
        except BaseException as exc:  # reported by the test
            errors.append(exc)

    thread = threading.Thread(target=main, daemon=True)
    thread.start()
    return thread, errors


def read_until(sock, end):
    data = b""
    while not data.endswith(end):
        more = sock.recv(4096)
        if not more:
            break
        data += more
    return data


def test_a_handler_that_blocks_on_the_peer_after_pushing(engine, run_loop, sock_map):
    """FTP's PASV: push the reply, then wait inside the callback for the client's reaction."""
    reacted = threading.Event()
    outcome = []

    class Passive(LineServer):
        def found_terminator(self):
            self.push(b"227 " + self.take_message() + b"\n")
            outcome.append(reacted.wait(timeout=5))

    server = Listener(Passive, sock_map)

    def peer(sock):
        sock.sendall(b"PASV\n")
        assert read_until(sock, b"\n") == b"227 PASV\n"
        reacted.set()

    thread, errors = client_thread(server.port, peer)
    run_until(sock_map, lambda: outcome and not thread.is_alive(), run_loop)
    thread.join(5)
    assert not errors
    assert outcome == [True], "the reply was held back while the handler waited for the peer"


def test_closing_subclass_whose_initiate_send_needs_the_map(engine, run_loop, sock_map):
    """A server that keeps its own poller registration in initiate_send() (as FTP servers do)."""
    if isinstance(run_loop, ProtocolRunner):
        pytest.skip("a channel run as a Protocol is in no map (docs/asyncio.md)")
    problems = []

    class Registered(LineServer):
        closed = False

        def close(self):
            self.closed = True  # first, as such servers do, then the base class
            asynchat.async_chat.close(self)

        def initiate_send(self):
            if self.closed or self._fileno not in self._map:
                problems.append("initiate_send() called on a closed channel")
            asynchat.async_chat.initiate_send(self)

        def found_terminator(self):
            line = self.take_message()
            if not self.connected:
                return  # the rest of a pipelined burst after QUIT
            self.push(line + b"\n")
            if line == b"QUIT":
                self.close()

        def handle_error(self):
            problems.append("handle_error")
            raise

    server = Listener(Registered, sock_map)
    received = []

    def peer(sock):
        sock.sendall(b"a\nb\nQUIT\nafter\n")
        received.append(read_until(sock, b"never"))

    thread, errors = client_thread(server.port, peer)
    run_until(sock_map, lambda: not thread.is_alive(), run_loop)
    assert not errors and not problems
    assert received == [b"a\nb\nQUIT\n"]


def test_a_pipelined_burst_over_loopback_is_gathered(engine, run_loop, sock_map):
    counts = {"sends": 0, "reads": 0}

    class CountingEcho(LineServer):
        def handle_read(self):
            counts["reads"] += 1
            asynchat.async_chat.handle_read(self)

        def send(self, data):
            counts["sends"] += 1
            return asynchat.async_chat.send(self, data)

        def found_terminator(self):
            self.push(self.take_message() + b"\n")

    server = Listener(CountingEcho, sock_map)
    burst = b"".join(b"line %03d\n" % i for i in range(200))
    received = []

    def peer(sock):
        sock.sendall(burst)
        received.append(read_until(sock, b"line 199\n"))

    thread, errors = client_thread(server.port, peer)
    run_until(sock_map, lambda: not thread.is_alive(), run_loop)
    assert not errors
    assert received == [burst]
    assert counts["sends"] <= counts["reads"] < 200


def test_a_channel_a_callback_takes_out_of_its_map_sends_first(engine):
    """A server handing the connection over (del_channel() inside a callback): what it pushed
    before leaves first, as with the reference, and initiate_send() is not called off the map."""
    import socket

    calls_off_map = []

    class HandOver(LineServer):
        def initiate_send(self):
            if self._fileno not in self._map:
                calls_off_map.append(list(self.producer_fifo))
            asynchat.async_chat.initiate_send(self)

        def found_terminator(self):
            line = self.take_message()
            if line == b"HANDOVER":
                self.del_channel()
            elif self._fileno is not None:
                self.push(line + b"\n")

    ours, peer = socket.socketpair()
    sock_map = {}
    chan = HandOver(ours, sock_map)
    peer.sendall(b"a\nb\nHANDOVER\nc\n")
    chan.handle_read()
    assert calls_off_map == []
    assert not chan.producer_fifo
    assert peer.recv(100) == b"a\nb\n"
    assert sock_map == {}
    ours.close()
    peer.close()

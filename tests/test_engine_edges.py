"""What an adversarial fuzzer found in the engines, each now one defined outcome on both engines.

A read re-entered from a callback, odd ``send()`` results, an
``ac_out_buffer_size`` beyond a C size, a ``Framer`` made without
``__init__``.  None of these is reachable by a peer alone; each needs server
code doing something unusual, and each must give a clear error or the
reference's result, never a crash, a wrong count or engines that disagree.
"""

import pytest
from engines import engine_modules, running_on

import asynchat

REENTERED = "called from inside a callback of the same channel"


class Scripted(asynchat.async_chat):
    """A channel with no socket: recv() pops *chunks*, send() keeps what it is given on *wire*."""

    def __init__(self, chunks=(), terminator=b"\n"):
        super().__init__()
        self.connected = True
        self.chunks = list(chunks)
        self.seen = []
        self.wire = bytearray()
        self.set_terminator(terminator)

    def recv(self, size):
        return self.chunks.pop(0) if self.chunks else b""

    def send(self, data):
        self.wire += data
        return len(data)

    def collect_incoming_data(self, data):
        self.seen.append(bytes(data))

    def found_terminator(self):
        self.seen.append("found")

    def handle_message_too_large(self):
        self.seen.append("too large")


def outcome(call):
    try:
        return "ok", call()
    except Exception as exc:
        return type(exc).__name__, str(exc)


# ---- a read re-entered from a callback -------------------------------------------------------


@pytest.mark.parametrize(
    "limit,rest",
    [
        (None, [b"aaaaaaaabb", b"c", "found"]),
        (10, [b"aaaaaaaabb", "too large", "found"]),
    ],
    ids=["no limit", "message limit"],
)
def test_a_read_from_inside_a_callback_is_refused_before_it_receives(engine, limit, rest):
    class Reentering(Scripted):
        ac_max_message_size = limit

        def collect_incoming_data(self, data):
            super().collect_incoming_data(data)
            if self.chunks == [b"bb", b"c\n"]:
                self.handle_read()

    chan = Reentering([b"aaaaaaaa", b"bb", b"c\n"])
    with pytest.raises(RuntimeError, match=REENTERED):
        chan.handle_read()
    assert chan.chunks == [b"bb", b"c\n"]  # the nested read took nothing
    # The callback raised, so its bytes were not taken (as with the reference): they come again.
    while chan.chunks:
        chan.handle_read()
    assert chan.seen == [b"aaaaaaaa"] + rest


def test_a_nested_feed_is_refused_by_the_engine_itself(engine):
    class Feeding(Scripted):
        def found_terminator(self):
            super().found_terminator()
            self._framer.feed(self, b"more\n")

    chan = Feeding([b"x\n"])
    with pytest.raises(RuntimeError, match=REENTERED):
        chan.handle_read()
    assert not chan._framer.feeding  # the refusal left the framer usable


def test_handle_write_from_a_callback_while_paused_frames_everything_once_in_order(engine):
    """handle_write() inside a callback may resume reading: the feed running below it goes on."""

    class Pausing(Scripted):
        ac_out_high_water = 4
        ac_out_low_water = 1

        def found_terminator(self):
            line = b"".join(x for x in self.seen[self.mark :] if x != "found")
            super().found_terminator()
            self.mark = len(self.seen)
            self.push(line + b"\n")
            self.handle_write()

    lines = [b"line %d" % i for i in range(20)]
    chan = Pausing([b"\n".join(lines) + b"\n"])
    chan.mark = 0
    chan.handle_read()
    while chan.writable() and chan.connected:
        chan.handle_write()
    assert bytes(chan.wire) == b"\n".join(lines) + b"\n"
    assert [x for x in chan.seen if x != "found"] == lines


# ---- send() results --------------------------------------------------------------------------


def send_returning(result):
    class Sender(Scripted):
        def send(self, data):
            self.wire += data
            return result

    chan = Sender()
    got = outcome(lambda: chan.push(b"0123456789"))
    return got, [bytes(x) for x in chan.producer_fifo], chan._framer.queued


@pytest.mark.parametrize(
    "result,expected",
    [
        (2**70, (("ok", None), [], 0)),  # more than was given: all of it, as the reference
        (10, (("ok", None), [], 0)),
        (True, (("ok", None), [b"123456789"], 9)),  # bool is an int, as for the reference
        (None, (("ok", None), [b"0123456789"], 10)),  # any false result is 0, as for the reference
        (0.0, (("ok", None), [b"0123456789"], 10)),
        (1.0, (("TypeError", "send() must return the number of bytes sent, an int, not float"), [b"0123456789"], 10)),
        ("3", (("TypeError", "send() must return the number of bytes sent, an int, not str"), [b"0123456789"], 10)),
        (-1, (("ValueError", "send() returned -1: the number of bytes sent cannot be negative"), [b"0123456789"], 10)),
        (
            -(2**63),
            (
                ("ValueError", f"send() returned {-(2**63)}: the number of bytes sent cannot be negative"),
                [b"0123456789"],
                10,
            ),
        ),
    ],
)
def test_a_send_result_means_the_same_on_both_engines(result, expected):
    for module in engine_modules().values():
        with running_on(module):
            assert send_returning(result) == expected, module.__name__


@pytest.mark.parametrize("result", [2**70, 10, 3, True, None, 0])
def test_sane_send_results_leave_what_the_reference_leaves(engine, ref, result):
    class Sender(Scripted):
        def send(self, data):
            return result

    ours = Sender()
    ours.push(b"0123456789")
    theirs = type("Sender", (ref.async_chat,), {"send": Sender.send})()
    theirs.connected = True
    theirs.push(b"0123456789")
    assert [bytes(x) for x in ours.producer_fifo] == [bytes(x) for x in theirs.producer_fifo]


def test_framer_sent_refuses_a_negative_count(engine):
    with pytest.raises(ValueError, match="negative"):
        engine.Framer().sent(-(2**63), [])


# ---- ac_out_buffer_size beyond a C size ------------------------------------------------------


@pytest.mark.parametrize("size", [2**63 - 1, 2**63, 2**100])
def test_an_out_buffer_size_beyond_any_buffer_sends_as_the_reference(engine, ref, size):
    def run(base):
        cls = type("Huge", (base,), {"ac_out_buffer_size": size, "send": Scripted.send})
        chan = cls()
        chan.connected = True
        chan.wire = bytearray()
        chan.push_with_producer(asynchat.simple_producer(b"hello world", 4))
        chan.push(b"0123")
        chan.push(bytearray(b"abc"))
        while chan.producer_fifo:
            chan.initiate_send()
        return bytes(chan.wire)

    assert run(asynchat.async_chat) == run(ref.async_chat) == b"hello world0123abc"


# ---- a Framer made without __init__ ----------------------------------------------------------


class Sink:
    terminator = b"\r\n"
    ac_max_message_size = ac_out_high_water = ac_out_low_water = None
    ac_defer_output = False  # a consumer, not a channel: no output rule

    def __init__(self):
        self.seen = []

    def get_terminator(self):
        return self.terminator

    def collect_incoming_data(self, data):
        self.seen.append(data)

    def found_terminator(self):
        self.seen.append("found")


def test_a_framer_is_valid_from_allocation(engine):
    class SkipsInit(engine.Framer):
        def __init__(self):
            pass

    for framer in (engine.Framer.__new__(engine.Framer), SkipsInit()):
        assert not framer.pending() and framer.unprocessed() == b""
        assert (framer.queued, framer.flow, framer.feeding, framer.recheck) == (0, 0, False, None)
        sink = Sink()
        framer.feed(sink, b"")
        framer.feed(sink, b"ab\r\ncd\r")
        assert sink.seen == [b"ab", "found", b"cd"] and framer.unprocessed() == b"\r"

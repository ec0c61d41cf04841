"""Subclasses written the way real servers write them keep working (contract rule 7)."""

import pytest

import asynchat


class ScriptedRecv(asynchat.async_chat):
    """Gets its input from a list instead of a socket."""

    def __init__(self, chunks):
        asynchat.async_chat.__init__(self)
        self.chunks = list(chunks)
        self.lines = []
        self.parts = []

    def recv(self, size):
        return self.chunks.pop(0)

    def collect_incoming_data(self, data):
        self.parts.append(data)

    def found_terminator(self):
        self.lines.append(b"".join(self.parts))
        self.parts = []


class ConnectionDropped(Exception):
    pass


def test_own_exception_from_recv_reaches_the_caller_of_handle_read(engine):
    """Like a TLS wrapper raising its own error: handle_read() must not swallow it."""

    class TLSLike(ScriptedRecv):
        def recv(self, size):
            raise ConnectionDropped("peer went away")

    chan = TLSLike([])
    chan.set_terminator(b"\n")
    with pytest.raises(ConnectionDropped):
        chan.handle_read()
    chan.del_channel()


def test_recv_override_sees_ac_in_buffer_size(engine):
    sizes = []

    class Sized(ScriptedRecv):
        ac_in_buffer_size = 123

        def recv(self, size):
            sizes.append(size)
            return b"a\n"

    chan = Sized([])
    chan.set_terminator(b"\n")
    chan.handle_read()
    assert sizes == [123] and chan.lines == [b"a"]
    chan.del_channel()


def test_found_terminator_takes_over_the_rest_through_ac_in_buffer(engine):
    """After a header line, switch to raw mode and consume ac_in_buffer directly."""

    class RawAfterHeader(ScriptedRecv):
        def found_terminator(self):
            self.lines.append(b"".join(self.parts))
            self.parts = []
            self.raw = self.ac_in_buffer
            self.ac_in_buffer = b""
            self.set_terminator(None)

    chan = RawAfterHeader([b"HEADER\nraw\nbytes\n", b"more"])
    chan.set_terminator(b"\n")
    chan.handle_read()
    assert chan.lines == [b"HEADER"] and chan.raw == b"raw\nbytes\n"
    chan.handle_read()
    assert chan.parts == [b"more"]
    chan.del_channel()


def test_replaced_initiate_send_owns_the_fifo(engine):
    """push() must end in self.initiate_send(); a replacement sees the raw fifo."""

    class OwnSender(asynchat.async_chat):
        def __init__(self):
            asynchat.async_chat.__init__(self)
            self.flushed = []

        def initiate_send(self):
            while self.producer_fifo:
                item = self.producer_fifo.popleft()
                self.flushed.append(item if item is None else bytes(item))

    chan = OwnSender()
    chan.push(b"one")
    chan.push_with_producer(b"two")
    chan.close_when_done()
    chan.initiate_send()
    assert chan.flushed == [b"one", b"two", None]
    chan.del_channel()


def test_send_override_and_handle_write_call_graph(engine):
    calls = []

    class Tracing(asynchat.async_chat):
        def initiate_send(self):
            calls.append("initiate_send")
            asynchat.async_chat.initiate_send(self)

        def send(self, data):
            calls.append(("send", bytes(data)))
            return len(data)

        def handle_close(self):
            calls.append("handle_close")
            asynchat.async_chat.handle_close(self)

        def close(self):
            calls.append("close")
            asynchat.async_chat.close(self)

    chan = Tracing()
    chan.connected = True
    chan.push(b"hi")
    chan.push_with_producer(asynchat.simple_producer(b"there"))
    chan.close_when_done()
    chan.handle_write()
    assert calls == [
        "initiate_send",
        ("send", b"hi"),
        "initiate_send",
        ("send", b"there"),
        "initiate_send",
        "handle_close",
        "close",
    ]


def test_found_terminator_rebinding_itself_like_a_state_machine(engine):
    """Some servers swap bound methods on the instance between states."""

    class StateMachine(ScriptedRecv):
        def found_terminator(self):
            self.lines.append(b"header:" + b"".join(self.parts))
            self.parts = []
            self.found_terminator = self.body_done
            self.set_terminator(4)

        def body_done(self):
            self.lines.append(b"body:" + b"".join(self.parts))
            self.parts = []
            del self.found_terminator
            self.set_terminator(b"\n")

    chan = StateMachine([b"H1\nbodyH2\nBODY"])
    chan.set_terminator(b"\n")
    chan.handle_read()
    assert chan.lines == [b"header:H1", b"body:body", b"header:H2", b"body:BODY"]
    chan.del_channel()


def test_collect_incoming_data_rebound_on_the_instance_takes_effect_at_once(engine, ref):
    """A server that skips a message's body swaps its collector between messages of one recv."""

    def run(base):
        class Skipping(base):
            def __init__(self):
                base.__init__(self)
                self.kept, self.skipped = [], []
                self.set_terminator(b"\n")

            def recv(self, size):
                return b"keep\nSKIP\nskip\nback\nkeep2\n"

            def collect_incoming_data(self, data):
                self.kept.append(data)

            def skip(self, data):
                self.skipped.append(data)

            def found_terminator(self):
                skipping = "collect_incoming_data" in self.__dict__
                if not skipping and self.kept[-1] == b"SKIP":
                    self.collect_incoming_data = self.skip
                elif skipping and self.skipped[-1] == b"back":
                    del self.collect_incoming_data

        chan = Skipping()
        chan.handle_read()
        chan.del_channel()
        return chan.kept, chan.skipped

    assert run(asynchat.async_chat) == run(ref.async_chat) == ([b"keep", b"SKIP", b"keep2"], [b"skip", b"back"])


def test_initiate_send_replaced_on_the_instance_is_called_by_push(engine):
    chan = ScriptedRecv([])
    calls = []
    chan.initiate_send = lambda: calls.append(list(chan.producer_fifo))
    chan.push(b"one")
    chan.push(b"two")
    assert calls == [[b"one"], [b"one", b"two"]]
    chan.del_channel()


def test_instance_level_get_terminator_is_honoured(engine):
    chan = ScriptedRecv([b"a;b\nc;d\n"])
    chan.set_terminator(b"\n")
    chan.get_terminator = lambda: b";"
    chan.handle_read()
    assert chan.lines == [b"a", b"b\nc"] and chan.parts == [b"d\n"]
    chan.del_channel()


def test_exception_in_callback_propagates_and_keeps_the_rest(engine, ref):
    """An error in found_terminator() leaves the unprocessed input in ac_in_buffer."""

    def run(base):
        class Failing(base):
            def __init__(self):
                base.__init__(self)
                self.seen = []
                self.set_terminator(b"\n")

            def recv(self, size):
                return b"ok\nbad\nlater\n"

            def collect_incoming_data(self, data):
                self.seen.append(data)

            def found_terminator(self):
                if self.seen[-1] == b"bad":
                    raise RuntimeError("application error")

        chan = Failing()
        with pytest.raises(RuntimeError):
            chan.handle_read()
        left = chan.ac_in_buffer
        chan.del_channel()
        return chan.seen, left

    assert run(asynchat.async_chat) == run(ref.async_chat)


def test_uncaught_callback_error_reaches_handle_error_under_asyncore(engine):
    """Inside the loop, asyncore turns the exception into handle_error(), not a crash."""
    errors = []

    class Failing(ScriptedRecv):
        def found_terminator(self):
            raise RuntimeError("application error")

        def handle_error(self):
            errors.append(True)

    chan = Failing([b"x\n"])
    chan.set_terminator(b"\n")
    asynchat.asyncore.read(chan)
    assert errors == [True]
    chan.del_channel()

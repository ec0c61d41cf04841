"""ac_out_high_water / ac_out_low_water: reading pauses while too much output waits, on both engines."""

from fakes import FakeSocket, Faults, echo_class, pump

import asynchat

LINES = [b"%03d " % i + b"y" * 95 for i in range(100)]
STREAM = b"".join(line + b"\n" for line in LINES)


def marked(high=1000, low=200, base=None):
    attrs = {"ac_out_high_water": high, "ac_out_low_water": low}
    return type("Marked", (echo_class(base or asynchat.async_chat),), attrs)


def stalled_peer(cls, stream=STREAM):
    """A channel whose peer sends *stream* in one piece and reads nothing (yet)."""
    sock = FakeSocket(stream, Faults(send_max=0))
    return cls(sock, {}), sock


def test_reading_and_framing_pause_above_the_high_mark(engine):
    chan, sock = stalled_peer(marked())
    chan.handle_read()
    # Stopped at the first reply that took the queue over 1000 bytes: the 11th.
    assert len(chan.lines) == 11
    assert not chan.readable()
    assert chan.ac_in_buffer == STREAM[11 * 100 :]
    chan.handle_write()  # the peer still reads nothing: still paused
    assert not chan.readable() and len(chan.lines) == 11
    chan.close()


def test_draining_to_the_low_mark_frames_what_waited_and_nothing_is_lost(engine):
    chan, sock = stalled_peer(marked())
    chan.handle_read()
    sock.faults.send_max = 150
    rounds = 0
    while len(sock.wire) < len(STREAM):
        assert chan.writable()
        chan.handle_write()
        rounds += 1
        assert rounds < 1000
    assert bytes(sock.wire) == STREAM and chan.lines == LINES
    assert chan.readable() and not chan.writable()
    chan.close()


def test_the_queue_never_grows_past_the_high_mark_by_more_than_one_reply(engine):
    chan, sock = stalled_peer(marked())
    sock.faults.send_max = 30
    sock.faults.recv_max = 2000
    peak = pauses = 0
    for _ in range(1000):
        for ready, handle in (
            (chan.readable() and sock.incoming, chan.handle_read),
            (chan.writable(), chan.handle_write),
        ):
            if ready:
                was_readable = chan.readable()
                handle()
                peak = max(peak, sum(len(item) for item in chan.producer_fifo))
                pauses += was_readable and not chan.readable()
        if len(sock.wire) == len(STREAM):
            break
    assert bytes(sock.wire) == STREAM
    assert pauses >= 2 and peak <= 1000 + 100


def test_off_by_default(engine):
    chan, sock = stalled_peer(echo_class(asynchat.async_chat))
    chan.handle_read()
    assert chan.readable() and chan.lines == LINES
    assert sum(map(len, chan.producer_fifo)) == len(STREAM)
    chan.close()


class Pieces:
    def __init__(self, count, size):
        self.left = count
        self.size = size

    def more(self):
        if not self.left:
            return b""
        self.left -= 1
        return b"p" * self.size


def test_a_producer_counts_once_it_has_produced(engine):
    cls = type("Small", (marked(high=1500, low=0),), {"ac_out_buffer_size": 1000})
    chan, sock = stalled_peer(cls, b"no terminator yet")
    chan.push_with_producer(Pieces(10, 500))  # 5000 bytes to come, 1000 produced for one send
    assert chan.readable()
    chan.ac_out_high_water = 999
    chan.handle_read()  # the settings are read at every recv that brings data
    assert not chan.readable()
    sock.faults.send_max = None
    pump(chan, sock)
    assert bytes(sock.wire) == b"p" * 5000 and chan.readable()
    chan.close()


def test_discard_buffers_resumes_reading(engine):
    chan, sock = stalled_peer(marked())
    chan.handle_read()
    assert not chan.readable()
    chan.discard_buffers()
    assert chan.readable() and chan.ac_in_buffer == b""
    chan.close()


def test_output_taken_out_of_the_fifo_by_user_code_does_not_wedge_the_channel(engine):
    chan, sock = stalled_peer(marked())
    chan.handle_read()
    chan.producer_fifo.clear()  # not through discard_buffers(): the engine's count is stale
    assert chan.writable()  # so that the loop comes back and finds out
    sock.faults.send_max = None
    pump(chan, sock)
    assert chan.lines == LINES and chan.readable()
    chan.close()


def test_a_stale_count_is_reset_when_a_send_empties_the_fifo(engine):
    chan, sock = stalled_peer(marked(high=1000, low=200), stream=b"")
    chan.push(b"a" * 600)  # the peer takes nothing: 600 bytes wait
    chan.producer_fifo.clear()  # by user code: the engine still counts those 600
    sock.faults.send_max = None
    chan.push(b"b" * 10)  # sent whole: nothing waits now, whatever the count said
    sock.faults.send_max = 0
    chan.push(b"c" * 500)
    assert chan.readable()  # 500 bytes wait, under the high mark
    chan.close()


def test_output_pushed_from_inside_send_is_counted(engine):
    """A send() that pushes (a logging or tee subclass) leaves that output counted, not reset."""

    class PushingSend(marked(high=1000, low=200)):
        def send(self, data):
            sent = super().send(data)
            if data.startswith(b"first"):
                self.socket.faults.send_max = 0  # the peer takes nothing more
                self.push(b"x" * 900)  # under the high mark
            return sent

    chan, sock = stalled_peer(PushingSend, stream=b"")
    sock.faults.send_max = None
    chan.push(b"first")  # taken whole; the push inside send() left 900 bytes waiting
    assert chan.readable()
    chan.push(b"y" * 500)  # 1400 bytes wait
    assert not chan.readable()
    chan.close()


def test_the_marks_work_with_the_message_limit_and_every_terminator_kind(engine, ref):
    """Pausing between messages leaves the callback trace the reference's."""

    def record(base, **settings):
        class Recording(base):
            vars().update(settings)

            def __init__(self, sock, sock_map):
                base.__init__(self, sock, sock_map)
                self.trace = []
                self.set_terminator(b"\r\n")

            def collect_incoming_data(self, data):
                self.trace.append(data)

            def found_terminator(self):
                self.trace.append(self.terminator)
                self.push(b"r" * 300)
                self.set_terminator([b"\r\n", 7, b"END"][len(self.trace) % 3])

        return Recording

    ours = record(asynchat.async_chat, ac_out_high_water=500, ac_out_low_water=100, ac_max_message_size=100)
    stream = b"".join(b"abc\r\n1234567xyzEND" for _ in range(50))
    traces = []
    for cls in (ours, record(ref.async_chat)):
        sock = FakeSocket(stream, Faults(recv_max=700, send_max=123))
        chan = cls(sock, {})
        pump(chan, sock)
        traces.append((chan.trace, len(sock.wire)))
        chan.close()
    assert traces[0] == traces[1]
    assert traces[0][1] >= 50 * 300  # every reply went out

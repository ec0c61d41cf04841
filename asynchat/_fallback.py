"""The pure-Python engine: framing of received bytes, and async_chat's output methods.

The engine is two halves.  The input half is sans-IO: a `Framer` takes the
bytes that one ``recv()`` returned and drives the consumer's callbacks
(``get_terminator()``, ``collect_incoming_data()``, ``found_terminator()``)
exactly as CPython 3.11's ``async_chat.handle_read()`` would; it never
touches a socket.  The output half is not, by design: `push`,
`initiate_send` and `send_deferred` are ``async_chat``'s output methods
themselves (the class takes them from its engine), so that a push is one
call that queues (`_enqueue`), applies the output rule and sends.  They
reach the socket only through the channel's own ``send()``,
``handle_error()`` and ``handle_close()``, and `_take_chunk` gathers the
next bytes to send off the front of the producer fifo (a
``collections.deque`` that user code may also inspect and change).

The compiled engine (``asynchat._speedups``) has this module's exact API; the
stub ``_speedups.pyi`` documents it.
"""

from __future__ import annotations

from typing import Any

from asynchat._settings import (
    BYTES_LIKE,
    PAUSED,
    READING,
    REENTERED,
    RESUMING,
    UNLIMITED,
    buffer_size,
    negative_sent,
    negative_terminator,
    not_pushable,
    protection,
    sent_count,
)

__all__ = ["Framer", "find_prefix_at_end", "push", "push_with_producer", "initiate_send", "send_deferred"]


def _as_bytes(data, what):
    """Return bytes-like *data* as bytes; raise TypeError for anything else."""
    if isinstance(data, BYTES_LIKE):
        return bytes(data)
    raise TypeError(f"{what} must be bytes-like, not {type(data).__name__}")


def find_prefix_at_end(haystack, needle):
    """Return the length of the longest proper prefix of *needle* that ends *haystack*.

    Works on bytes and on str.  ``find_prefix_at_end(b"qwerty\\r", b"\\r\\n")`` is 1.
    The caller has already ruled out a whole *needle* at the end.
    """
    if not needle:
        # The reference module answers -1 here; kept for exact compatibility.
        haystack.endswith(needle)  # same TypeError as the reference for mixed types
        return -1
    return _held_back(haystack, 0, needle)


def _flush_after_feed(framer, chan):
    """After a feed's callbacks: one initiate_send() call sends what the pushes put off queued.

    Both engines' `Framer.feed` end with it (it is not on the per-message path).
    """
    if chan._in_service():
        framer.deferred -= 1  # that call counts for itself (see initiate_send)
        chan.initiate_send()
    else:
        framer.deferred = 0  # closed or taken out of its map by a callback: not ours to send


def _held_back(buf, start, term):
    """Length of the longest proper prefix of *term* that ends ``buf[start:]``."""
    end = len(buf)
    # A prefix ending the buffer starts within its last len(term) - 1 bytes
    # with term's first byte; the leftmost such start is the longest prefix.
    first = term[:1]
    at = buf.find(first, max(start, end - len(term) + 1))
    while at >= 0:
        if term.startswith(buf[at:]):
            return end - at
        at = buf.find(first, at + 1)
    return 0


class Framer:
    """The engine's state for one channel: framing, the message limit, output, the output rule, the loop.

    The fields of each part are listed together in ``__slots__``, with what
    they mean.  It is one object, not five, because every access from the hot
    path would otherwise pay one more attribute lookup.  *base* is the consumer's base
    class (the compiled engine uses it; here every callback is called, as
    the reference does, which the JIT of PyPy serves best).
    """

    __slots__ = (
        # Framing.  _buf[_pos:] is the unprocessed input (ac_in_buffer): consumed
        # input is skipped by moving _pos, where the reference re-sliced the whole
        # buffer per message.  _taken: where the bytes handed to the running
        # callback end, with their terminator; input after it waits (pending()).
        # feeding: feed() is running callbacks; a nested feed() is refused.
        "_buf",
        "_pos",
        "_taken",
        "feeding",
        # The message limit (ac_max_message_size, as configure() stores it):
        # _size is what the current message handed to collect_incoming_data();
        # _skipping, once it crossed limit, until its end: its terminator, or,
        # under a terminator of None (_streaming), the next step under another.
        "limit",
        "_size",
        "_skipping",
        "_streaming",
        # Output and flow control: queued counts the bytes pushed or produced and
        # not yet sent; flow is PAUSED above high, RESUMING once drained to low
        # until the adapter framed what waited, else READING (asynchat._settings).
        "queued",
        "high",
        "low",
        "flow",
        # The output rule: reading is true while feed() runs callbacks under it,
        # and deferred counts the initiate_send() calls put off meanwhile.
        "reading",
        "deferred",
        # The loop: None, or the dict in which an asynchat.loop() running the
        # channel collects the channels whose readable()/writable() to ask again.
        "recheck",
    )
    # The fields' types, for type checkers (__new__ sets them).
    _buf: bytes
    _pos: int
    _taken: int
    feeding: bool
    limit: int
    _size: int
    _skipping: bool
    _streaming: bool
    queued: int
    high: int
    low: int
    flow: int
    reading: bool
    deferred: int
    recheck: dict[int, Any] | None

    def __new__(cls, *args, **kwargs):
        # The state is made here, so a Framer is valid even if __init__ never runs.
        self = super().__new__(cls)
        self._buf = b""
        self._pos = 0
        self._taken = 0
        self.feeding = False
        self.reading = False
        self.deferred = 0
        self._size = 0
        self._skipping = self._streaming = False
        self.limit = self.high = self.low = UNLIMITED
        self.queued = 0
        self.flow = READING
        self.recheck = None
        return self

    def __init__(self, base=None):
        pass  # *base* serves the compiled engine only

    def configure(self, chan):
        """Take *chan*'s protection settings (checked); the engine reads them again each recv."""
        limit = chan.ac_max_message_size
        high = chan.ac_out_high_water
        low = chan.ac_out_low_water
        if limit is None and high is None and low is None:
            if self.limit == self.high == UNLIMITED:
                return  # the usual case: all off, as before
            limit = high = low = UNLIMITED
        else:
            limit, high, low = protection(limit, high, low)
        if limit != self.limit:  # a new limit counts from here
            self._size = 0
            self._skipping = self._streaming = False
        self.limit, self.high, self.low = limit, high, low
        self.count_output(0)
        if self.flow == PAUSED and self.queued <= self.low:
            self.flow = RESUMING

    def count_output(self, n):
        """*n* more bytes were queued: pause reading above the high mark."""
        self.queued += n
        if self.queued > self.high:
            self.flow = PAUSED

    def sent(self, n, fifo):
        """*n* bytes left through send(); *fifo* is the producer fifo after it."""
        if n < 0:
            raise negative_sent(n)
        queued = self.queued - n
        # Bytes that user code put in or took out of the fifo itself are not
        # counted: an empty fifo sets the count right.
        self.queued = queued if queued > 0 and fifo else 0
        if self.flow == PAUSED and self.queued <= self.low:
            self.flow = RESUMING

    def watch(self, recheck):
        """Report to *recheck* (a loop's dict of channels to ask again), or to nobody (None)."""
        self.recheck = recheck

    def ask_again(self, chan):
        """The loop running *chan* (if it reports to one) is to ask its readable() and writable() again.

        initiate_send() does it inline, after every send.
        """
        if self.recheck is not None:
            self.recheck[id(chan)] = chan

    def resume(self):
        """The adapter is about to frame what waited while reading was paused.

        Back to reading once the output drained; True if the input that waited
        is to be framed now (it is not if a feed is running: it goes on by itself).
        """
        if self.flow != RESUMING:
            return False
        self.flow = READING
        return not self.feeding

    def drop_deferred(self):
        """Forget the put-off initiate_send() calls: what they queued is sent by other means (start_tls())."""
        self.deferred = 0

    def discard(self):
        """Forget all input and output (discard_buffers())."""
        self.replace(b"")
        self._size = 0
        self._skipping = self._streaming = False
        self.queued = 0
        if self.flow == PAUSED:
            self.flow = RESUMING  # the adapter frames what waited

    def unprocessed(self):
        """The bytes received but not yet handed to the consumer."""
        pos = self._pos
        if pos:
            # Compact, so that reading it again without progress costs nothing.
            self._buf = self._buf[pos:]
            self._pos = 0
            self._taken -= pos
        return self._buf

    def pending(self):
        """Whether received input waits to be framed after what the running callback was given.

        The output rule asks it: a push made while it is false goes out at once.
        """
        pos = self._pos
        taken = self._taken
        return len(self._buf) > (taken if taken > pos else pos)

    def replace(self, data):
        """Make *data* the unprocessed input (``ac_in_buffer = data``)."""
        self._buf = data if type(data) is bytes else _as_bytes(data, "ac_in_buffer")
        self._pos = 0
        self._taken = 0

    def feed(self, chan, data):
        """Append *data* and run *chan*'s callbacks over everything unprocessed.

        After each callback the state is re-read, so a callback may assign
        ``ac_in_buffer``, rebind its methods or change the terminator (string,
        int or None) and the next step sees it, as with the reference.
        Processing stops when the buffer is empty, when only a prefix of the
        terminator is left, or while reading is paused; a step that collects
        everything ends it, since the reference then empties the buffer.
        A callback that raises has not taken its bytes, as with the reference.
        A callback that makes the channel read again (a nested feed) gets a
        RuntimeError.

        The output rule is the engine's too: unless *chan* sets
        ``ac_defer_output`` false, pushes made while more of the input waits
        are put off (`initiate_send`), and once the callbacks are done one
        ``initiate_send()`` call carries them all.
        """
        if self.feeding:
            raise RuntimeError(REENTERED)
        deferring = bool(chan.ac_defer_output)
        if type(data) is not bytes:
            data = _as_bytes(data, "recv() result")
        self.configure(chan)
        if data:
            if self._pos < len(self._buf):
                self._buf = self._buf[self._pos :] + data
            else:
                self._buf = data
            self._pos = 0
            self._taken = 0
        self.feeding = True
        self.reading = deferring
        try:
            self._frame(chan)
        finally:
            self.feeding = self.reading = False
            if deferring and self.deferred:
                _flush_after_feed(self, chan)

    def _frame(self, chan):
        """The steps of `feed` over the unprocessed input."""
        limited = self.limit != UNLIMITED  # settings change at the next recv only
        while True:
            buf = self._buf
            pos = self._pos
            n = len(buf)
            if n <= pos:
                if pos:  # all consumed: drop the buffer rather than keep it alive
                    self._buf = b""
                    self._pos = 0
                return
            if self.flow and self.flow == PAUSED:  # (READING, the usual case, is 0: one test)
                return  # the rest waits until the output drains
            # One step: the data buf[pos:end] goes to the consumer; then either a
            # terminator of m bytes (found), or the wait for more input, keeping
            # the last *keep* bytes (a terminator prefix).
            term = chan.get_terminator()
            if limited and self._streaming and term:
                # Out of a terminator of None: a new message.
                self._size = 0
                self._skipping = self._streaming = False
            count = -1  # an int terminator's count
            end = -1
            m = keep = 0
            if type(term) is not bytes or not term:
                if not term:
                    end = n  # None, 0 or b"": everything is data
                    if limited:
                        self._streaming = True
                elif isinstance(term, int):
                    if term < 0:
                        raise negative_terminator(term)
                    count = term
                    if n - pos >= count and not limited:
                        # The usual step, a record found, without the bookkeeping below.
                        # This and the line step further on repeat part of the general
                        # step on purpose, as measured: without them, on CPython 3.11
                        # a 16-byte line costs 6,969 instructions instead of 6,512
                        # (bench/instructions.py), and on PyPy length-prefixed records
                        # take a quarter longer (bench/bench_framing.py).
                        self._taken = pos + count
                        chan.collect_incoming_data(buf[pos : pos + count])
                        self._pos += count
                        chan.terminator = 0
                        chan.found_terminator()
                        continue
                    end = n if n - pos < count else pos + count
                else:
                    term = _as_bytes(term, "terminator")
            if end < 0:
                index = buf.find(term, pos)
                if index >= 0 and not limited:
                    # The usual step, a line found, without the bookkeeping below.
                    end = index + len(term)
                    if index > pos:
                        self._taken = end
                        chan.collect_incoming_data(buf[pos:index])
                    self._pos += end - pos
                    chan.found_terminator()
                    continue
                if index >= 0:
                    end = index
                    m = len(term)
                else:
                    keep = _held_back(buf, pos, term)
                    if keep == n - pos:
                        return
                    end = n - keep
            size = end - pos
            if size:
                if not limited:
                    self._taken = end + m
                    chan.collect_incoming_data(buf if size == n else buf[pos:end])
                elif not self._skipping:
                    if size > self.limit - self._size:
                        self._cross(chan, buf, pos, count >= 0)
                        continue
                    self._taken = end + m
                    chan.collect_incoming_data(buf if size == n else buf[pos:end])
                    self._size += size
            if m or (count >= 0 and size == count):
                # Relative to the buffer as it is now: a callback may have replaced it.
                self._pos += size + m
                if count >= 0:
                    chan.terminator = 0
                if limited:
                    self._size = 0
                    self._skipping = False
                chan.found_terminator()
            elif keep:
                self._pos = max(self._pos, len(self._buf) - keep)
                return
            else:
                self._buf = b""
                self._pos = 0
                if count >= 0:
                    chan.terminator = chan.terminator - size
                return

    def _cross(self, chan, buf, pos, counting):
        """The message crosses the limit: hand over what fits, then skip the rest of it."""
        room = self.limit - self._size
        if room:
            self._taken = pos + room
            chan.collect_incoming_data(buf[pos : pos + room])
            self._pos += room
            if counting:
                chan.terminator = chan.terminator - room
        self._skipping = True
        chan.handle_message_too_large()


def _enqueue(fifo, data, limit):
    """Append bytes-like *data* to *fifo* in pieces of at most *limit* bytes.

    Pieces of bytes are memoryviews (no copy); pieces of a bytearray are
    copies, so the caller may change it afterwards.
    """
    size = len(data)
    if size <= limit:
        fifo.append(data)
        return
    if limit <= 0:
        buffer_size("ac_out_buffer_size", limit)
    if type(data) is bytes:
        data = memoryview(data)
    fifo.extend([data[i : i + limit] for i in range(0, size, limit)])


def _as_output(data, encoding, what):
    """Bytes-like *data* as is; str encoded when the channel has an encoding."""
    if isinstance(data, BYTES_LIKE):
        return data
    if isinstance(data, str):
        if encoding is not None:
            return data.encode(encoding)
        raise TypeError(f"{what} is str; push bytes, or set use_encoding on the channel")
    raise TypeError(f"{what} must be bytes-like, not {type(data).__name__}")


def _take_chunk(fifo, limit, encoding=None, framer=None):
    """Take the next bytes to send, at most *limit* of them, off the front of *fifo*.

    Gathers consecutive queued buffers and the results of producers' ``more()``
    (a producer stays at the front until it is exhausted).  Empty buffers are
    dropped.  Stops before a ``None`` (close) marker; when that marker is at the
    front, it is removed and None is returned.  Returns b"" when there is
    nothing to send.  The caller puts back at the front what the socket did
    not take.  Output produced here counts as queued on *framer*, if given.
    """
    parts: list[Any] = []
    size = 0
    try:
        while size < limit and fifo:
            item = fifo[0]
            if item is None:
                if not parts:
                    fifo.popleft()
                    return None
                break
            if not isinstance(item, BYTES_LIKE):
                if isinstance(item, str):
                    produced = fifo[0] = _as_output(item, encoding, "a queued item")
                else:
                    produced = item.more()
                    if not produced:
                        fifo.popleft()
                        continue
                    # Queued before its producer, so an error below loses nothing.
                    fifo.appendleft(_as_output(produced, encoding, "producer.more() result"))
                if framer is not None:
                    framer.count_output(len(produced))
                continue
            fifo.popleft()
            n = len(item)
            room = limit - size
            if n > room:
                # Views, so that an item much larger than a send is never re-copied.
                if type(item) is not memoryview:
                    item = memoryview(item if type(item) is bytes else bytes(item))
                fifo.appendleft(item[room:])
                item = item[:room]
                n = room
            if n:
                parts.append(item)
                size += n
    except BaseException:
        fifo.extendleft(reversed(parts))
        raise
    if not parts:
        return b""
    return parts[0] if len(parts) == 1 else b"".join(parts)


def push(self, data):
    """Queue bytes, bytearray or memoryview *data* for sending, and start sending."""
    if not isinstance(data, BYTES_LIKE):
        raise not_pushable(data)
    limit = self.ac_out_buffer_size
    size = len(data)
    if size <= limit:
        self.producer_fifo.append(data)
    else:
        _enqueue(self.producer_fifo, data, limit)
    framer = self._framer
    framer.queued += size  # count_output(size), without a call in the usual case
    if framer.queued > framer.high:
        framer.count_output(0)
    self.initiate_send()


def push_with_producer(self, producer):
    """Queue a producer (anything with ``more()``) or bytes, and start sending.

    Not on the hot path: the compiled engine uses this function as it is.
    """
    if not (
        producer is None
        or isinstance(producer, BYTES_LIKE)
        or (isinstance(producer, str) and self.use_encoding)
        or callable(getattr(producer, "more", None))
    ):
        raise TypeError(
            f"push_with_producer() takes an object with a more() method or bytes, not {type(producer).__name__}"
        )
    self.producer_fifo.append(producer)
    if isinstance(producer, BYTES_LIKE):
        self._framer.count_output(len(producer))  # a producer counts once it has produced (_take_chunk)
    self.initiate_send()


def initiate_send(self):
    """Send queued output, or put it off while the peer pipelines (the output rule).

    While received input waits to be framed after what the running callback
    was given, the call only counts itself in ``framer.deferred``; the next
    call made otherwise sends one chunk for itself and one per call put off,
    as the reference would have sent one per call.
    """
    framer = self._framer
    # framer.reading and framer.pending(), without a call: every push a callback makes asks it.
    if framer.reading and len(framer._buf) > framer._taken and len(framer._buf) > framer._pos:
        framer.deferred += 1
        return
    if framer.recheck is not None:
        framer.recheck[id(self)] = self  # the queue may fill or drain: the loop asks again
    fifo = self.producer_fifo
    if not framer.deferred and len(fifo) == 1:
        first = fifo[0]
        if type(first) is bytes:
            size = len(first)
            if 0 < size <= self.ac_out_buffer_size and self.connected:
                # The usual reply, one buffer: straight to send(), as the reference.
                fifo.popleft()
                try:
                    sent = self.send(first)
                except BaseException as failure:
                    _send_failed(self, first, failure)
                    return
                if type(sent) is not int or sent != size or framer.flow:  # flow: paused or resuming
                    _settle(self, first, sent)
                elif self.producer_fifo:  # what framer.sent() does here, without a call
                    queued = framer.queued - sent
                    framer.queued = queued if queued > 0 else 0
                else:
                    framer.queued = 0
                return
    rounds = 1 + framer.deferred
    framer.deferred = 0
    _send_chunks(self, rounds, True)


def send_deferred(self):
    """Send what put-off initiate_send() calls left queued, without calling initiate_send().

    For close(), del_channel() and discard_buffers() inside a callback: the
    reference had sent each of those pushes already.
    """
    framer = self._framer
    rounds, framer.deferred = framer.deferred, 0
    _send_chunks(self, rounds, False)


def _send_chunks(chan, rounds, may_close):
    """Send up to *rounds* chunks of queued output, while the socket takes some of each.

    A close marker (None) at the front of the queue closes the channel only in
    the first round, when *may_close*: a round that stands for a put-off push
    sends data, as that push would have.
    """
    fifo = chan.producer_fifo
    limit = chan.ac_out_buffer_size
    if type(limit) is not int or not 0 < limit <= UNLIMITED:
        limit = buffer_size("ac_out_buffer_size", limit)
    encoding = chan.encoding if chan.use_encoding else None
    framer = chan._framer
    while rounds and fifo and chan.connected:
        rounds -= 1
        if fifo[0] is None and not may_close:
            return
        may_close = False
        chunk = _take_chunk(fifo, limit, encoding, framer)
        if chunk is None:
            chan.handle_close()
            return
        if not chunk or not _send_or_requeue(chan, chunk):
            return


def _send_or_requeue(chan, chunk):
    """chan.send(chunk); what it did not take goes back to the front of the queue.

    Returns how many bytes were sent.
    """
    try:
        sent = chan.send(chunk)
    except BaseException as failure:
        return _send_failed(chan, chunk, failure)
    return _settle(chan, chunk, sent)


def _send_failed(chan, chunk, failure):
    """send() raised *failure* (being handled): the chunk goes back to the front of the queue.

    OSError goes to handle_error(), as in the reference; any other exception
    propagates, with nothing lost.
    """
    chan.producer_fifo.appendleft(chunk)
    if not isinstance(failure, OSError):
        raise failure
    chan.handle_error()
    return 0


def _settle(chan, chunk, sent):
    """After send(chunk) returned *sent*: the rest of the chunk goes back to the queue, and the count drops.

    A result that is no count of bytes raises (see asynchat._settings.sent_count),
    with the whole chunk put back.
    """
    size = len(chunk)
    fifo = chan.producer_fifo
    if type(sent) is not int or sent < 0 or sent > size:
        try:
            sent = sent_count(sent, size)
        except BaseException:
            fifo.appendleft(chunk)
            raise
    if sent < size:
        fifo.appendleft(chunk[sent:] if sent else chunk)
    chan._framer.sent(sent, fifo)  # may resume reading
    return sent

# cython: language_level=3
# cython: boundscheck=False, wraparound=False, cdivision=True
# cython: freethreading_compatible=True
# cython: embedsignature=True, embedsignature.format=clinic
#
# boundscheck/wraparound: every index and slice below is computed from offsets
# kept within 0 <= pos <= len(buffer) (checked where a callback may have
# shortened the buffer), never negative.
#
# freethreading_compatible: the module has no mutable state of its own, and a
# Framer is its channel's, which belongs to one thread (docs/loop.md, "Threads").
"""The compiled engine: the exact API of asynchat/_fallback.py, with the hot path in C.

Terminators are searched for with memchr (and memcmp for the rest of a short
terminator), the held-back terminator prefix at the end of a buffer is found
with memcmp, and byte-count terminators slice without copying the buffer.
Where a channel keeps the base class's ``get_terminator``, its work is done
here, without its frame.  `Framer` finds the messages and hands back the
callbacks to make; asynchat/_dispatch.py makes them, in Python on purpose.

``push()``, ``initiate_send()`` (the output rule, and gathering) and
``send_deferred()`` are ``async_chat``'s methods themselves: a push is one call.

Why a second source rather than _fallback.py compiled by Cython: compiled as
it is, that file pushes in 5,856 instructions (this one 3,547), echoes a
pipelined line in 12,078 (4,810) and frames a 16-byte line in 6,839 (2,974),
CPython 3.11; what makes the difference (C types, memchr, method lookups
without bound methods) is not expressible in Python.
"""

cimport cython
from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize, PyBytes_GET_SIZE
from cpython.exc cimport PyErr_Clear, PyErr_Occurred
from cpython.object cimport PyObject
from cpython.ref cimport Py_DECREF
from libc.string cimport memchr, memcmp

from asynchat._fallback import _as_bytes, _as_output
from asynchat._settings import REENTERED as _REENTERED, UNLIMITED as _UNLIMITED
from asynchat._settings import buffer_size as _buffer_size, protection as _protection
from asynchat._settings import sent_count as _sent_count
from asynchat._settings import negative_sent as _negative_sent, negative_terminator as _negative_terminator
from asynchat._settings import not_pushable as _not_pushable
import asynchat._settings as _settings
from asynchat._fallback import find_prefix_at_end as _find_prefix_at_end_any
from asynchat._fallback import push_with_producer  # not on the hot path: one copy
from asynchat._fallback import _flush_after_feed  # likewise
from asynchat._dispatch import dispatch as _dispatch

__all__ = ["Framer", "find_prefix_at_end", "push", "push_with_producer", "initiate_send", "send_deferred"]

cdef extern from "Python.h":
    const Py_ssize_t PY_SSIZE_T_MAX

cdef extern from *:
    """
    /* Exported by CPython 3.9 to 3.15, private, what the interpreter's method
       calls use; 3.13+ declare it in an internal header only. */
    #if PY_VERSION_HEX >= 0x030D0000
    PyAPI_FUNC(int) _PyObject_GetMethod(PyObject *obj, PyObject *name, PyObject **method);
    #endif
    """
    # *method is the class's function, returning 1, or the attribute as getattr() gives it.
    int _PyObject_GetMethod(object obj, object name, PyObject **method)

cdef extern from *:
    """
    /* An error is set: make Cython raise it. */
    static PyObject *asynchat_raise_pending(void) { return NULL; }
    """
    object _raise_pending "asynchat_raise_pending"()
    # Declared without Cython's error check: -1 with an error set means "not a count that fits".
    Py_ssize_t _as_ssize_or_error "PyLong_AsSsize_t"(object)

# Longer terminators go to bytes.find, which is linear whatever the input;
# memchr + memcmp costs up to this many byte compares per candidate.
cdef enum:
    SHORT_TERMINATOR = 16

# What Framer._advance() says comes next.
cdef enum:
    STOP = -1
    TOO_LARGE = 0
    FOUND = 1

# What a protection setting of None is stored as (asynchat._settings.UNLIMITED).
cdef Py_ssize_t UNLIMITED = _UNLIMITED

# Framer.flow: asynchat._settings.READING, PAUSED and RESUMING, checked at import.
cdef enum:
    READING = 0
    PAUSED = 1
    RESUMING = 2
if (READING, PAUSED, RESUMING) != (_settings.READING, _settings.PAUSED, _settings.RESUMING):
    raise ImportError("asynchat._speedups: the flow states differ from asynchat._settings's")

# The callbacks are looked up on the channel per message, as the reference does,
# so that a method rebound on the instance or its class takes effect at once.
# Nothing here reads the instance's __dict__: asking for it makes CPython 3.11+
# turn the instance's inline attribute storage into a real dict, which slows
# every attribute access in the user's own callbacks by about half.

cdef inline object _lookup(obj, name, bint *unbound):
    """obj.name, looked up as the interpreter's own method calls do (_PyObject_GetMethod).

    *unbound* is set when the answer is the class's function, not bound to obj
    (call it with obj first): it is not shadowed, and no bound method is made.
    """
    cdef PyObject *found = NULL
    unbound[0] = _PyObject_GetMethod(obj, name, &found)
    if found == NULL:
        return _raise_pending()
    attribute = <object>found
    Py_DECREF(attribute)  # the reference _PyObject_GetMethod gave; attribute holds its own
    return attribute


cdef inline object _terminator(chan, base_get):
    cdef bint unbound
    get = _lookup(chan, "get_terminator", &unbound)
    if not unbound:
        return get()
    if get is base_get:
        return chan.terminator  # what the base class's get_terminator() returns, without its frame
    return get(chan)


cdef inline Py_ssize_t _find(const char *buf, Py_ssize_t start, Py_ssize_t end,
                             const char *term, Py_ssize_t m) noexcept nogil:
    """Index of the first *term* (m >= 1 bytes) within buf[start:end], or -1."""
    cdef const char *p = buf + start
    cdef const char *last
    if end - start < m:
        return -1
    if m == 1:
        p = <const char *>memchr(p, <unsigned char>term[0], end - start)
        return -1 if p == NULL else p - buf
    last = buf + end - m
    while p <= last:
        p = <const char *>memchr(p, <unsigned char>term[0], last - p + 1)
        if p == NULL:
            return -1
        if memcmp(p + 1, term + 1, m - 1) == 0:
            return p - buf
        p += 1
    return -1


cdef inline Py_ssize_t _held_back(const char *buf, Py_ssize_t start, Py_ssize_t end,
                                  const char *term, Py_ssize_t m) noexcept nogil:
    """Length of the longest proper prefix of *term* that ends buf[start:end]."""
    cdef Py_ssize_t k = m - 1
    if k > end - start:
        k = end - start
    while k > 0:
        if memcmp(buf + end - k, term, k) == 0:
            return k
        k -= 1
    return 0


cdef Py_ssize_t _byte_count(object term) except -1:
    """An int terminator as a count; counts beyond Py_ssize_t never fit in a buffer anyway."""
    cdef Py_ssize_t count
    try:
        count = term
    except OverflowError:
        if term > 0:
            return PY_SSIZE_T_MAX
        raise _negative_terminator(term)
    if count < 0:
        raise _negative_terminator(term)
    return count


def find_prefix_at_end(haystack, needle):
    """Return the length of the longest proper prefix of *needle* that ends *haystack*.

    Works on bytes and on str.  ``find_prefix_at_end(b"qwerty\\r", b"\\r\\n")`` is 1.
    """
    if type(haystack) is not bytes or type(needle) is not bytes or not needle:
        return _find_prefix_at_end_any(haystack, needle)
    return _held_back(PyBytes_AS_STRING(haystack), 0, PyBytes_GET_SIZE(haystack),
                      PyBytes_AS_STRING(needle), PyBytes_GET_SIZE(needle))


@cython.binding(False)  # plain C methods: the interpreter specialises calls to them
cdef class Framer:
    """One channel's receive buffer, scanned by offset, and output count (see asynchat._fallback.Framer)."""

    cdef bytes _buf  # never None: set from allocation (__cinit__)
    cdef Py_ssize_t _pos
    cdef Py_ssize_t _taken  # where the bytes handed to the running callback end
    cdef object _base_get
    cdef readonly bint feeding  # feed() is running callbacks: a nested feed() is refused
    cdef public bint reading  # feed() is running callbacks under the output rule
    cdef public Py_ssize_t deferred  # initiate_send() calls put off meanwhile
    cdef Py_ssize_t _size  # handed to collect_incoming_data() for the current message
    cdef bint _skipping  # the current message crossed the limit
    cdef bint _streaming  # the current message is under a terminator of None
    cdef public Py_ssize_t limit, high, low  # the protection settings; UNLIMITED for None
    cdef public Py_ssize_t queued  # bytes pushed or produced and not yet sent
    cdef readonly int flow  # asynchat._settings.READING, PAUSED or RESUMING
    cdef readonly object recheck  # None, or the dict of the loop running the channel (watch())
    # What _next() found, for _advance(): the span of input, the terminator's
    # length, the prefix kept back, an int terminator's count (else -1), and
    # the bytes of a message crossing the limit (else -1).
    cdef Py_ssize_t _span, _m, _keep, _count, _crossed
    cdef bint _limited  # a message size limit applies during this feed
    cdef object _chan  # the channel feed() is running the callbacks of, else None
    cdef bint _handed  # __next__ gave collect_incoming_data() its bytes: move past them next

    def __cinit__(self, *args, **kwargs):
        # Here rather than in __init__, which a subclass or __new__ may skip:
        # the C code reads _buf as bytes.  Numbers and flags start at zero.
        self._buf = b""
        self.limit = self.high = self.low = UNLIMITED

    def __init__(self, base=None):
        self._base_get = getattr(base, "get_terminator", None)

    def configure(self, chan):
        """Take *chan*'s protection settings (checked); the engine reads them again each recv."""
        self._configure(chan)

    cdef int _configure(self, chan) except -1:
        cdef Py_ssize_t limit = UNLIMITED
        max_message_size = chan.ac_max_message_size
        high_water = chan.ac_out_high_water
        low_water = chan.ac_out_low_water
        if max_message_size is None and high_water is None and low_water is None:
            self.high = self.low = UNLIMITED
        else:
            limit, self.high, self.low = _protection(max_message_size, high_water, low_water)
        if limit != self.limit:  # a new limit counts from here
            self._size = 0
            self._skipping = self._streaming = False
            self.limit = limit
        self._count_output(0)
        if self.flow == PAUSED and self.queued <= self.low:
            self.flow = RESUMING
        return 0

    def count_output(self, Py_ssize_t n):
        """*n* more bytes were queued: pause reading above the high mark."""
        self._count_output(n)

    cdef inline void _count_output(self, Py_ssize_t n) noexcept:
        self.queued += n
        if self.queued > self.high:
            self.flow = PAUSED

    def sent(self, Py_ssize_t n, fifo):
        """*n* bytes left through send(); *fifo* is the producer fifo after it."""
        if n < 0:
            raise _negative_sent(n)
        self._sent(n, fifo)

    cdef inline int _sent(self, Py_ssize_t n, fifo) except -1:
        self.queued -= n
        # Bytes that user code put in or took out of the fifo itself are not
        # counted: an empty fifo sets the count right.
        if self.queued < 0 or not fifo:
            self.queued = 0
        if self.flow == PAUSED and self.queued <= self.low:
            self.flow = RESUMING
        return 0

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
        """The adapter is about to frame what waited while reading was paused (see the fallback)."""
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
        if self._pos:
            self._buf = self._buf[self._pos:] if self._pos < PyBytes_GET_SIZE(self._buf) else b""
            self._taken -= self._pos
            self._pos = 0
        return self._buf

    cdef inline bint _pending(self):
        cdef Py_ssize_t end = self._taken if self._taken > self._pos else self._pos
        return PyBytes_GET_SIZE(self._buf) > end

    def pending(self):
        """Whether received input waits to be framed after what the running callback was given."""
        return self._pending()

    def replace(self, data):
        """Make *data* the unprocessed input (``ac_in_buffer = data``)."""
        self._buf = data if type(data) is bytes else _as_bytes(data, "ac_in_buffer")
        self._pos = 0
        self._taken = 0

    def feed(self, chan, data):
        """Append *data* and run *chan*'s callbacks over everything unprocessed.

        A callback that makes the channel read again (a nested feed) gets a RuntimeError.
        """
        if self.feeding:
            raise RuntimeError(_REENTERED)
        cdef bint deferring = bool(chan.ac_defer_output)  # the output rule (see the fallback)
        if type(data) is not bytes:
            data = _as_bytes(data, "recv() result")
        self._configure(chan)
        if PyBytes_GET_SIZE(data):
            if self._pos < PyBytes_GET_SIZE(self._buf):
                self._buf = self._buf[self._pos:] + data
            else:
                self._buf = data
            self._pos = 0
            self._taken = 0
        self._limited = self.limit != UNLIMITED  # settings change at the next recv only
        self._handed = False
        self._chan = chan
        self.feeding = True
        self.reading = deferring
        try:
            # Iterating the Framer gives the callbacks to call, one by one (see
            # asynchat._dispatch for why that loop is in Python).
            _dispatch(self, chan)
        finally:
            self.feeding = self.reading = False
            self._chan = None
            if deferring and self.deferred:
                _flush_after_feed(self, chan)

    # __next__ gives, in turn, the bytes for collect_incoming_data() and, once
    # that returned, True for found_terminator() or False for
    # handle_message_too_large().  A for loop enters C through tp_iternext, the
    # cheapest way in.

    def __iter__(self):
        return self

    def __next__(self):
        chan = self._chan
        if chan is None:
            raise StopIteration  # only feed() iterates
        cdef int step
        cdef bint handed = self._handed
        if handed:
            self._handed = False
        else:
            piece = self._next(chan)
            if piece is None:
                raise StopIteration
            if piece is not False:
                self._handed = True
                return piece
        step = self._advance(chan, handed)  # past the bytes collect_incoming_data() took, if any
        if step < 0:
            raise StopIteration
        return step == FOUND

    cdef object _next(self, chan):
        """The bytes for collect_incoming_data(), False if it has none, or None: nothing more to do now."""
        cdef bytes buf = self._buf
        cdef bytes term_bytes
        cdef Py_ssize_t pos = self._pos, n = PyBytes_GET_SIZE(buf)
        cdef Py_ssize_t end = -1, m = 0, keep = 0, count = -1, size, room
        cdef const char *p
        if n <= pos:
            if pos:  # all consumed: drop the buffer rather than keep it alive
                self._buf = b""
                self._pos = 0
            return None
        if self.flow == PAUSED:
            return None  # the rest waits until the output drains
        # buf[pos:end] goes to the consumer; then a terminator of m bytes, or the
        # wait for more input, keeping the last keep bytes (a terminator prefix).
        p = PyBytes_AS_STRING(buf)
        term = _terminator(chan, self._base_get)
        if self._limited and self._streaming and term:
            # Out of a terminator of None: a new message.
            self._size = 0
            self._skipping = self._streaming = False
        if type(term) is not bytes or PyBytes_GET_SIZE(term) == 0:
            if not term:
                end = n  # None, 0 or b"": everything is data
                if self._limited:
                    self._streaming = True
            elif isinstance(term, int):
                count = _byte_count(term)
                end = n if n - pos < count else pos + count
            else:
                term = _as_bytes(term, "terminator")
        if end < 0:
            term_bytes = <bytes>term
            m = PyBytes_GET_SIZE(term_bytes)
            if m <= SHORT_TERMINATOR:
                end = _find(p, pos, n, PyBytes_AS_STRING(term_bytes), m)
            else:
                end = buf.find(term_bytes, pos)
            if end < 0:
                keep = _held_back(p, pos, n, PyBytes_AS_STRING(term_bytes), m)
                if keep == n - pos:
                    return None
                end = n - keep
                m = 0
        size = end - pos
        self._span = size
        self._m = m
        self._keep = keep
        self._count = count
        self._crossed = -1
        if not size or self._skipping:
            return False
        if self._limited and size > self.limit - self._size:
            # The message crosses the limit: what fits, then handle_message_too_large().
            room = self._crossed = self.limit - self._size
            self._taken = pos + room
            return PyBytes_FromStringAndSize(p + pos, room) if room else False
        self._taken = end + m
        return buf if size == n else PyBytes_FromStringAndSize(p + pos, size)

    cdef int _advance(self, chan, bint handed) except -2:
        """Move past what _next() found: FOUND, TOO_LARGE (the callback that comes next) or STOP.

        *handed*: collect_incoming_data() was given bytes, and returned.
        """
        cdef Py_ssize_t size = self._span, n
        if self._crossed >= 0:
            return self._cross(chan)
        if handed:
            # Counted once collect_incoming_data() returned: one that raises gets its bytes again.
            self._size += size
        if self._m or (self._count >= 0 and size == self._count):
            # Relative to the buffer as it is now: a callback may have replaced it.
            self._pos += size + self._m
            if self._count >= 0:
                chan.terminator = 0
            self._size = 0
            self._skipping = False
            return FOUND
        if self._keep:
            n = PyBytes_GET_SIZE(self._buf) - self._keep
            if self._pos < n:
                self._pos = n
        else:
            self._buf = b""
            self._pos = 0
            if self._count >= 0:
                chan.terminator = chan.terminator - size
        return STOP

    cdef int _cross(self, chan) except -2:
        """After the part of a message that fit: skip the rest of it."""
        cdef Py_ssize_t room = self._crossed
        if room:
            self._pos += room
            if self._count >= 0:
                chan.terminator = chan.terminator - room
        self._skipping = True
        return TOO_LARGE


cdef _enqueue(fifo, data, Py_ssize_t limit):
    """Append bytes-like *data* to *fifo* in pieces of at most *limit* bytes.

    Pieces of bytes are memoryviews (no copy); pieces of a bytearray are
    copies, so the caller may change it afterwards.
    """
    cdef Py_ssize_t size = len(data)
    cdef Py_ssize_t i
    if size <= limit:
        fifo.append(data)
        return
    if limit <= 0:
        _buffer_size("ac_out_buffer_size", limit)
    if type(data) is bytes:
        data = memoryview(data)
    fifo.extend([data[i:i + limit] for i in range(0, size, limit)])


cdef _take_chunk(fifo, Py_ssize_t limit, encoding=None, Framer framer=None):
    """Take the next bytes to send, at most *limit* of them, off the front of *fifo*.

    See asynchat._fallback._take_chunk, which this repeats on purpose: with the
    Python one, the pipelined echo costs 6,241 instructions a line instead of
    4,810 (CPython 3.11, bench/instructions.py), since it gathers per item.
    """
    cdef list parts = []
    cdef Py_ssize_t size = 0, n, room
    popleft = fifo.popleft
    appendleft = fifo.appendleft
    try:
        while size < limit and fifo:
            item = fifo[0]
            if item is None:
                if not parts:
                    popleft()
                    return None
                break
            if not isinstance(item, (bytes, bytearray, memoryview)):  # asynchat._settings.BYTES_LIKE
                if isinstance(item, str):
                    produced = fifo[0] = _as_output(item, encoding, "a queued item")
                else:
                    produced = item.more()
                    if not produced:
                        popleft()
                        continue
                    # Queued before its producer, so an error below loses nothing.
                    appendleft(_as_output(produced, encoding, "producer.more() result"))
                if framer is not None:
                    framer._count_output(len(produced))
                continue
            popleft()
            n = len(item)
            room = limit - size
            if n > room:
                # Views, so that an item much larger than a send is never re-copied.
                if type(item) is not memoryview:
                    item = memoryview(item if type(item) is bytes else bytes(item))
                appendleft(item[room:])
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
    if not isinstance(data, (bytes, bytearray, memoryview)):  # asynchat._settings.BYTES_LIKE
        raise _not_pushable(data)
    # Each attribute is read once and handed down: a read from C is a full lookup.
    limit = self.ac_out_buffer_size
    fifo = self.producer_fifo
    cdef Framer framer = <Framer?>self._framer
    if len(data) <= limit:
        fifo.append(data)
    else:
        _enqueue(fifo, data, limit)
    framer._count_output(len(data))
    cdef bint unbound
    method = _lookup(self, "initiate_send", &unbound)
    if not unbound:
        method()
    elif method is _INITIATE_SEND:
        _initiate_send(self, framer, fifo, limit)  # what the call would run, without its frame
    else:
        method(self)


def initiate_send(self):
    """Send queued output, or put it off while the peer pipelines (the output rule).

    See asynchat._fallback.initiate_send.
    """
    _initiate_send(self, <Framer?>self._framer, self.producer_fifo, self.ac_out_buffer_size)


def send_deferred(self):
    """Send what put-off initiate_send() calls left queued, without calling initiate_send().

    See asynchat._fallback.send_deferred.
    """
    cdef Framer framer = <Framer?>self._framer
    cdef Py_ssize_t rounds = framer.deferred
    framer.deferred = 0
    _send_chunks(self, framer, self.producer_fifo, self.ac_out_buffer_size, rounds, False)


# A C variable: a module global would be looked up in the module's dict on every push.
cdef object _INITIATE_SEND = initiate_send


cdef _initiate_send(chan, Framer framer, fifo, limit):
    """initiate_send(), with the channel's _framer, producer_fifo and ac_out_buffer_size."""
    if framer.reading and framer._pending():
        framer.deferred += 1  # the peer is pipelining: gather
        return
    if framer.recheck is not None:
        framer.recheck[id(chan)] = chan  # the queue may fill or drain: the loop asks again
    if framer.deferred == 0 and len(fifo) == 1:
        first = fifo[0]
        if (type(first) is bytes and PyBytes_GET_SIZE(first) > 0
                and PyBytes_GET_SIZE(first) <= limit and chan.connected):
            # The usual reply, one buffer: straight to send(), as the reference.
            fifo.popleft()
            _send_or_requeue(chan, first, framer, fifo)
            return
    # One send() per call, as the reference, plus one per call put off.
    cdef Py_ssize_t rounds = 1 + framer.deferred
    framer.deferred = 0
    _send_chunks(chan, framer, fifo, limit, rounds, True)


cdef _send_chunks(chan, Framer framer, fifo, limit, Py_ssize_t rounds, bint may_close):
    """See asynchat._fallback._send_chunks."""
    if type(limit) is not int or not 0 < limit <= UNLIMITED:
        limit = _buffer_size("ac_out_buffer_size", limit)
    encoding = chan.encoding if chan.use_encoding else None
    while rounds and fifo and chan.connected:
        rounds -= 1
        if fifo[0] is None and not may_close:
            return
        may_close = False
        chunk = _take_chunk(fifo, limit, encoding, framer)
        if chunk is None:
            chan.handle_close()
            return
        if not chunk or not _send_or_requeue(chan, chunk, framer, fifo):
            return


cdef _send_or_requeue(chan, chunk, Framer framer, fifo):
    """See asynchat._fallback._send_or_requeue."""
    cdef Py_ssize_t size = len(chunk), n = -1
    try:
        sent = chan.send(chunk)
        if type(sent) is int:
            n = _as_ssize_or_error(sent)
            if n == -1 and PyErr_Occurred() != NULL:
                PyErr_Clear()  # too large for C: sent_count() below says what it means
        if not 0 <= n <= size:
            n = _sent_count(sent, size)
    except OSError:
        chan.producer_fifo.appendleft(chunk)
        chan.handle_error()
        return 0
    except BaseException:
        chan.producer_fifo.appendleft(chunk)
        raise
    if n < size:
        fifo = chan.producer_fifo  # as it is after send(), which is the channel's own code
        fifo.appendleft(chunk[n:] if n else chunk)
    framer._sent(n, fifo)
    return n

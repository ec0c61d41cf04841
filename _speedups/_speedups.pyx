# cython: language_level=3
# cython: boundscheck=False, wraparound=False, cdivision=True
#
# boundscheck/wraparound: every index and slice below is computed from offsets
# kept within 0 <= pos <= len(buffer) (checked where a callback may have
# shortened the buffer), never negative.
"""The compiled engine: the exact API of asynchat/_fallback.py, with the hot path in C.

Terminators are searched for with memchr (and memcmp for the rest of a short
terminator), the held-back terminator prefix at the end of a buffer is found
with memcmp, and byte-count terminators slice without copying the buffer.
Where a channel keeps the base class's ``get_terminator`` and
``_collect_incoming_data``, their work is done here, without their frames.

``push()``, ``initiate_send()`` (the output rule, and gathering) and
``send_deferred()`` are ``async_chat``'s methods themselves: a push is one call.
"""

from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize, PyBytes_GET_SIZE
from cpython.list cimport PyList_Append
from cpython.method cimport PyMethod_Check, PyMethod_GET_FUNCTION, PyMethod_GET_SELF
from cpython.object cimport PyObject
from libc.string cimport memchr, memcmp

from asynchat._fallback import _as_bytes, _as_output
from asynchat._fallback import find_prefix_at_end as _find_prefix_at_end_any

__all__ = ["Framer", "enqueue", "take_chunk", "find_prefix_at_end", "push", "initiate_send", "send_deferred"]

cdef extern from "Python.h":
    const Py_ssize_t PY_SSIZE_T_MAX

# Longer terminators go to bytes.find, which is linear whatever the input;
# memchr + memcmp costs up to this many byte compares per candidate.
cdef enum:
    SHORT_TERMINATOR = 16

# The callbacks are looked up on the channel per message, as the reference does,
# so that a method rebound on the instance or its class takes effect at once.
# Nothing here reads the instance's __dict__: asking for it makes CPython 3.11+
# turn the instance's inline attribute storage into a real dict, which slows
# every attribute access in the user's own callbacks by about half.

cdef inline bint _bound_to(method, function, chan):
    """*method* is *function* bound to *chan*: calling it is calling function(chan)."""
    return (function is not None and PyMethod_Check(method)
            and PyMethod_GET_FUNCTION(method) == <PyObject *>function
            and PyMethod_GET_SELF(method) == <PyObject *>chan)


cdef inline object _terminator(chan, base_get):
    get = chan.get_terminator
    if _bound_to(get, base_get, chan):
        return chan.terminator  # what the base class's get_terminator() returns, without its frame
    return get()


cdef inline _collect(chan, base_collect, piece):
    collect = chan.collect_incoming_data
    if _bound_to(collect, base_collect, chan):
        # What the base class's _collect_incoming_data() does, without its frame.
        incoming = chan.incoming
        if type(incoming) is list:
            PyList_Append(incoming, piece)
        else:
            incoming.append(piece)
    else:
        collect(piece)


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
        raise ValueError(f"a byte-count terminator must not be negative, got {term}")
    if count < 0:
        raise ValueError(f"a byte-count terminator must not be negative, got {term}")
    return count


def find_prefix_at_end(haystack, needle):
    """Return the length of the longest proper prefix of *needle* that ends *haystack*.

    Works on bytes and on str.  ``find_prefix_at_end(b"qwerty\\r", b"\\r\\n")`` is 1.
    """
    if type(haystack) is not bytes or type(needle) is not bytes or not needle:
        return _find_prefix_at_end_any(haystack, needle)
    return _held_back(PyBytes_AS_STRING(haystack), 0, PyBytes_GET_SIZE(haystack),
                      PyBytes_AS_STRING(needle), PyBytes_GET_SIZE(needle))


cdef class Framer:
    """The receive buffer of one channel, scanned by offset (see asynchat._fallback.Framer)."""

    cdef bytes _buf
    cdef Py_ssize_t _pos
    cdef Py_ssize_t _taken  # where the bytes handed to the running callback end
    cdef object _base_get
    cdef object _base_collect
    cdef public bint reading  # handle_read() is dispatching callbacks
    cdef public Py_ssize_t deferred  # initiate_send() calls put off meanwhile

    def __init__(self, base=None):
        self._buf = b""
        self._pos = 0
        self._taken = 0
        self.reading = False
        self.deferred = 0
        self._base_get = getattr(base, "get_terminator", None)
        self._base_collect = getattr(base, "_collect_incoming_data", None)

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

    cdef inline void _clear(self):
        self._buf = b""
        self._pos = 0

    def feed(self, chan, data):
        """Append *data* and run *chan*'s callbacks over everything unprocessed."""
        cdef bytes buf
        cdef bytes term_bytes
        cdef Py_ssize_t pos, n, lb, index, m, keep, count
        cdef const char *p

        if type(data) is not bytes:
            data = _as_bytes(data, "recv() result")
        if PyBytes_GET_SIZE(data):
            if self._pos < PyBytes_GET_SIZE(self._buf):
                self._buf = self._buf[self._pos:] + data
            else:
                self._buf = data
            self._pos = 0
            self._taken = 0

        base_get = self._base_get
        base_collect = self._base_collect
        while True:
            buf = self._buf
            pos = self._pos
            n = PyBytes_GET_SIZE(buf)
            lb = n - pos
            if lb <= 0:
                if pos:  # all consumed: drop the buffer rather than keep it alive
                    self._clear()
                return
            p = PyBytes_AS_STRING(buf)
            term = _terminator(chan, base_get)
            if type(term) is not bytes or PyBytes_GET_SIZE(term) == 0:
                if not term:
                    # None, 0 or b"": everything is data.
                    self._taken = n
                    _collect(chan, base_collect, buf[pos:] if pos else buf)
                    self._clear()
                    return
                if isinstance(term, int):
                    count = _byte_count(term)
                    if lb < count:
                        self._taken = n
                        _collect(chan, base_collect, buf[pos:] if pos else buf)
                        self._clear()
                        chan.terminator = chan.terminator - lb
                        return
                    self._taken = pos + count
                    _collect(chan, base_collect, PyBytes_FromStringAndSize(p + pos, count))
                    self._pos += count
                    chan.terminator = 0
                    chan.found_terminator()
                    continue
                term = _as_bytes(term, "terminator")
            term_bytes = <bytes>term
            m = PyBytes_GET_SIZE(term_bytes)
            if m <= SHORT_TERMINATOR:
                index = _find(p, pos, n, PyBytes_AS_STRING(term_bytes), m)
            else:
                index = buf.find(term_bytes, pos)
            if index >= 0:
                if index > pos:
                    self._taken = index + m
                    _collect(chan, base_collect, PyBytes_FromStringAndSize(p + pos, index - pos))
                # Relative to the buffer as it is now: a callback may have replaced it.
                self._pos += index - pos + m
                chan.found_terminator()
                continue
            keep = _held_back(p, pos, n, PyBytes_AS_STRING(term_bytes), m)
            if not keep:
                self._taken = n
                _collect(chan, base_collect, buf[pos:] if pos else buf)
                self._clear()
            elif keep != lb:
                self._taken = n - keep
                _collect(chan, base_collect, PyBytes_FromStringAndSize(p + pos, lb - keep))
                n = PyBytes_GET_SIZE(self._buf) - keep
                if self._pos < n:
                    self._pos = n
            return


def enqueue(fifo, data, Py_ssize_t limit):
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
        raise ValueError(f"ac_out_buffer_size must be positive, not {limit!r}")
    if type(data) is bytes:
        data = memoryview(data)
    fifo.extend([data[i:i + limit] for i in range(0, size, limit)])


def take_chunk(fifo, Py_ssize_t limit, encoding=None):
    """Take the next bytes to send, at most *limit* of them, off the front of *fifo*.

    See asynchat._fallback.take_chunk.
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
            if not isinstance(item, (bytes, bytearray, memoryview)):
                if isinstance(item, str):
                    fifo[0] = _as_output(item, encoding, "a queued item")
                    continue
                produced = item.more()
                if not produced:
                    popleft()
                    continue
                # Queued before its producer, so an error below loses nothing.
                appendleft(_as_output(produced, encoding, "producer.more() result"))
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
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError(f"push() takes bytes, bytearray or memoryview, not {type(data).__name__}")
    limit = self.ac_out_buffer_size
    if len(data) <= limit:
        self.producer_fifo.append(data)
    else:
        enqueue(self.producer_fifo, data, limit)
    method = self.initiate_send
    if _bound_to(method, _INITIATE_SEND, self):
        _initiate_send(self)  # what the call would run, without its frame
    else:
        method()


def initiate_send(self):
    """Send queued output, or put it off while the peer pipelines (the output rule).

    See asynchat._fallback.initiate_send.
    """
    _initiate_send(self)


def send_deferred(self):
    """Send what put-off initiate_send() calls left queued, without calling initiate_send().

    See asynchat._fallback.send_deferred.
    """
    cdef Framer framer = self._framer
    cdef Py_ssize_t rounds = framer.deferred
    framer.deferred = 0
    _send_chunks(self, rounds, False)


_INITIATE_SEND = initiate_send


cdef _initiate_send(chan):
    cdef Framer framer = chan._framer
    if framer.reading and framer._pending():
        framer.deferred += 1  # the peer is pipelining: gather
        return
    fifo = chan.producer_fifo
    if framer.deferred == 0 and len(fifo) == 1:
        first = fifo[0]
        if (type(first) is bytes and PyBytes_GET_SIZE(first) > 0
                and PyBytes_GET_SIZE(first) <= chan.ac_out_buffer_size and chan.connected):
            # The usual reply, one buffer: straight to send(), as the reference.
            fifo.popleft()
            _send_or_requeue(chan, first)
            return
    # One send() per call, as the reference, plus one per call put off.
    cdef Py_ssize_t rounds = 1 + framer.deferred
    framer.deferred = 0
    _send_chunks(chan, rounds, True)


cdef _send_chunks(chan, Py_ssize_t rounds, bint may_close):
    """See asynchat._fallback._send_chunks."""
    fifo = chan.producer_fifo
    limit = chan.ac_out_buffer_size
    encoding = chan.encoding if chan.use_encoding else None
    while rounds and fifo and chan.connected:
        rounds -= 1
        if fifo[0] is None and not may_close:
            return
        may_close = False
        chunk = take_chunk(fifo, limit, encoding)
        if chunk is None:
            chan.handle_close()
            return
        if not chunk or not _send_or_requeue(chan, chunk):
            return


cdef _send_or_requeue(chan, chunk):
    """See asynchat._fallback._send_or_requeue."""
    try:
        sent = chan.send(chunk) or 0  # the reference takes any false result as 0
    except OSError:
        chan.producer_fifo.appendleft(chunk)
        chan.handle_error()
        return 0
    except BaseException:
        chan.producer_fifo.appendleft(chunk)
        raise
    if sent < len(chunk):
        chan.producer_fifo.appendleft(chunk[sent:] if sent else chunk)
    return sent

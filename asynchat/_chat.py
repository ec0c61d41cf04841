"""async_chat: the asyncore adapter around the engine.

It owns the I/O and the overridable methods, and no parsing: received bytes go
to the engine's `Framer`, queued output comes from the engine's `take_chunk`.
Every method calls the others the way CPython 3.11's does (``push()`` ends in
``self.initiate_send()``, which calls ``self.send()``, and so on), because
subclasses override them and rely on that.
"""

import warnings
from collections import deque

with warnings.catch_warnings():
    # asyncore warns at import on 3.10 and 3.11; asynchat itself must not.
    warnings.simplefilter("ignore", DeprecationWarning)
    import asyncore

from . import _engine as _selected

__all__ = ["async_chat", "simple_producer"]

# Module global, read at call time, so tests can run the adapter on either engine.
_engine = _selected.engine

_BYTES_LIKE = (bytes, bytearray, memoryview)


class async_chat(asyncore.dispatcher):
    """An asyncore channel that splits its input into messages and queues its output.

    Subclass it and define ``collect_incoming_data(data)`` and
    ``found_terminator()``; set the message boundary with ``set_terminator()``
    (a bytes delimiter, a byte count, or None); send with ``push()`` and
    ``push_with_producer()``.
    """

    ac_in_buffer_size = 65536
    ac_out_buffer_size = 65536

    # Encoding str to bytes on the way in and out is off by default: str here
    # usually means an application bug.
    use_encoding = 0
    encoding = "latin-1"

    # Pushes made by the callbacks of one handle_read() are sent together when it
    # returns (one send() per ac_out_buffer_size bytes) instead of one send() each.
    # Set False if a callback writes with self.send() directly after push().
    ac_defer_output = True

    _ac_reading = False  # inside handle_read(), dispatching callbacks
    _ac_deferred = 0  # initiate_send() calls put off meanwhile
    _ac_progress = False  # the last initiate_send() sent something

    def __init__(self, sock=None, map=None):
        self._framer = _engine.Framer(async_chat)
        self.incoming = []
        self.producer_fifo = deque()
        asyncore.dispatcher.__init__(self, sock, map)

    @property
    def ac_in_buffer(self):
        """The received bytes not yet handed to the callbacks (assignable)."""
        return self._framer.unprocessed()

    @ac_in_buffer.setter
    def ac_in_buffer(self, data):
        self._framer.replace(data)

    def collect_incoming_data(self, data):
        raise NotImplementedError("subclasses of async_chat must define collect_incoming_data()")

    def _collect_incoming_data(self, data):
        self.incoming.append(data)

    def _get_data(self):
        data = b"".join(self.incoming)
        self.incoming.clear()
        return data

    def found_terminator(self):
        raise NotImplementedError("subclasses of async_chat must define found_terminator()")

    def set_terminator(self, term):
        """Set the input delimiter: bytes to look for, a byte count, or None (no framing)."""
        if isinstance(term, str):
            if not self.use_encoding:
                raise TypeError("the terminator must be bytes, not str (or set use_encoding)")
            term = term.encode(self.encoding)
        elif isinstance(term, int):
            if term < 0:
                raise ValueError(f"a byte-count terminator must not be negative, got {term}")
        elif term is not None and not isinstance(term, _BYTES_LIKE):
            raise TypeError(
                f"the terminator must be bytes, an int or None, not {type(term).__name__}"
            )
        self.terminator = term

    def get_terminator(self):
        return self.terminator

    def handle_read(self):
        try:
            data = self.recv(self.ac_in_buffer_size)
        except BlockingIOError:
            return
        except OSError:
            self.handle_error()
            return
        if self._ac_reading or not self.ac_defer_output:
            self._framer.feed(self, data)
            return
        self._ac_reading = True
        try:
            self._framer.feed(self, data)
        finally:
            self._ac_reading = False
            if self._ac_deferred:
                self._flush_deferred()

    def _flush_deferred(self):
        """Make the initiate_send() calls that were put off, while the socket takes data.

        At most as many as were put off: no more sends than the reference made,
        and an endless producer cannot keep the loop here.
        """
        reading, self._ac_reading = self._ac_reading, False
        budget, self._ac_deferred = self._ac_deferred, 0
        try:
            while budget and self.producer_fifo and self.connected:
                budget -= 1
                self._ac_progress = False
                self.initiate_send()
                if not self._ac_progress:
                    break
        finally:
            self._ac_reading = reading

    def handle_write(self):
        self.initiate_send()

    def handle_close(self):
        self.close()

    def push(self, data):
        """Queue bytes, bytearray or memoryview *data* for sending, and start sending."""
        if not isinstance(data, _BYTES_LIKE):
            raise TypeError(
                f"push() takes bytes, bytearray or memoryview, not {type(data).__name__}"
            )
        limit = self.ac_out_buffer_size
        if len(data) <= limit:
            self.producer_fifo.append(data)  # the common case, without a call into the engine
        else:
            _engine.enqueue(self.producer_fifo, data, limit)
        self.initiate_send()

    def push_with_producer(self, producer):
        """Queue a producer (anything with ``more()``) or bytes, and start sending."""
        if not (
            producer is None
            or isinstance(producer, _BYTES_LIKE)
            or (isinstance(producer, str) and self.use_encoding)
            or callable(getattr(producer, "more", None))
        ):
            raise TypeError(
                "push_with_producer() takes an object with a more() method or bytes, "
                f"not {type(producer).__name__}"
            )
        self.producer_fifo.append(producer)
        self.initiate_send()

    def readable(self):
        return True

    def writable(self):
        return bool(self.producer_fifo) or not self.connected

    def close_when_done(self):
        """Close the channel once everything queued before this call is sent."""
        self.producer_fifo.append(None)

    def initiate_send(self):
        if self._ac_reading:
            self._ac_deferred += 1
            return
        fifo = self.producer_fifo
        if not (fifo and self.connected):
            return
        chunk = _engine.take_chunk(
            fifo, self.ac_out_buffer_size, self.encoding if self.use_encoding else None
        )
        if chunk is None:
            self.handle_close()
            return
        if not chunk:
            return
        try:
            sent = self.send(chunk)
        except OSError:
            _engine.return_unsent(fifo, chunk, 0)
            self.handle_error()
            return
        except BaseException:
            _engine.return_unsent(fifo, chunk, 0)
            raise
        _engine.return_unsent(fifo, chunk, sent)
        self._ac_progress = sent > 0

    def close(self):
        # What callbacks pushed before closing goes out first, as it would have
        # with the reference, which sent each push at once.
        if self._ac_deferred:
            self._flush_deferred()
        asyncore.dispatcher.close(self)

    def discard_buffers(self):
        """Drop all unprocessed input, collected data and queued output."""
        if self._ac_deferred:
            self._flush_deferred()
        self._framer.replace(b"")
        self.incoming.clear()
        self.producer_fifo.clear()


class simple_producer:
    """A producer that hands out *data* in pieces of at most *buffer_size* bytes."""

    def __init__(self, data, buffer_size=512):
        self.data = data
        self.buffer_size = buffer_size

    def more(self):
        data = self.data
        if len(data) <= self.buffer_size:
            self.data = b""
            return data
        self.data = data[self.buffer_size:]
        return data[:self.buffer_size]

"""async_chat: the asyncore adapter around the engine.

It owns the I/O and the overridable methods, and no parsing: received bytes go
to the engine's `Framer`, queued output comes from the engine's
`next_chunk`.  Every method calls the others the way CPython 3.11's does
(``push()`` ends in ``self.initiate_send()``, which calls ``self.send()``, and
so on), because subclasses override them and rely on that.
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

    def __init__(self, sock=None, map=None):
        self._framer = _engine.Framer()
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
        # When get_terminator() is ours, the engine may read the attribute directly.
        plain = type(self).get_terminator is _GET_TERMINATOR and "get_terminator" not in self.__dict__
        self._framer.feed(self, data, plain)

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
        _engine.enqueue(self.producer_fifo, data, self.ac_out_buffer_size)
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
        fifo = self.producer_fifo
        if not (fifo and self.connected):
            return
        data = _engine.next_chunk(
            fifo, self.ac_out_buffer_size, self.encoding if self.use_encoding else None
        )
        if data is None:
            fifo.popleft()
            self.handle_close()
            return
        if not data:
            return
        try:
            sent = self.send(data)
        except OSError:
            self.handle_error()
            return
        if sent:
            _engine.consume(fifo, sent)

    def discard_buffers(self):
        """Drop all unprocessed input, collected data and queued output."""
        self._framer.replace(b"")
        self.incoming.clear()
        self.producer_fifo.clear()


_GET_TERMINATOR = async_chat.get_terminator


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

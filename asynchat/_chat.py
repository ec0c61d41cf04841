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

    # While the peer pipelines (more received input waits to be framed), pushes
    # are queued and leave together, in one send() per ac_out_buffer_size bytes,
    # with the next push made once that input is used up or when handle_read()
    # returns.  Any other push is sent at once, as the reference does.  False:
    # one send() per push, always.
    ac_defer_output = True

    _ac_reading = False  # inside handle_read(), dispatching callbacks
    _ac_deferred = 0  # initiate_send() calls put off meanwhile

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
                if self._in_service():
                    # One call carries the put-off ones (see initiate_send).
                    self._ac_deferred -= 1
                    self.initiate_send()
                else:
                    # Closed or taken out of its map by a callback: not ours to send.
                    self._ac_deferred = 0

    def _in_service(self):
        """Connected and, if it has a socket, still in its map."""
        return self.connected and (self.socket is None or self._map.get(self._fileno) is self)

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
        if self._ac_reading and self._framer.pending():
            self._ac_deferred += 1  # the peer is pipelining: gather
            return
        fifo = self.producer_fifo
        if not self._ac_deferred and len(fifo) == 1:
            first = fifo[0]
            if type(first) is bytes and 0 < len(first) <= self.ac_out_buffer_size and self.connected:
                # The usual reply, one buffer: straight to send(), as the reference.
                fifo.popleft()
                self._send_or_requeue(first)
                return
        # One send() per call, as the reference, plus one per call put off.
        rounds = 1 + self._ac_deferred
        self._ac_deferred = 0
        self._send_chunks(rounds, True)

    def _send_chunks(self, rounds, may_close):
        """Send up to *rounds* chunks of queued output, while the socket takes some of each.

        A close marker (None) at the front of the queue closes the channel only
        in the first round, when *may_close*: a round that stands for a put-off
        push sends data, as that push would have.
        """
        fifo = self.producer_fifo
        limit = self.ac_out_buffer_size
        encoding = self.encoding if self.use_encoding else None
        while rounds and fifo and self.connected:
            rounds -= 1
            if fifo[0] is None and not may_close:
                return
            may_close = False
            chunk = _engine.take_chunk(fifo, limit, encoding)
            if chunk is None:
                self.handle_close()
                return
            if not chunk or not self._send_or_requeue(chunk):
                return

    def _send_or_requeue(self, chunk):
        """self.send(chunk); what it did not take goes back to the front of the queue.

        Returns how many bytes were sent.  OSError goes to handle_error(), as
        in the reference; any other exception propagates, with nothing lost.
        """
        try:
            sent = self.send(chunk) or 0  # the reference takes any false result as 0
        except OSError:
            self.producer_fifo.appendleft(chunk)
            self.handle_error()
            return 0
        except BaseException:
            self.producer_fifo.appendleft(chunk)
            raise
        if sent < len(chunk):
            self.producer_fifo.appendleft(chunk[sent:] if sent else chunk)
        return sent

    def _send_deferred(self):
        """Send what put-off pushes queued, without calling initiate_send().

        For close(), del_channel() and discard_buffers() inside a callback: the
        reference had sent each of those pushes already.
        """
        rounds, self._ac_deferred = self._ac_deferred, 0
        self._send_chunks(rounds, False)

    def close(self):
        if self._ac_deferred:
            self._send_deferred()
        asyncore.dispatcher.close(self)

    def del_channel(self, map=None):
        if self._ac_deferred:
            self._send_deferred()
        asyncore.dispatcher.del_channel(self, map)

    def discard_buffers(self):
        """Drop all unprocessed input, collected data and queued output."""
        if self._ac_deferred:
            self._send_deferred()
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

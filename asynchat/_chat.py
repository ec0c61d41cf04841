"""async_chat: the asyncore adapter around the engine.

It owns the reading side and the overridable methods, and no parsing: received
bytes go to the engine's `Framer`.  The output methods ``push()`` and
``initiate_send()`` are the engine's own functions, so that with the compiled
engine a push is one call into C.  Every method calls the others the way
CPython 3.11's does (``push()`` ends in ``self.initiate_send()``, which calls
``self.send()``, and so on), because subclasses override them and rely on that.
"""

from __future__ import annotations

import warnings
from collections import deque
from typing import TYPE_CHECKING, Any

with warnings.catch_warnings():
    # asyncore warns at import on 3.10 and 3.11; asynchat itself must not.
    warnings.simplefilter("ignore", DeprecationWarning)
    import asyncore  # type: ignore[import-untyped]  # pyasyncore (3.12+) has no types

from . import _engine as _selected
from . import _settings
from ._tls import DRAINING, ESTABLISHED, HANDSHAKING, TLSSocket, read_pending
from ._tls import start_tls as _start_tls

if TYPE_CHECKING:
    import socket
    import ssl

__all__ = ["async_chat", "simple_producer"]

# The engine async_chat runs on; use_engine() changes it.
_engine = _selected.engine


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

    # Protection against peers, off (None) by default; see handle_message_too_large()
    # and readable().  The engine reads them again at every recv.
    ac_max_message_size: int | None = None
    ac_out_high_water: int | None = None
    ac_out_low_water: int | None = None

    _framer: _selected.engine.Framer = None  # type: ignore[assignment]  # made by __init__
    _tls: TLSSocket | None = None  # the socket, once start_tls() was called
    # asyncore.dispatcher's own, which its stubs leave out.
    _map: dict[Any, Any]
    _fileno: int | None

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        _settings.check_class(cls)  # a bad size fails where the class is written

    def __init__(self, sock: socket.socket | None = None, map: dict[Any, Any] | None = None) -> None:
        self._framer = _engine.Framer(async_chat)
        self._framer.configure(self)
        self.incoming: list[bytes] = []
        self.producer_fifo: deque[Any] = deque()
        asyncore.dispatcher.__init__(self, sock, map)

    @property
    def ac_in_buffer(self) -> bytes:
        """The received bytes not yet handed to the callbacks (assignable)."""
        return self._framer.unprocessed()

    @ac_in_buffer.setter
    def ac_in_buffer(self, data: bytes | bytearray | memoryview) -> None:
        self._framer.replace(data)

    def collect_incoming_data(self, data: bytes) -> None:
        raise NotImplementedError("subclasses of async_chat must define collect_incoming_data()")

    def _collect_incoming_data(self, data: bytes) -> None:
        self.incoming.append(data)

    def _get_data(self) -> bytes:
        data = b"".join(self.incoming)
        self.incoming.clear()
        return data

    def found_terminator(self) -> None:
        raise NotImplementedError("subclasses of async_chat must define found_terminator()")

    def set_terminator(self, term: bytes | str | int | None) -> None:
        """Set the input delimiter: bytes to look for, a byte count, or None (no framing)."""
        if isinstance(term, str):
            if not self.use_encoding:
                raise TypeError("the terminator must be bytes, not str (or set use_encoding)")
            term = term.encode(self.encoding)
        elif isinstance(term, int):
            if term < 0:
                raise _settings.negative_terminator(term)
        elif term is not None and not isinstance(term, _settings.BYTES_LIKE):
            raise TypeError(f"the terminator must be bytes, an int or None, not {type(term).__name__}")
        self.terminator = term

    def get_terminator(self) -> bytes | int | None:
        return self.terminator

    def handle_read(self) -> None:
        if self._framer.feeding:
            raise RuntimeError(_settings.REENTERED)  # before recv(), so that nothing is lost
        tls = self._tls
        if tls is None:
            self._read_once()
        elif tls.phase != ESTABLISHED:
            tls.step(self)  # the drain or the handshake
        else:
            self._read_once()
            read_pending(self)  # what TLS decrypted beyond this read: the socket will not say

    def _read_once(self) -> None:
        size = self.ac_in_buffer_size
        if type(size) is not int or size <= 0:
            _settings.buffer_size("ac_in_buffer_size", size)
        try:
            data = self.recv(size)
        except BlockingIOError:
            return
        except OSError:
            self.handle_error()
            return
        self._framer.feed(self, data)  # the callbacks, under the output rule

    def _in_service(self):
        """Connected and run by a loop, in its map or on a transport (the engine asks, to send what it put off)."""
        sock = self.socket
        return self.connected and (
            sock is None or self._map.get(self._fileno) is self or getattr(sock, "driven_by_transport", False)
        )

    def handle_write(self) -> None:
        tls = self._tls
        if tls is not None:
            if tls.phase != ESTABLISHED:
                tls.step(self)
                return
            if tls.want_read:  # a read waited for room to send (a renegotiation): retry it
                tls.want_read = False
                self.handle_read()
        self.initiate_send()
        if self._framer.flow != _settings.READING:
            self._resume_reading()

    def _resume_reading(self):
        """Once the output drained to the low mark, frame the input that waited meanwhile."""
        framer = self._framer
        if not self.producer_fifo:
            framer.sent(0, self.producer_fifo)  # emptied by user code: nothing is queued
        if framer.resume():
            framer.feed(self, b"")
            if self._tls is not None:
                read_pending(self)

    def handle_message_too_large(self) -> None:
        """A message crossed ac_max_message_size: by default, log it and close the channel.

        Called once per message, after collect_incoming_data() got the bytes
        that fit.  The rest of the message is dropped as it arrives, and
        found_terminator() still marks its end: an override that keeps the
        channel open (to push an error reply, say) knows from this call that
        the message it is collecting is incomplete.
        """
        self.log_info(
            f"closing: a message from the peer is over ac_max_message_size ({self.ac_max_message_size} bytes)",
            "warning",
        )
        self.discard_buffers()
        self.close()

    def handle_close(self) -> None:
        self.close()

    # The output methods are the engine's own functions (see use_engine()): with
    # the compiled engine a push costs one call into C, and the engine alone
    # counts what is queued.
    push = _engine.push
    push_with_producer = _engine.push_with_producer
    initiate_send = _engine.initiate_send

    def readable(self) -> bool:
        tls = self._tls
        if tls is not None and tls.phase != ESTABLISHED:
            return tls.want_read  # draining: not before the plaintext is out
        # False while more than ac_out_high_water bytes wait to be sent.
        return self._framer.flow != _settings.PAUSED

    def writable(self) -> bool:
        tls = self._tls
        if tls is not None:
            if tls.phase == DRAINING:
                return bool(tls.plaintext)
            if tls.phase == HANDSHAKING or tls.want_write:
                return tls.want_write
        # Paused or resuming: input that waited for the output to drain is framed in handle_write().
        return bool(self.producer_fifo) or not self.connected or self._framer.flow != _settings.READING

    def start_tls(
        self, context: ssl.SSLContext, *, server_side: bool = True, server_hostname: str | None = None
    ) -> None:
        """Start TLS on this connection: STARTTLS from a callback, or implicit TLS right after connecting.

        What was pushed before the call goes out first, in plaintext; then the
        handshake runs, driven by the loop; then everything goes through TLS,
        with the same callbacks, terminators and settings.  Bytes received
        but not yet framed when it is called came in plaintext: they are
        discarded (and logged), never handed to the callbacks.  Once the
        handshake is done, handle_tls_established() is called (then
        ``self.socket.getpeercert()``, ``cipher()`` and ``version()`` answer);
        if it fails, handle_tls_failed(error).
        """
        _start_tls(self, context, server_side, server_hostname)

    def handle_tls_established(self) -> None:
        """The handshake that start_tls() began is done: by default, nothing to do."""

    def handle_tls_failed(self, error: Exception) -> None:
        """The handshake failed (a bad certificate, a peer that is not speaking TLS, a hang-up).

        By default, log it once and close the channel; the loop and the other
        channels go on.
        """
        self.log_info(f"closing: TLS handshake failed: {error}", "warning")
        self.close()

    def close_when_done(self) -> None:
        """Close the channel once everything queued before this call is sent."""
        self.producer_fifo.append(None)
        self._framer.ask_again(self)  # writable() now

    def _send_put_off(self):
        """Send what put-off pushes queued: the reference had sent them already.

        For close(), del_channel() and discard_buffers() inside a callback;
        never calls initiate_send() on a channel that is closing.
        """
        if self._framer is not None and self._framer.deferred:
            _engine.send_deferred(self)

    def close(self) -> None:
        self._send_put_off()
        asyncore.dispatcher.close(self)

    def del_channel(self, map: dict[Any, Any] | None = None) -> None:
        self._send_put_off()
        recheck = self._framer.recheck if self._framer is not None else None
        if recheck is not None:
            # Out of the loop's poller while the descriptor is still open.
            recheck.forget(self, self._map if map is None else map)
        asyncore.dispatcher.del_channel(self, map)

    def discard_buffers(self) -> None:
        """Drop all unprocessed input, collected data and queued output."""
        self._send_put_off()
        self._framer.discard()
        self.incoming.clear()
        self.producer_fifo.clear()
        self._framer.ask_again(self)  # reading may resume


def use_engine(engine):
    """Run async_chat, and every subclass of it, on *engine*; return the engine it ran on.

    For tests and benchmarks, which compare the engines in one process.  Takes
    effect for channels made from then on.
    """
    global _engine
    previous, _engine = _engine, engine
    async_chat.push = engine.push
    async_chat.push_with_producer = engine.push_with_producer
    async_chat.initiate_send = engine.initiate_send
    return previous


class simple_producer:
    """A producer that hands out *data* in pieces of at most *buffer_size* bytes."""

    def __init__(self, data: bytes, buffer_size: int = 512) -> None:
        self.data = data
        self.buffer_size = buffer_size

    def more(self) -> bytes:
        data = self.data
        if len(data) <= self.buffer_size:
            self.data = b""
            return data
        self.data = data[self.buffer_size :]
        return data[: self.buffer_size]

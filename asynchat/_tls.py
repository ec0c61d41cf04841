"""TLS for async_chat: start_tls() on a live channel, driven by whatever loop runs it.

After ``start_tls()`` the channel's ``socket`` is a `TLSSocket`.  It goes
through three phases:

- DRAINING: what was pushed before the call still goes out in plaintext;
  nothing is read, and pushes made meanwhile wait for TLS;
- HANDSHAKING: the handshake runs, one non-blocking step per event;
- ESTABLISHED: ``recv()`` and ``send()`` go through TLS.

asyncore's dispatcher knows nothing of TLS: on a non-blocking ``ssl``
socket a read or write may need the other direction (``SSLWantReadError``,
``SSLWantWriteError``), which are not ``BlockingIOError`` and would reach
``handle_error()``.  `TLSSocket` turns them into would-block, and records
which direction TLS waits for, so that ``readable()``/``writable()`` can ask
the loop for it.
"""

from __future__ import annotations

import errno
import socket
import ssl
from collections import deque
from typing import Any

__all__ = ["DRAINING", "HANDSHAKING", "ESTABLISHED", "TLSSocket", "read_pending", "start_tls"]

DRAINING, HANDSHAKING, ESTABLISHED = "draining", "handshaking", "established"


# What OpenSSL says when the peer's close_notify was already read: the stream has ended.
# (PyPy's ssl reports data racing a close_notify this way; CPython's rarely.)
_SHUT_DOWN = ("APPLICATION_DATA_AFTER_CLOSE_NOTIFY", "PROTOCOL_IS_SHUTDOWN")


def _shut_down(error: ssl.SSLError) -> bool:
    # PyPy's SSLError may lack .reason: its message names the reason too.
    reason = getattr(error, "reason", None) or str(error)
    return any(name in reason for name in _SHUT_DOWN)


def _would_block() -> BlockingIOError:
    return BlockingIOError(errno.EWOULDBLOCK, "TLS is waiting for the peer")


class TLSSocket:
    """A channel's socket under TLS: the plain socket until the handshake starts, then its SSLSocket.

    Everything a dispatcher asks of a socket besides ``recv``/``send``/``close``
    (``fileno``, ``getpeername``, ``setsockopt``, ...) goes to the socket in
    use; once established, so do ``getpeercert()``, ``cipher()`` and
    ``version()``.
    """

    def __init__(self, raw: socket.socket, context: ssl.SSLContext, server_side: bool, server_hostname: str | None):
        self.raw: socket.socket | None = raw
        self.ssl: ssl.SSLSocket | None = None
        self.context = context
        self.server_side = server_side
        self.server_hostname = server_hostname
        self.phase = DRAINING
        self.plaintext: deque[Any] = deque()  # what was queued before start_tls()
        self.sending_plaintext = False  # the drain is sending: send() goes to the plain socket
        self.want_read = False  # TLS waits for the peer's bytes
        self.want_write = False  # TLS waits for room to send

    def __getattr__(self, name: str) -> Any:
        if name in ("ssl", "raw"):  # not set yet: no delegation, and no endless recursion
            raise AttributeError(name)
        return getattr(self.ssl if self.ssl is not None else self.raw, name)

    def recv(self, size: int) -> bytes:
        if self.phase != ESTABLISHED or self.ssl is None:
            raise _would_block()
        try:
            data = self.ssl.recv(size)
        except ssl.SSLWantReadError:
            self.want_read = True
            raise _would_block() from None
        except ssl.SSLWantWriteError:
            self.want_write = True
            raise _would_block() from None
        except (ssl.SSLZeroReturnError, ssl.SSLEOFError):
            return b""  # the peer closed TLS, or the connection: the end of the stream
        except ssl.SSLError as error:
            if _shut_down(error):
                return b""
            raise
        self.want_read = False
        return data

    def send(self, data: Any) -> int:
        if self.phase == DRAINING and self.sending_plaintext and self.raw is not None:
            return self.raw.send(data)
        if self.phase != ESTABLISHED or self.ssl is None:
            raise _would_block()  # pushed after start_tls(): it waits for TLS
        try:
            sent = self.ssl.send(data)
        except ssl.SSLWantWriteError:
            self.want_write = True
            raise _would_block() from None
        except ssl.SSLWantReadError:
            self.want_read = True
            raise _would_block() from None
        except ssl.SSLError as error:
            if not isinstance(error, (ssl.SSLZeroReturnError, ssl.SSLEOFError)) and not _shut_down(error):
                raise
            # The peer hung up: what a plain socket reports as a reset, which asyncore closes on.
            raise ConnectionResetError(errno.ECONNRESET, str(error)) from None
        self.want_write = False
        return sent

    def pending(self) -> int:
        """Bytes TLS has decrypted and holds: the socket will not announce them."""
        return self.ssl.pending() if self.phase == ESTABLISHED and self.ssl is not None else 0

    def close(self) -> None:
        if self.ssl is None:
            if self.raw is not None:
                self.raw.close()
            return
        plain = None
        if self.phase == ESTABLISHED:
            try:
                plain = self.ssl.unwrap()  # sends close_notify; without blocking it may go no further
            except (ssl.SSLError, OSError, ValueError):
                pass
        (plain if plain is not None else self.ssl).close()
        self.ssl.close()

    def _wrap(self) -> None:
        assert self.raw is not None
        self.ssl = self.context.wrap_socket(
            self.raw,
            server_side=self.server_side,
            server_hostname=self.server_hostname,
            do_handshake_on_connect=False,
        )
        self.raw = None  # detached by wrap_socket(): the SSLSocket holds the descriptor now
        self.phase = HANDSHAKING

    def step(self, chan: Any) -> None:
        """One non-blocking step of the drain or the handshake, on any event of *chan*."""
        if self.phase == DRAINING:
            if self.plaintext:
                self._drain(chan)
                if self.plaintext:
                    return
            self._wrap()
        assert self.ssl is not None
        try:
            self.ssl.do_handshake()
        except ssl.SSLWantReadError:
            self.want_read, self.want_write = True, False
            return
        except ssl.SSLWantWriteError:
            self.want_read, self.want_write = False, True
            return
        except (ssl.SSLError, OSError) as error:
            self.want_read = self.want_write = False
            chan.handle_tls_failed(error)
            return
        self.phase = ESTABLISHED
        self.want_read = self.want_write = False
        chan.handle_tls_established()
        if chan.connected and chan.producer_fifo:
            chan.initiate_send()  # what was pushed while TLS was being set up
        read_pending(chan)

    def _drain(self, chan: Any) -> None:
        """Send what was queued before start_tls(), in plaintext, through the channel's own output path."""
        queued, chan.producer_fifo = chan.producer_fifo, self.plaintext
        self.sending_plaintext = True
        try:
            chan.initiate_send()
        finally:
            self.sending_plaintext = False
            self.plaintext, chan.producer_fifo = chan.producer_fifo, queued


def read_pending(chan: Any) -> None:
    """Frame what TLS decrypted and holds, which no loop would wait for (the socket is not readable)."""
    tls = chan._tls
    while (
        tls is not None
        and chan.socket is tls
        and chan.connected
        and tls.pending()
        and chan.readable()
        and not chan._framer.feeding
    ):
        chan._read_once()


def start_tls(chan: Any, context: ssl.SSLContext, server_side: bool, server_hostname: str | None) -> None:
    """async_chat.start_tls(): see its docstring."""
    if not isinstance(context, ssl.SSLContext):
        raise TypeError(f"start_tls() takes an ssl.SSLContext, not {type(context).__name__}")
    if chan._tls is not None:
        raise RuntimeError("start_tls() was already called on this channel")
    # asyncore calls handle_connect() before it sets connected: a client starts TLS from there.
    if chan.socket is None or not (chan.connected or getattr(chan, "connecting", False)):
        raise RuntimeError("start_tls() needs a connected channel")
    if not server_side and context.check_hostname and not server_hostname:
        raise ValueError("start_tls(server_side=False) needs server_hostname when the context checks host names")
    # Received bytes not yet framed arrived in plaintext, after the point where TLS
    # starts: never hand them to the callbacks (the STARTTLS injection attack).
    waiting = chan.ac_in_buffer
    if waiting:
        chan.ac_in_buffer = b""
        chan.log_info(
            f"start_tls(): discarded {len(waiting)} bytes the peer sent in plaintext after the STARTTLS point",
            "warning",
        )
    if hasattr(chan.socket, "start_tls"):  # a transport's stand-in (asynchat.ChatProtocol): asyncio's TLS
        chan.socket.start_tls(chan, context, server_side, server_hostname)
        return
    tls = TLSSocket(chan.socket, context, server_side, server_hostname)
    # What was pushed before this call goes out first, in plaintext; later pushes wait for TLS.
    tls.plaintext, chan.producer_fifo = chan.producer_fifo, deque()
    chan._framer.drop_deferred()  # the put-off pushes are in the plaintext queue
    chan.socket = chan._tls = tls
    tls.step(chan)
    chan._framer.ask_again(chan)

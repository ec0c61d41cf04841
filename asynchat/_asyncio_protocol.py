"""An unchanged async_chat subclass run as an asyncio Protocol, over any transport.

The channel is built as under asyncore, with a socket: a `TransportSocket`,
which stands for the transport.  Its ``recv()`` returns what
``data_received()`` brought, its ``send()`` writes to the transport, so the
channel's own ``handle_read()``, ``recv()``, ``send()`` and
``initiate_send()`` run as they do on a real socket, overrides included.
`ChatProtocol` plays the loop: after each event it makes one pass, as
asyncore.loop() would: a read if the channel is readable() and input waits,
a write if it is writable() and the transport takes more, and reading paused
or resumed on the transport as readable() says.
"""

from __future__ import annotations

import asyncio
import errno
import ssl
from typing import Any, Callable

from . import _loop
from ._chat import async_chat, asyncore

__all__ = ["ChatProtocol", "TransportSocket", "create_chat_connection", "create_chat_server"]

# What asyncore's loops let through rather than hand to handle_error().
_RERAISED = (asyncore.ExitNow, KeyboardInterrupt, SystemExit)


def _would_block() -> BlockingIOError:
    return BlockingIOError(errno.EWOULDBLOCK, "the transport takes no more for now")


class TransportSocket:
    """A channel's socket under `ChatProtocol`: the asyncio transport, as much of a socket as a channel uses."""

    # The channel runs in no socket map: the transport's Protocol drives it (async_chat._in_service()).
    driven_by_transport = True

    def __init__(self, transport: asyncio.BaseTransport):
        self.transport: Any = transport
        self._received = b""  # what data_received() brought and recv() has not returned
        self._at_eof = False  # the peer sent its end of stream
        self.closed = False  # close() was called, or the connection is lost
        self._write_paused = False  # the transport's buffer is above its high mark
        self._tls_starting = False  # start_tls() was called: sends wait for the handshake
        self._tls_started = False
        self._early = b""  # bytes read before asyncio's TLS took the transport over: the start of its stream

    def recv(self, size: int) -> bytes:
        data = self._received
        if data:
            if len(data) <= size:
                self._received = b""
                return data
            self._received = data[size:]
            return data[:size]
        if self._at_eof or self.closed:
            return b""
        raise _would_block()

    def send(self, data: Any) -> int:
        if self.closed or self.transport.is_closing():
            raise BrokenPipeError(errno.EPIPE, "the connection is closed")
        if self._write_paused or self._tls_starting:
            raise _would_block()
        if type(data) is bytearray:
            data = bytes(data)  # the transport may keep what it could not send yet
        self.transport.write(data)
        return len(data)

    def close(self) -> None:
        self.closed = True
        self.transport.close()  # what was written still goes out first, as from a closed socket

    def shutdown(self, how: int) -> None:
        if how != 0 and self.transport.can_write_eof():  # SHUT_WR or SHUT_RDWR
            self.transport.write_eof()

    def setblocking(self, flag: bool) -> None:
        pass  # the transport never blocks

    def fileno(self) -> int:
        sock = self.transport.get_extra_info("socket")
        return sock.fileno() if sock is not None else -1

    def _address(self, name: str) -> Any:
        address = self.transport.get_extra_info(name)
        if address is None:
            raise OSError(errno.ENOTCONN, f"the transport has no {name}")
        return address

    def getpeername(self) -> Any:
        return self._address("peername")

    def getsockname(self) -> Any:
        return self._address("sockname")

    def getsockopt(self, *args: Any) -> Any:
        return self._address("socket").getsockopt(*args)

    def setsockopt(self, *args: Any) -> None:
        self._address("socket").setsockopt(*args)

    def _ssl(self) -> ssl.SSLObject | None:
        return self.transport.get_extra_info("ssl_object")

    def getpeercert(self, binary_form: bool = False) -> Any:
        tls = self._ssl()
        if tls is None:
            raise ValueError("the connection is not under TLS")
        return tls.getpeercert(binary_form)

    def cipher(self) -> Any:
        tls = self._ssl()
        return None if tls is None else tls.cipher()

    def version(self) -> str | None:
        tls = self._ssl()
        return None if tls is None else tls.version()

    def start_tls(self, chan: Any, context: ssl.SSLContext, server_side: bool, server_hostname: str | None) -> None:
        """async_chat.start_tls() under the Protocol: loop.start_tls(), with the same STARTTLS rules."""
        if self._tls_started:
            raise RuntimeError("start_tls() was already called on this channel")
        if self._received:
            dropped = len(self._received)
            chan.log_info(
                f"start_tls(): discarded {dropped} bytes the peer sent in plaintext after the STARTTLS point", "warning"
            )
            self._received = b""
        self._tls_started = True
        self._send_all(chan)  # what was pushed before the call goes out first, in plaintext
        self._tls_starting = True  # later pushes wait for TLS
        self.transport.pause_reading()
        protocol = self.transport.get_protocol()
        asyncio.get_running_loop().create_task(self._upgrade(chan, protocol, context, server_side, server_hostname))

    def _send_all(self, chan: Any) -> None:
        """Hand everything queued to the transport, whatever its buffer holds."""
        paused, self._write_paused = self._write_paused, False
        try:
            while chan.producer_fifo and chan.connected:
                before = (len(chan.producer_fifo), chan.producer_fifo[0])
                chan.initiate_send()
                if chan.producer_fifo and (len(chan.producer_fifo), chan.producer_fifo[0]) == before:
                    break  # an initiate_send() of the channel's own that sends nothing now
        finally:
            self._write_paused = paused

    async def _upgrade(self, chan, protocol, context, server_side, server_hostname):
        loop = asyncio.get_running_loop()
        raw = self.transport
        try:
            starting = asyncio.ensure_future(
                loop.start_tls(raw, protocol, context, server_side=server_side, server_hostname=server_hostname)
            )
            # uvloop starts reading after connection_made() whatever it was told, so a
            # channel that starts TLS while it is made (implicit TLS) may be handed the
            # peer's first TLS bytes: once start_tls() has put its TLS protocol on the
            # transport, they go to it, after its connection_made() and before any later read.
            while raw.get_protocol() is protocol and not starting.done():
                await asyncio.sleep(0)
            loop.call_soon(self._hand_over_early, raw)
            transport = await starting
            if transport is None:
                raise ConnectionError("the connection was lost while TLS was being set up")
        except (asyncio.CancelledError, *_RERAISED):
            raise
        except BaseException as error:
            self._tls_starting = False
            if chan.connected:
                _call(chan, chan.handle_tls_failed, error)
            self.closed = True  # asyncio closed the transport
            return
        self.transport = transport
        self._tls_starting = False
        if self.closed:
            transport.close()
            return
        _call(chan, chan.handle_tls_established)
        protocol._reading = True  # the TLS transport reads
        protocol._run_pass()  # what was pushed while TLS was being set up

    def _hand_over_early(self, raw: Any) -> None:
        data, self._early = self._early, b""
        if not data or raw.is_closing():
            return
        tls = raw.get_protocol()
        if not hasattr(tls, "get_buffer"):
            tls.data_received(data)
            return
        view = memoryview(data)
        while view:  # as a transport feeds a BufferedProtocol
            buffer = tls.get_buffer(len(view))
            n = min(len(buffer), len(view))
            buffer[:n] = view[:n]
            tls.buffer_updated(n)
            view = view[n:]


def _call(chan: Any, handler: Callable[..., Any], *args: Any) -> None:
    """handler(*args), its errors to the channel's handle_error(), as asyncore's loops call handlers."""
    try:
        handler(*args)
    except _RERAISED:
        raise
    except BaseException:
        chan.handle_error()


def _take_out_of_map(chan: async_chat) -> None:
    """asyncore put the channel in a map, where a loop would poll the transport's descriptor: take it out.

    ``chan._map`` stays the map it was given (for the dispatchers it makes);
    ``_fileno`` is None, so that no later del_channel() removes another
    dispatcher that got the same descriptor number.
    """
    if chan._map.get(chan._fileno) is chan:
        del chan._map[chan._fileno]
    chan._fileno = None


class ChatProtocol(asyncio.Protocol):
    """An asyncio Protocol running one async_chat channel, made by ``channel_factory(sock)``.

    *sock* is the connection's `TransportSocket`; the factory is any callable
    that returns an ``async_chat``: the class itself when its ``__init__``
    takes the socket first (``EchoHandler``), or a function for others
    (``lambda sock: SMTPChannel(server, sock, sock.getpeername())``).
    """

    channel: Any = None
    socket: TransportSocket | None = None

    def __init__(self, channel_factory: Callable[[TransportSocket], async_chat]):
        self.channel_factory = channel_factory
        self._reading = True  # the transport reads (not paused by us)
        self._in_pass = False
        self._scheduled = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._loop = asyncio.get_running_loop()
        self.socket = TransportSocket(transport)
        try:
            chan = self.channel_factory(self.socket)
            if not isinstance(chan, async_chat):
                raise TypeError(f"the channel factory must return an async_chat, not {type(chan).__name__}")
        except BaseException:
            transport.close()  # nothing was written: the connection just ends
            raise
        _take_out_of_map(chan)
        recheck = self._recheck = _loop.WakingRecheck()
        recheck.wake = self._schedule
        recheck.forget = lambda chan, sock_map: None
        chan._framer.watch(recheck)  # pushes and close_when_done() from outside ask for a pass
        self.channel = chan
        self._run_pass()

    def data_received(self, data: bytes) -> None:
        sock = self.socket
        assert sock is not None
        if sock._tls_starting and sock.transport.get_protocol() is self:
            # Read before asyncio's TLS took the transport over (only uvloop does; see _upgrade()).
            sock._early += data
            return
        # Otherwise plaintext, or decrypted by the TLS protocol: for the channel.
        sock._received = sock._received + data if sock._received else data
        self._run_pass()

    def eof_received(self) -> bool:
        sock = self.socket
        assert sock is not None
        sock._at_eof = True
        self._run_pass()
        # The channel closes the transport when it closes (it may still send); under TLS
        # the transport closes at the peer's end whatever this says.
        return sock.transport.get_extra_info("ssl_object") is None

    def connection_lost(self, exc: Exception | None) -> None:
        sock, chan = self.socket, self.channel
        if sock is None or chan is None or sock.closed or sock._tls_starting:
            return  # (a handshake cut short is reported by TransportSocket._upgrade())
        sock.closed = True  # reset by the peer, or closed under the channel: as a hang-up under asyncore
        _call(chan, chan.handle_close)

    def pause_writing(self) -> None:
        assert self.socket is not None
        self.socket._write_paused = True

    def resume_writing(self) -> None:
        assert self.socket is not None
        self.socket._write_paused = False
        self._run_pass()

    def _schedule(self) -> None:
        if not self._in_pass and not self._scheduled:
            self._scheduled = True
            self._loop.call_soon(self._scheduled_pass)

    def _scheduled_pass(self) -> None:
        self._scheduled = False
        self._run_pass()

    def _run_pass(self) -> None:
        """One pass of a loop over this channel: a read, a write, then the interest it has now."""
        chan, sock = self.channel, self.socket
        if chan is None or sock is None or sock.closed:
            return
        self._in_pass = True
        try:
            self._recheck.clear()
            if sock._tls_starting:
                return  # nothing is read or sent until the handshake is done
            if chan.connected and (sock._received or sock._at_eof) and chan.readable():
                asyncore.read(chan)
            writing = not sock._write_paused and not sock._tls_starting
            if writing and chan.connected and chan.writable():
                asyncore.write(chan)
            if sock.closed or not chan.connected:
                return
            readable = chan.readable()
            if readable != self._reading and not sock._tls_starting:
                self._reading = readable
                (sock.transport.resume_reading if readable else sock.transport.pause_reading)()
            # Each pass reads and writes once, as a loop does: more of either is the next pass's.
            again = (readable and (sock._received or sock._at_eof)) or (
                writing and not sock._write_paused and chan.writable()
            )
        finally:
            self._in_pass = False
        if again:
            self._schedule()


async def create_chat_server(
    channel_factory: Callable[[TransportSocket], async_chat], host: Any = None, port: Any = None, **kwargs: Any
) -> asyncio.Server:
    """loop.create_server() for async_chat channels: each connection runs ``channel_factory(sock)``.

    Every keyword of ``loop.create_server()`` applies (``ssl=`` for implicit
    TLS, ``reuse_port=``, ``backlog=``, ...).
    """
    loop = asyncio.get_running_loop()
    return await loop.create_server(lambda: ChatProtocol(channel_factory), host, port, **kwargs)


async def create_chat_connection(
    channel_factory: Callable[[TransportSocket], async_chat], host: Any = None, port: Any = None, **kwargs: Any
) -> Any:
    """loop.create_connection() for an async_chat channel: connects, and returns the channel made for it."""
    loop = asyncio.get_running_loop()
    _, protocol = await loop.create_connection(lambda: ChatProtocol(channel_factory), host, port, **kwargs)
    return protocol.channel

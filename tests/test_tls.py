"""start_tls(): STARTTLS and implicit TLS with real clients, under every loop and on both engines.

Clients run in a thread (smtplib, poplib, ssl) or a process (openssl s_client),
each bounded in time, while the test's loop serves the async_chat servers of
tls_servers.py.  Certificates are made for the session by openssl.
"""

import functools
import gc
import os
import poplib
import shutil
import smtplib
import socket
import ssl
import subprocess
import sys
import threading

import pytest
from loopback import Listener, run_until
from tls_servers import (
    ClosingEcho,
    ImplicitEcho,
    POP3Server,
    ProducingEcho,
    SMTPServer,
    TLSClient,
    client_context,
    make_certificate,
    server_context,
)

pytestmark = pytest.mark.skipif(shutil.which("openssl") is None, reason="the certificates are made by openssl")


@pytest.fixture(scope="session")
def certificates(tmp_path_factory):
    """(server cert, server key, the cert of another CA) for the session."""
    directory = tmp_path_factory.mktemp("tls")
    cert, key = make_certificate(str(directory), "server")
    other, _ = make_certificate(str(directory), "other")
    return cert, key, other


@pytest.fixture
def server_ctx(certificates):
    return server_context(*certificates[:2])


class Client(threading.Thread):
    """A blocking client in a thread; its exception, if any, is re-raised by result()."""

    def __init__(self, work):
        threading.Thread.__init__(self, daemon=True)
        self.work = work
        self.value = self.error = None
        self.start()

    def run(self):
        try:
            self.value = self.work()
        except BaseException as error:  # re-raised in the test's thread
            self.error = error

    def result(self):
        self.join(5)
        if self.error is not None:
            raise self.error
        return self.value


def serve(sock_map, run_loop, client, seconds=60):
    run_until(sock_map, lambda: not client.is_alive(), run_loop, seconds=seconds)
    return client.result()


def listen(sock_map, server_class, context):
    return Listener(functools.partial(_make, server_class, context), sock_map)


def _make(server_class, context, sock, sock_map):
    return server_class(sock, sock_map, context)


def body(size):
    """A message of CRLF lines, none starting with a dot, of about *size* bytes."""
    line = b"The quick brown fox jumps over the lazy dog, once more and again.\r\n"
    return line * (size // len(line) + 1)


@pytest.mark.parametrize("size", [100, 3 * 1024 * 1024])
def test_smtplib_starttls_sends_messages_byte_exact(engine, run_loop, sock_map, certificates, server_ctx, size):
    listener = listen(sock_map, SMTPServer, server_ctx)
    message = body(size)

    def client():
        with smtplib.SMTP("127.0.0.1", listener.port, timeout=30) as smtp:
            smtp.starttls(context=client_context(certificates[0]))
            smtp.ehlo()
            smtp.sendmail("a@example.org", ["b@example.org"], message)
            smtp.sendmail("a@example.org", ["b@example.org"], message[: len(message) // 2])
            return smtp.sock.version()

    version = serve(sock_map, run_loop, Client(client))
    (server,) = listener.channels
    assert server.messages == [message, message[: len(message) // 2]]
    assert server.tls_events == [("established", version)]
    assert server.commands[:2] == [b"EHLO", b"STARTTLS"] and b"EHLO" in server.commands[2:]


def test_poplib_stls_retrieves_a_message(engine, run_loop, sock_map, certificates, server_ctx):
    message = body(200_000)

    class Mailbox(POP3Server):
        pass

    Mailbox.message = message
    listener = listen(sock_map, Mailbox, server_ctx)

    def client():
        pop = poplib.POP3("127.0.0.1", listener.port, timeout=30)
        try:
            pop.stls(context=client_context(certificates[0]))
            pop.user("u")
            pop.pass_("p")
            return pop.retr(1)[1]
        finally:
            pop.quit()

    lines = serve(sock_map, run_loop, Client(client))
    assert b"\r\n".join(lines) + b"\r\n" == message
    assert [event for event, _ in listener.channels[0].tls_events] == ["established"]


@pytest.mark.skipif(sys.platform != "linux", reason="Debian's openssl")
def test_openssl_s_client_starttls_smtp(engine, run_loop, sock_map, certificates, server_ctx):
    listener = listen(sock_map, SMTPServer, server_ctx)
    command = ["openssl", "s_client", "-starttls", "smtp", "-connect", f"127.0.0.1:{listener.port}",
               "-CAfile", certificates[0], "-verify_return_error", "-crlf", "-quiet"]  # fmt: skip
    process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        client = Client(lambda: process.communicate(b"EHLO other\nNOOP\nQUIT\n", timeout=30))
        out, err = serve(sock_map, run_loop, client)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert b"250 OK" in out and b"221 Bye" in out, (out, err)
    (server,) = listener.channels
    assert server.commands == [b"EHLO", b"STARTTLS", b"EHLO", b"NOOP", b"QUIT"]
    assert [event for event, _ in server.tls_events] == ["established"]


def lines_over_tls(port, cafile, lines, chunk=None):
    """Connect with TLS (implicit), send *lines* in one write, read the echo back."""
    context = client_context(cafile)
    with socket.create_connection(("127.0.0.1", port), timeout=30) as raw:
        with context.wrap_socket(raw, server_hostname="localhost") as tls:
            payload = b"".join(line + b"\r\n" for line in lines)
            tls.sendall(payload)
            received = b""
            while len(received) < len(payload):
                data = tls.recv(65536)
                if not data:
                    break
                received += data
            return received


@pytest.mark.parametrize("server_class", [ImplicitEcho, ProducingEcho], ids=["push", "producers-marks-limit"])
def test_implicit_tls_echo(engine, run_loop, sock_map, certificates, server_ctx, server_class):
    """Pushes, and producers with water marks and a message limit, over TLS."""
    listener = listen(sock_map, server_class, server_ctx)
    lines = [b"%04d " % i + b"y" * (i % 500) for i in range(3000)]
    received = serve(sock_map, run_loop, Client(lambda: lines_over_tls(listener.port, certificates[0], lines)))
    assert received == b"".join(line + b"\r\n" for line in lines)


def test_close_when_done_sends_close_notify(engine, run_loop, sock_map, certificates, server_ctx):
    """The client reads a clean TLS end (close_notify), not a ragged EOF, after the last echo."""
    listener = listen(sock_map, ClosingEcho, server_ctx)

    def client():
        context = client_context(certificates[0])
        with socket.create_connection(("127.0.0.1", listener.port), timeout=30) as raw:
            tls = context.wrap_socket(raw, server_hostname="localhost", suppress_ragged_eofs=False)
            tls.sendall(b"one\r\nBYE\r\n")
            received = b""
            while True:
                data = tls.recv(4096)  # SSLEOFError here if the server closed without close_notify
                if not data:
                    return received
                received += data

    assert serve(sock_map, run_loop, Client(client)) == b"one\r\nBYE\r\n"


def test_an_async_chat_client_starts_tls_too(engine, run_loop, sock_map, certificates, server_ctx):
    listener = listen(sock_map, ImplicitEcho, server_ctx)
    lines = [b"client line %d" % i for i in range(500)]
    client = TLSClient(listener.port, sock_map, client_context(certificates[0]), lines)
    run_until(sock_map, lambda: not client.connected and client.echoed, run_loop)
    assert client.echoed == lines
    assert client.tls_events[0][0] == "established"
    assert client.tls_events[0][2] == ((("commonName", "server"),),)


def test_bytes_tls_already_decrypted_are_framed_without_waiting_for_the_socket(
    engine, run_loop, sock_map, certificates, server_ctx
):
    """A recv smaller than a TLS record leaves decrypted bytes in the SSL object: the socket never says so."""

    class SmallReads(ImplicitEcho):
        ac_in_buffer_size = 7

    listener = listen(sock_map, SmallReads, server_ctx)
    lines = [b"%05d" % i for i in range(300)]
    received = serve(sock_map, run_loop, Client(lambda: lines_over_tls(listener.port, certificates[0], lines)), 30)
    assert received == b"".join(line + b"\r\n" for line in lines)


def test_plaintext_pipelined_after_starttls_is_never_executed(engine, run_loop, sock_map, certificates, server_ctx):
    """The STARTTLS injection: commands sent in plaintext after STARTTLS, in the same packet, are dropped."""
    listener = listen(sock_map, SMTPServer, server_ctx)

    def client():
        with socket.create_connection(("127.0.0.1", listener.port), timeout=30) as raw:
            reader = raw.makefile("rb")
            assert reader.readline().startswith(b"220 ")
            raw.sendall(b"STARTTLS\r\nMAIL FROM:<evil@example.org>\r\n")
            assert reader.readline().startswith(b"220 Ready")
            with client_context(certificates[0]).wrap_socket(raw, server_hostname="localhost") as tls:
                tls.sendall(b"NOOP\r\nQUIT\r\n")
                replies = b""
                while b"221" not in replies:
                    data = tls.recv(4096)
                    if not data:
                        break
                    replies += data
                return replies

    replies = serve(sock_map, run_loop, Client(client))
    assert replies == b"250 OK\r\n221 Bye\r\n"
    (server,) = listener.channels
    assert server.commands == [b"STARTTLS", b"NOOP", b"QUIT"]
    assert server.logged == [
        ("warning", "start_tls(): discarded 30 bytes the peer sent in plaintext after the STARTTLS point")
    ]


def open_sockets():
    """Sockets this process holds (not the loop's poller, which lives as long as its map is used)."""
    gc.collect()  # what is only waiting for the collector (PyPy has no reference counts)
    if not os.path.isdir("/proc/self/fd"):
        return 0
    found = 0
    for fd in os.listdir("/proc/self/fd"):
        try:
            found += os.readlink(f"/proc/self/fd/{fd}").startswith("socket:")
        except OSError:  # closed since the listing
            pass
    return found


def plaintext_client(port):
    with socket.create_connection(("127.0.0.1", port), timeout=30) as raw:
        raw.sendall(b"HELLO in plaintext\r\n")
        try:
            return raw.recv(4096)  # the server gives up: an alert, the end or a reset
        except ConnectionResetError:
            return b""


def hang_up_client(port):
    socket.create_connection(("127.0.0.1", port), timeout=30).close()


def wrong_ca_client(port, other_ca):
    with socket.create_connection(("127.0.0.1", port), timeout=30) as raw:
        with pytest.raises(ssl.SSLCertVerificationError):
            client_context(other_ca).wrap_socket(raw, server_hostname="localhost")


@pytest.mark.parametrize("peer", ["plaintext", "hang-up", "wrong-ca"])
def test_a_failed_handshake_closes_that_channel_once_and_the_server_goes_on(
    engine, run_loop, sock_map, certificates, server_ctx, peer
):
    listener = listen(sock_map, ImplicitEcho, server_ctx)
    before = open_sockets()
    bad = {"plaintext": lambda: plaintext_client(listener.port), "hang-up": lambda: hang_up_client(listener.port),
           "wrong-ca": lambda: wrong_ca_client(listener.port, certificates[2])}[peer]  # fmt: skip
    serve(sock_map, run_loop, Client(bad))
    run_until(sock_map, lambda: listener.channels and not listener.channels[0].connected, run_loop)
    failed = listener.channels[0]
    assert [event for event, _ in failed.tls_events] == ["failed"]
    assert [kind for kind, _ in failed.logged] == ["warning"]
    assert failed.socket is None or failed._fileno not in sock_map
    # The server still serves the next client.
    received = serve(sock_map, run_loop, Client(lambda: lines_over_tls(listener.port, certificates[0], [b"ok"])))
    assert received == b"ok\r\n"
    listener.channels[1].close()
    assert open_sockets() <= before


def test_start_tls_refuses_bad_arguments(engine, sock_map, server_ctx):
    left, right = socket.socketpair()
    try:
        chan = SMTPServer(left, sock_map, server_ctx)
        with pytest.raises(TypeError, match="ssl.SSLContext"):
            chan.start_tls("not a context")
        with pytest.raises(ValueError, match="server_hostname"):
            chan.start_tls(ssl.create_default_context(), server_side=False)
        chan.start_tls(server_ctx)
        with pytest.raises(RuntimeError, match="already"):
            chan.start_tls(server_ctx)
        chan.close()
    finally:
        right.close()

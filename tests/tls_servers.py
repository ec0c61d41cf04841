"""Certificates made for the session, and small SMTP and POP3 servers on async_chat with STARTTLS/STLS."""

import os
import ssl
import subprocess

import asynchat


def make_certificate(directory, name):
    """A self-signed certificate for localhost and 127.0.0.1, and its key: (cert path, key path)."""
    cert, key = os.path.join(directory, f"{name}.pem"), os.path.join(directory, f"{name}.key")
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
         "-keyout", key, "-out", cert, "-days", "2", "-subj", f"/CN={name}",
         "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    return cert, key


def server_context(cert, key):
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    return context


def client_context(cafile):
    return ssl.create_default_context(cafile=cafile)


class Recording(asynchat.async_chat):
    """A line server that records its commands, log lines and TLS events."""

    greeting = b""

    def __init__(self, sock, sock_map, context):
        asynchat.async_chat.__init__(self, sock, sock_map)
        self.context = context
        self.parts = []
        self.commands = []
        self.logged = []
        self.tls_events = []
        self.set_terminator(b"\r\n")
        if self.greeting:
            self.push(self.greeting)

    def log_info(self, message, type="info"):
        self.logged.append((type, message))

    def collect_incoming_data(self, data):
        self.parts.append(data)

    def take(self):
        data = b"".join(self.parts)
        self.parts = []
        return data

    def handle_tls_established(self):
        self.tls_events.append(("established", self.socket.version()))

    def handle_tls_failed(self, error):
        self.tls_events.append(("failed", error))
        asynchat.async_chat.handle_tls_failed(self, error)


class SMTPServer(Recording):
    """Enough SMTP for smtplib and openssl s_client: EHLO, STARTTLS, MAIL, RCPT, DATA, NOOP, RSET, QUIT."""

    greeting = b"220 localhost ESMTP test\r\n"

    def __init__(self, sock, sock_map, context):
        Recording.__init__(self, sock, sock_map, context)
        self.messages = []
        self.in_data = False

    def found_terminator(self):
        line = self.take()
        if self.in_data:
            self.in_data = False
            self.set_terminator(b"\r\n")
            self.messages.append(line + b"\r\n")
            self.push(b"250 OK: queued\r\n")
            return
        verb = line.split(b" ", 1)[0].upper()
        self.commands.append(verb)
        if verb == b"EHLO":
            tls = b"" if self._tls is not None else b"250-STARTTLS\r\n"
            self.push(b"250-localhost\r\n" + tls + b"250 SIZE 100000000\r\n")
        elif verb == b"STARTTLS":
            self.push(b"220 Ready to start TLS\r\n")
            self.start_tls(self.context)
        elif verb == b"DATA":
            self.push(b"354 End data with <CR><LF>.<CR><LF>\r\n")
            self.in_data = True
            self.set_terminator(b"\r\n.\r\n")
        elif verb == b"QUIT":
            self.push(b"221 Bye\r\n")
            self.close_when_done()
        elif verb in (b"HELO", b"MAIL", b"RCPT", b"NOOP", b"RSET"):
            self.push(b"250 OK\r\n")
        else:
            self.push(b"500 unknown command\r\n")


class POP3Server(Recording):
    """Enough POP3 for poplib: CAPA, STLS, USER, PASS, STAT, RETR 1, QUIT; *message* is mailbox's one message."""

    greeting = b"+OK POP3 test\r\n"
    message = b""

    def found_terminator(self):
        line = self.take()
        verb = line.split(b" ", 1)[0].upper()
        self.commands.append(verb)
        if verb == b"CAPA":
            self.push(b"+OK\r\nUSER\r\n" + (b"" if self._tls is not None else b"STLS\r\n") + b".\r\n")
        elif verb == b"STLS":
            self.push(b"+OK Begin TLS negotiation\r\n")
            self.start_tls(self.context)
        elif verb == b"STAT":
            self.push(b"+OK 1 %d\r\n" % len(self.message))
        elif verb == b"RETR":
            self.push(b"+OK %d octets\r\n" % len(self.message))
            self.push(self.message + b".\r\n")
        elif verb == b"QUIT":
            self.push(b"+OK bye\r\n")
            self.close_when_done()
        else:
            self.push(b"+OK\r\n")


class ImplicitEcho(Recording):
    """Implicit TLS: the handshake starts as the connection is accepted; each line comes back."""

    def __init__(self, sock, sock_map, context):
        Recording.__init__(self, sock, sock_map, context)
        self.start_tls(context)

    def found_terminator(self):
        self.push(self.take() + b"\r\n")


class ClosingEcho(ImplicitEcho):
    """Implicit TLS echo that closes (close_when_done) after the line BYE."""

    def found_terminator(self):
        line = self.take()
        self.push(line + b"\r\n")
        if line == b"BYE":
            self.close_when_done()


class ProducingEcho(ImplicitEcho):
    """Implicit TLS echo through producers, with water marks and a message limit set."""

    ac_out_high_water = 4096
    ac_max_message_size = 1024

    def found_terminator(self):
        self.push_with_producer(asynchat.simple_producer(self.take() + b"\r\n", buffer_size=5))


class TLSClient(asynchat.async_chat):
    """A client channel: connects, starts TLS (implicit) once connected, sends *lines*, collects the echo."""

    def __init__(self, port, sock_map, context, lines):
        asynchat.async_chat.__init__(self, map=sock_map)
        self.context = context
        self.lines = lines
        self.parts = []
        self.echoed = []
        self.tls_events = []
        self.set_terminator(b"\r\n")
        self.create_socket()
        self.connect(("127.0.0.1", port))

    def handle_connect(self):
        self.start_tls(self.context, server_side=False, server_hostname="localhost")

    def handle_tls_established(self):
        self.tls_events.append(("established", self.socket.version(), self.socket.getpeercert()["subject"]))
        self.push(b"".join(line + b"\r\n" for line in self.lines))

    def handle_tls_failed(self, error):
        self.tls_events.append(("failed", error))
        asynchat.async_chat.handle_tls_failed(self, error)

    def collect_incoming_data(self, data):
        self.parts.append(data)

    def found_terminator(self):
        self.echoed.append(b"".join(self.parts))
        self.parts = []
        if len(self.echoed) == len(self.lines):
            self.close()

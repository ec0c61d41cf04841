"""A small SMTP-style server written against asynchat's types: mypy must find nothing to report."""

import socket

import asynchat


class Greeting(asynchat.simple_producer):
    def __init__(self, name: str) -> None:
        super().__init__(f"220 {name} ready\r\n".encode("ascii"), buffer_size=64)


class Session(asynchat.async_chat):
    ac_in_buffer_size = 4096
    ac_out_buffer_size = 4096

    def __init__(self, sock: socket.socket, sock_map: dict[int, object]) -> None:
        super().__init__(sock, sock_map)
        self.lines: list[bytes] = []
        self.set_terminator(b"\r\n")
        self.push_with_producer(Greeting("example"))

    def collect_incoming_data(self, data: bytes) -> None:
        self.lines.append(data)

    def found_terminator(self) -> None:
        line = b"".join(self.lines)
        self.lines = []
        if line == b"DATA":
            self.set_terminator(b"\r\n.\r\n")
            self.push(b"354 go ahead\r\n")
        elif line.startswith(b"SIZE "):
            self.set_terminator(int(line[5:]))
        elif line == b"QUIT":
            self.push(bytearray(b"221 bye\r\n"))
            self.close_when_done()
        else:
            self.push(memoryview(b"250 ok\r\n"))
        rest: bytes = self.ac_in_buffer
        if rest.startswith(b"RAW"):
            self.ac_in_buffer = b""
            self.set_terminator(None)


def engine() -> str:
    name = asynchat.IMPLEMENTATION
    return "compiled" if name == "cython" else "pure Python"


held: int = asynchat.find_prefix_at_end(b"qwerty\r", b"\r\n") + asynchat.find_prefix_at_end("ab", "bc")


def backlog(session: Session) -> int:
    return len(session.producer_fifo) + len(session.ac_in_buffer)


class Listener(asynchat.async_chat):
    def __init__(self, sock_map: dict[int, object]) -> None:
        super().__init__(map=sock_map)
        self.create_socket(socket.AF_INET, socket.SOCK_STREAM)
        self.set_reuse_addr()
        self.bind(("127.0.0.1", 0))
        self.listen(5)

    def handle_accepted(self, sock: socket.socket, addr: object) -> None:
        Session(sock, self._map)

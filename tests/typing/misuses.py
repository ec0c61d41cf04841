"""Misuses of asynchat: mypy must report each line marked "# error", and no other."""

import asynchat


class Chat(asynchat.async_chat):
    def collect_incoming_data(self, data: bytes) -> None:
        data.decode()

    def found_terminator(self) -> None:
        self.push("text")  # error
        self.push(42)  # error
        self.set_terminator("\r\n")  # error
        self.set_terminator(1.5)  # error
        self.push_with_producer(object())  # error
        self.ac_in_buffer = "rest"  # error
        count: str = self.ac_out_buffer_size  # error
        self.push(b"fine")
        self.pushh(b"typo")  # error
        self.close_when_done(b"bye")  # error


def name_of_engine() -> int:
    return asynchat.IMPLEMENTATION  # error


asynchat.find_prefix_at_end(b"abc", "c")  # error
asynchat.simple_producer("text")  # error

"""Classes that define the callbacks and attributes in unusual ways get the reference's behaviour.

The compiled engine takes short cuts where a channel uses the base class's
``get_terminator()`` and ``_collect_incoming_data()`` (reading ``terminator``,
appending to ``incoming`` itself); these shapes must see what the reference does.
"""

import collections

import pytest

import asynchat

STREAM = [b"alpha\r\nbe", b"ta\r\n\r\ngam", b"ma\r\n", b"delta"]


def drive(cls):
    chan = cls()
    chunks = list(STREAM)
    chan.recv = lambda size: chunks.pop(0)
    while chunks:
        chan.handle_read()
    chan.del_channel()
    return chan.log


def plain_collector(base):
    """Uses the base class's own _collect_incoming_data / _get_data plumbing."""

    class Plain(base):
        collect_incoming_data = base._collect_incoming_data

        def __init__(self):
            base.__init__(self)
            self.log = []
            self.set_terminator(b"\r\n")

        def found_terminator(self):
            self.log.append(self._get_data())

    return Plain


def with_terminator_property(base):
    class TerminatorProperty(plain_collector(base)):
        @property
        def terminator(self):
            self.log.append("read terminator")
            return self.__dict__.get("_term")

        @terminator.setter
        def terminator(self, value):
            self.__dict__["_term"] = value
            self.__dict__["terminator"] = b"decoy"  # shadowed by the property: never read

    return TerminatorProperty


def with_incoming_property(base):
    class IncomingProperty(plain_collector(base)):
        @property
        def incoming(self):
            self.log.append("read incoming")
            return self.__dict__.setdefault("_incoming", [])

        @incoming.setter
        def incoming(self, value):
            self.__dict__["_incoming"] = value
            self.__dict__["incoming"] = ["decoy"]  # shadowed by the property: never read

    return IncomingProperty


def with_static_found_terminator(base):
    class StaticFound(plain_collector(base)):
        events = []

        @staticmethod
        def found_terminator():
            StaticFound.events.append("found")

        def __init__(self):
            super().__init__()
            StaticFound.events = self.log

    return StaticFound


def with_callable_object_found_terminator(base):
    class Counter:
        def __call__(self):
            Counter.calls += 1

    Counter.calls = 0

    class CallableFound(plain_collector(base)):
        found_terminator = Counter()

        @property
        def log(self):
            return [Counter.calls, self.incoming]

        @log.setter
        def log(self, value):
            pass

    return CallableFound


def with_custom_getattribute(base):
    class Tracing(plain_collector(base)):
        def __getattribute__(self, name):
            if name in ("terminator", "get_terminator", "collect_incoming_data", "found_terminator", "incoming"):
                object.__getattribute__(self, "log").append("get " + name)
            return object.__getattribute__(self, name)

    return Tracing


def replacing_incoming(base):
    class Replacing(plain_collector(base)):
        def found_terminator(self):
            self.log.append(b"".join(self.incoming))
            self.incoming = []

    return Replacing


def with_deque_incoming(base):
    class DequeIncoming(plain_collector(base)):
        def __init__(self):
            super().__init__()
            self.incoming = collections.deque()

        def found_terminator(self):
            self.log.append(b"".join(self.incoming))
            self.incoming.clear()

    return DequeIncoming


SHAPES = [
    plain_collector,
    with_terminator_property,
    with_incoming_property,
    with_static_found_terminator,
    with_callable_object_found_terminator,
    with_custom_getattribute,
    replacing_incoming,
    with_deque_incoming,
]


@pytest.mark.parametrize("shape", SHAPES, ids=[s.__name__ for s in SHAPES])
def test_shape_behaves_as_with_the_reference(engine, ref, shape):
    assert drive(shape(asynchat.async_chat)) == drive(shape(ref.async_chat))


def test_plain_collector_sees_every_message(engine):
    assert drive(plain_collector(asynchat.async_chat)) == [b"alpha", b"beta", b"", b"gamma"]

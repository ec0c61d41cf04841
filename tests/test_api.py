"""The public surface, its defaults, and clear errors for bad input."""

import errno
import os
import signal
import subprocess
import sys
import sysconfig
import unittest.mock
import warnings
from collections import deque

import pytest
from hypothesis import given
from hypothesis import strategies as st
from scripted_runs import run_trace

import asynchat

# The public names of CPython's module (dir() without the underscored ones) on 3.9, 3.10 and
# 3.11, for the interpreters that carry no copy of it; 3.10's imported warn().
REFERENCE_PUBLIC_NAMES = {"async_chat", "asyncore", "deque", "find_prefix_at_end", "simple_producer", "warn"}


def public_names(module):
    return {name for name in dir(module) if not name.startswith("_")}


def test_every_public_name_of_the_reference_exists():
    missing = REFERENCE_PUBLIC_NAMES - public_names(asynchat)
    assert not missing, f"asynchat lacks {sorted(missing)}"
    assert asynchat.IMPLEMENTATION in ("cython", "python")
    assert asynchat.__version__


def test_every_public_name_of_this_interpreters_reference_exists(ref):
    # On 3.12+ the reference is test.support.asynchat, whose asyncore is test.support's own copy.
    missing = public_names(ref) - public_names(asynchat)
    assert not missing, f"asynchat lacks {sorted(missing)} that {ref.__file__} has"


def test_the_shared_names_are_the_objects_async_chat_is_built_on():
    assert asynchat.asyncore.dispatcher is asynchat.async_chat.__mro__[1]
    assert asynchat.asyncore.loop is sys.modules[asynchat.async_chat.__mro__[1].__module__].loop
    assert asynchat.deque is deque
    assert asynchat.warn is warnings.warn


def test_star_import_gives_the_references_names():
    """The reference has no __all__: a star import gives its public names, and no more of ours."""
    namespace = {}
    exec("from asynchat import *", namespace)
    assert set(namespace) - {"__builtins__"} == REFERENCE_PUBLIC_NAMES - {"warn"}


def test_defaults_match_reference(ref):
    for name in ("ac_in_buffer_size", "ac_out_buffer_size", "use_encoding", "encoding"):
        assert getattr(asynchat.async_chat, name) == getattr(ref.async_chat, name), name


def test_fresh_channel_state(engine):
    chan = asynchat.async_chat()
    assert chan.ac_in_buffer == b""
    assert chan.incoming == []
    assert isinstance(chan.producer_fifo, deque)
    assert chan.readable()
    assert chan.writable()  # not connected: asyncore must see the connect complete
    chan.del_channel()


def test_import_emits_no_deprecation_warning():
    code = (
        "import warnings; warnings.simplefilter('error', DeprecationWarning); "
        "import asynchat; print(asynchat.IMPLEMENTATION)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd="/")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == asynchat.IMPLEMENTATION


@pytest.mark.skipif(not sysconfig.get_config_var("Py_GIL_DISABLED"), reason="for free-threaded builds")
def test_import_leaves_the_gil_disabled():
    """The compiled engine declares that it runs without the GIL, so importing it does not turn it back on."""
    code = "import sys, asynchat; print(asynchat.IMPLEMENTATION, sys._is_gil_enabled())"
    env = {k: v for k, v in os.environ.items() if k != "PYTHON_GIL"}
    result = subprocess.run(
        [sys.executable, "-W", "error::RuntimeWarning", "-c", code], capture_output=True, text=True, cwd="/", env=env
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [asynchat.IMPLEMENTATION, "False"]


@pytest.mark.parametrize(
    "haystack,needle",
    [
        ("qwerty\r", "\r\n"),
        ("qwertydkjf", "\r\n"),
        (b"xaa", b"aab"),
        (b"", b"ab"),
        (b"abc", b""),
        (b"\r\n.\r", b"\r\n.\r\n"),
        ("", ""),
    ],
)
def test_find_prefix_at_end_matches_reference(engine, ref, haystack, needle):
    assert engine.find_prefix_at_end(haystack, needle) == ref.find_prefix_at_end(haystack, needle)


@given(st.binary(max_size=12), st.binary(max_size=6))
def test_find_prefix_at_end_matches_reference_on_any_bytes(engine, ref, haystack, needle):
    assert engine.find_prefix_at_end(haystack, needle) == ref.find_prefix_at_end(haystack, needle)


def test_find_prefix_at_end_rejects_mixed_types(engine):
    with pytest.raises(TypeError):
        engine.find_prefix_at_end(b"abc", "c\n")


@pytest.mark.parametrize("bad", [10, "unicode", None, [b"x"], 1.5])
def test_push_rejects_non_bytes(engine, bad):
    chan = asynchat.async_chat()
    with pytest.raises(TypeError, match="push"):
        chan.push(bad)
    assert not chan.producer_fifo
    chan.del_channel()


def test_negative_int_terminator_is_a_value_error(engine):
    chan = asynchat.async_chat()
    with pytest.raises(ValueError, match="negative"):
        chan.set_terminator(-1)
    chan.del_channel()


def test_negative_count_assigned_directly_is_a_value_error_when_reading(engine):
    chan = asynchat.async_chat()
    chan.terminator = -3  # bypassing set_terminator()
    chan.recv = lambda size: b"data"
    with pytest.raises(ValueError, match="negative"):
        chan.handle_read()
    chan.del_channel()


@pytest.mark.parametrize("bad", [1.5, [b"\n"], (b"\n",), {"a": 1}, object(), "\r\n"])
def test_terminator_of_unusable_type_is_a_type_error_at_the_call(engine, bad):
    chan = asynchat.async_chat()
    with pytest.raises(TypeError, match="terminator"):
        chan.set_terminator(bad)
    chan.del_channel()


@pytest.mark.parametrize("good", [None, 0, 5, True, b"\r\n", bytearray(b"\n"), memoryview(b"END")])
def test_usable_terminators_are_stored_as_given(engine, good):
    chan = asynchat.async_chat()
    chan.set_terminator(good)
    assert chan.get_terminator() is good
    chan.del_channel()


def test_str_terminator_is_encoded_with_use_encoding(engine):
    chan = asynchat.async_chat()
    chan.use_encoding = 1
    chan.set_terminator("\xe9\n")
    assert chan.get_terminator() == b"\xe9\n"
    chan.del_channel()


def test_ac_in_buffer_assignment_takes_bytes_like_only(engine):
    chan = asynchat.async_chat()
    chan.ac_in_buffer = bytearray(b"abc")
    assert chan.ac_in_buffer == b"abc" and type(chan.ac_in_buffer) is bytes
    with pytest.raises(TypeError, match="ac_in_buffer"):
        chan.ac_in_buffer = "abc"
    chan.del_channel()


def test_recv_returning_str_is_a_type_error(engine):
    class StrRecv(asynchat.async_chat):
        def recv(self, size):
            return "text"

    chan = StrRecv()
    chan.set_terminator(b"\n")
    with pytest.raises(TypeError, match="recv"):
        chan.handle_read()
    chan.del_channel()


def test_blocking_io_error_from_recv_is_ignored(engine):
    sock = unittest.mock.Mock()
    sock.recv.side_effect = BlockingIOError(errno.EAGAIN)
    chan = asynchat.async_chat()
    chan.set_socket(sock)
    with unittest.mock.patch.object(chan, "handle_error") as handle_error:
        chan.handle_read()
    assert not handle_error.called
    chan.del_channel()


def test_other_os_error_from_recv_goes_to_handle_error(engine):
    sock = unittest.mock.Mock()
    sock.recv.side_effect = OSError(errno.EIO, "boom")
    chan = asynchat.async_chat()
    chan.set_socket(sock)
    with unittest.mock.patch.object(chan, "handle_error") as handle_error:
        chan.handle_read()
    assert handle_error.call_count == 1
    chan.del_channel()


def test_discard_buffers_empties_everything(engine):
    chan = asynchat.async_chat()
    chan.ac_in_buffer = b"pending"
    chan.incoming.append(b"x")
    chan.producer_fifo.append(b"out")
    chan.discard_buffers()
    assert (chan.ac_in_buffer, chan.incoming, list(chan.producer_fifo)) == (b"", [], [])
    chan.del_channel()


def test_collect_helpers(engine):
    chan = asynchat.async_chat()
    chan._collect_incoming_data(b"ab")
    chan._collect_incoming_data(b"cd")
    assert chan._get_data() == b"abcd"
    assert chan.incoming == []
    chan.del_channel()


def test_base_callbacks_must_be_overridden(engine):
    chan = asynchat.async_chat()
    with pytest.raises(NotImplementedError):
        chan.collect_incoming_data(b"x")
    with pytest.raises(NotImplementedError):
        chan.found_terminator()
    chan.del_channel()


def test_simple_producer_matches_reference(ref):
    for size in (1, 3, 512):
        ours = asynchat.simple_producer(b"0123456789", size)
        theirs = ref.simple_producer(b"0123456789", size)
        assert [ours.more() for _ in range(12)] == [theirs.more() for _ in range(12)]


@pytest.mark.skipif(not hasattr(signal, "SIGALRM"), reason="needs SIGALRM")
def test_many_lines_in_one_recv_take_linear_time(engine):
    """4 MiB of 16-byte lines in one recv: linear is well under a second; the
    reference's re-slicing would copy about 512 GiB and never finish in time."""
    data = b"0123456789abcde\n" * (1 << 18)

    def too_slow(signum, frame):
        raise TimeoutError("framing one large recv is not linear")

    previous = signal.signal(signal.SIGALRM, too_slow)
    signal.alarm(60)
    try:
        events = run_trace(asynchat.async_chat, [data], b"\n")
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
    assert len(events) == 2 * (1 << 18) + 1
    assert events[-1] == ("left", b"", b"\n")

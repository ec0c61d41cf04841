"""Callback traces of our async_chat against CPython's own, for the same input (contract rule 1)."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scripted_runs import examples, run_trace

import asynchat

# A small alphabet makes terminators, their prefixes and self-overlaps frequent.
ALPHABET = b"ab\r\n"

byte_strings = st.lists(st.sampled_from(ALPHABET), max_size=200).map(bytes)
string_terminators = st.lists(st.sampled_from(ALPHABET), min_size=1, max_size=8).map(bytes)
terminators = st.one_of(
    string_terminators,
    st.integers(min_value=0, max_value=24),
    st.sampled_from([None, b"", b"\r\n", b"\r\n.\r\n", b"aab", b"aaa"]),
)
actions = st.one_of(st.none(), st.just("peek"), st.tuples(st.just("drop"), st.integers(0, 5)))
programs = st.lists(st.tuples(terminators, actions), max_size=30)


@st.composite
def chunkings(draw):
    """A stream cut into recv() results of 1 byte up to more than the whole stream, some empty."""
    data = draw(byte_strings)
    chunks = []
    pos = 0
    while pos < len(data):
        size = draw(st.one_of(st.integers(1, 8), st.integers(1, len(data) + 16)))
        chunks.append(data[pos : pos + size])
        pos += size
        if draw(st.integers(0, 9)) == 0:
            chunks.append(b"")
    return chunks


def overriding_get_terminator(base):
    """A subclass whose get_terminator() is its own, so the engine must call it.

    It caps byte counts at 7, so the value it returns and the ``terminator``
    attribute (which the int countdown updates) differ.
    """

    class Overrides(base):
        def get_terminator(self):
            term = self.terminator
            return min(term, 7) if isinstance(term, int) and term else term

    return Overrides


in_collect_modes = st.sampled_from([None, None, "peek", "drop", "clear"])


def assert_same_trace(ours, theirs, chunks, first, program, in_collect):
    expected = run_trace(theirs, chunks, first, program, in_collect)
    assert run_trace(ours, chunks, first, program, in_collect) == expected


@settings(max_examples=examples(400))
@given(chunks=chunkings(), first=terminators, program=programs, in_collect=in_collect_modes)
def test_random_streams_match_reference(engine, ref, chunks, first, program, in_collect):
    assert_same_trace(asynchat.async_chat, ref.async_chat, chunks, first, program, in_collect)


@settings(max_examples=examples(150))
@given(chunks=chunkings(), first=terminators, program=programs)
def test_overridden_get_terminator_matches_reference(engine, ref, chunks, first, program):
    assert_same_trace(
        overriding_get_terminator(asynchat.async_chat),
        overriding_get_terminator(ref.async_chat),
        chunks,
        first,
        program,
        None,
    )


def split_everywhere(data):
    """Every way to cut *data* in two, plus one byte at a time."""
    yield [data]
    for i in range(1, len(data)):
        yield [data[:i], data[i:]]
    yield [data[i : i + 1] for i in range(len(data))]


CORPUS = [
    # (name, stream, first terminator, program)
    ("crlf lines", b"hello\r\nworld\r\n\r\nlast", b"\r\n", []),
    ("smtp body", b"DATA\r\nline\r\n.\r\nQUIT\r\n", b"\r\n", [(b"\r\n.\r\n", None), (b"\r\n", None)]),
    ("overlapping prefix", b"xaaab-aab-aaaab", b"aab", []),
    ("self-overlapping", b"aaaaaaa", b"aaa", []),
    ("terminator at the very end", b"abc\r\n", b"\r\n", []),
    ("only a prefix", b"\r", b"\r\n", []),
    ("int spanning chunks", b"0123456789abcdef", 10, [(3, None), (None, None)]),
    ("line then length", b"5\r\nhelloNEXT\r\n", b"\r\n", [(5, None), (b"\r\n", None)]),
    ("length then line", b"abcde\r\nrest\r\n", 5, [(b"\r\n", None), (b"\r\n", None)]),
    ("switch to None mid-chunk", b"head\nbody bytes\nmore", b"\n", [(None, None)]),
    ("zero and empty terminators", b"a\nb\nc", b"\n", [(0, None), (b"", None)]),
    ("take over the rest", b"CMD\nraw-bytes\nignored", b"\n", [(b"\n", ("drop", 4))]),
    ("peek inside found_terminator", b"one\ntwo\nthree", b"\n", [(b"\n", "peek"), (b"\n", "peek")]),
    ("empty lines", b"\n\n\nx\n", b"\n", []),
]


@pytest.mark.parametrize("name,stream,first,program", CORPUS, ids=[c[0] for c in CORPUS])
def test_corpus_matches_reference_at_every_split(engine, ref, name, stream, first, program):
    for chunks in split_everywhere(stream):
        for in_collect in (None, "peek", "drop", "clear"):
            assert_same_trace(asynchat.async_chat, ref.async_chat, chunks, first, program, in_collect)


def test_int_terminator_counts_down_and_is_zero_when_found(engine):
    events = run_trace(asynchat.async_chat, [b"abc", b"defg", b"hij"], 8)
    assert events == [
        ("collect", b"abc"),
        ("left", b"", 5),
        ("collect", b"defg"),
        ("left", b"", 1),
        ("collect", b"h"),
        ("found", 0),
        ("collect", b"ij"),
        ("left", b"", 0),
    ]


def test_terminator_prefix_is_held_back_until_resolved(engine):
    events = run_trace(asynchat.async_chat, [b"abc\r", b"\r", b"\n"], b"\r\n")
    assert events == [
        ("collect", b"abc"),
        ("left", b"\r", b"\r\n"),
        ("collect", b"\r"),
        ("left", b"\r", b"\r\n"),
        ("found", b"\r\n"),
        ("left", b"", b"\r\n"),
    ]

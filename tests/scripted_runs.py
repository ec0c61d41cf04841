"""Drive any async_chat class (ours or the reference) without sockets and record what it does.

`run_trace` feeds scripted recv() results to ``handle_read()`` and returns the
list of observable events: every ``collect_incoming_data`` with its data, every
``found_terminator`` with the terminator value seen then, and, after each recv,
what is left in ``ac_in_buffer``.  A *program* says what each
``found_terminator()`` does next: set a new terminator, and optionally drop
bytes from ``ac_in_buffer`` or read it.  *in_collect* makes every
``collect_incoming_data()`` read ``ac_in_buffer`` ("peek"), drop its first
byte ("drop") or empty it ("clear").
"""

# A program step: (new_terminator, action), action one of None, "peek", ("drop", k).


def recorder_class(base):
    class Recorder(base):
        def __init__(self, chunks, first_terminator, program, in_collect=None):
            base.__init__(self)
            self.chunks = list(chunks)
            self.program = list(program)
            self.in_collect = in_collect
            self.events = []
            self.set_terminator(first_terminator)

        def recv(self, size):
            return self.chunks.pop(0)

        def collect_incoming_data(self, data):
            event = ("collect", bytes(data))
            if self.in_collect == "peek":
                event += (self.ac_in_buffer,)
            elif self.in_collect == "drop":
                self.ac_in_buffer = self.ac_in_buffer[1:]
            elif self.in_collect == "clear":
                self.ac_in_buffer = b""
            self.events.append(event)

        def found_terminator(self):
            self.events.append(("found", self.terminator))
            if not self.program:
                return
            term, action = self.program.pop(0)
            if action == "peek":
                self.events.append(("peek", self.ac_in_buffer))
            elif action is not None:
                self.ac_in_buffer = self.ac_in_buffer[action[1] :]
            self.set_terminator(term)

    return Recorder


def run_trace(base, chunks, first_terminator, program=(), in_collect=None):
    chan = recorder_class(base)(chunks, first_terminator, program, in_collect)
    try:
        while chan.chunks:
            chan.handle_read()
            chan.events.append(("left", chan.ac_in_buffer, chan.terminator))
    finally:
        chan.del_channel()
    return chan.events


def examples(n):
    """*n* Hypothesis examples, or the profile's number when that is more (HYPOTHESIS_PROFILE=long)."""
    from hypothesis import settings

    return max(n, settings.default.max_examples)

"""The loop that hands framed input to a channel's callbacks, for the compiled engine.

It is Python, not C, on purpose: since CPython 3.11 the interpreter inlines a
call from Python code to a Python method and caches the method's lookup, while
a call made from C enters the interpreter afresh; per message that difference
is several hundred instructions.  So the compiled engine finds the messages and
this loop calls the callbacks (``asynchat._speedups.Framer.feed``).
"""


def dispatch(items, chan):
    """Call *chan*'s callbacks for each of *items*, the compiled Framer's steps of one feed.

    An item is the bytes for collect_incoming_data(), then True for
    found_terminator() or False for handle_message_too_large().
    """
    for item in items:
        if item is True:
            chan.found_terminator()
        elif item is False:
            chan.handle_message_too_large()
        else:
            chan.collect_incoming_data(item)

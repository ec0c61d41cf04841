"""Checks of what async_chat is given, with one wording for the class, the adapter and both engines.

Size settings, ``send()`` results, and reading re-entered from a callback.

The buffer sizes are the reference's (``ac_in_buffer_size``,
``ac_out_buffer_size``).  The protection settings are this package's, all off
(None) by default: ``ac_max_message_size`` bounds what one message may hand to
``collect_incoming_data()``, and ``ac_out_high_water`` / ``ac_out_low_water``
pause reading while too much output is queued.  The engines store None as
`UNLIMITED`, so that "no limit" costs them one comparison.
"""

import operator
import sys

__all__ = [
    "UNLIMITED",
    "BUFFER_SIZES",
    "PROTECTION",
    "REENTERED",
    "buffer_size",
    "protection",
    "check_class",
    "sent_count",
    "BYTES_LIKE",
    "READING",
    "PAUSED",
    "RESUMING",
    "negative_terminator",
    "negative_sent",
    "not_pushable",
]

UNLIMITED = sys.maxsize

# A read made inside a callback would frame bytes before the ones the callback
# is being handed (the reference then duplicates and loses input); refused.
REENTERED = (
    "handle_read() called from inside a callback of the same channel, while it frames "
    "input: return from the callback instead (the loop calls handle_read() again)"
)

BUFFER_SIZES = ("ac_in_buffer_size", "ac_out_buffer_size")
PROTECTION = ("ac_max_message_size", "ac_out_high_water", "ac_out_low_water")

# A channel's flow control (the engine's Framer.flow): reading; paused while more
# than ac_out_high_water bytes wait to be sent; resuming once they drained to
# ac_out_low_water, until the adapter has framed the input that waited meanwhile.
READING, PAUSED, RESUMING = 0, 1, 2

# What push() and the producer fifo take (the compiled engine spells the tuple out, so that
# Cython turns the isinstance() into three type checks).
BYTES_LIKE = (bytes, bytearray, memoryview)


def negative_terminator(count):
    return ValueError(f"a byte-count terminator must not be negative, got {count}")


def negative_sent(count):
    return ValueError(f"a count of bytes sent cannot be negative, got {count}")


def not_pushable(data):
    return TypeError(f"push() takes bytes, bytearray or memoryview, not {type(data).__name__}")


def _is_int(value):
    return isinstance(value, int) and not isinstance(value, bool)


def buffer_size(name, value):
    """*value*, a positive int, as a size an engine can hold (no buffer is above UNLIMITED).

    Anything else is a clear error naming *name*.
    """
    if not _is_int(value):
        raise TypeError(f"{name} must be a positive int, not {type(value).__name__}")
    if value <= 0:
        raise ValueError(f"{name} must be positive, got {value}")
    return min(value, UNLIMITED)


def sent_count(result, size):
    """What a ``send()`` result means for a chunk of *size* bytes: how many of them left.

    A false result (0, None) is 0, and a count above *size* means all of it,
    as in the reference; a negative count or a result that is not an int is
    a clear error.
    """
    if not result:
        return 0
    try:
        count = operator.index(result)
    except TypeError:
        raise TypeError(f"send() must return the number of bytes sent, an int, not {type(result).__name__}") from None
    if count < 0:
        raise ValueError(f"send() returned {count}: the number of bytes sent cannot be negative")
    return min(count, size)


def _size_or_none(name, value):
    if value is None:
        return UNLIMITED
    if not _is_int(value):
        raise TypeError(f"{name} must be None or an int >= 0, not {type(value).__name__}")
    if value < 0:
        raise ValueError(f"{name} must be None or an int >= 0, got {value}")
    return min(value, UNLIMITED)


def protection(max_message_size, high_water, low_water):
    """The engine's (message limit, high mark, low mark) for the three settings, checked.

    A low mark of None with a high mark set means a quarter of the high mark.
    """
    limit = _size_or_none("ac_max_message_size", max_message_size)
    high = _size_or_none("ac_out_high_water", high_water)
    low = _size_or_none("ac_out_low_water", low_water)
    if high_water is None:
        if low_water is not None:
            raise ValueError("ac_out_low_water is set but ac_out_high_water is None; set both")
    elif low_water is None:
        low = high // 4
    elif low > high:
        raise ValueError(f"ac_out_low_water ({low_water}) must not be above ac_out_high_water ({high_water})")
    return limit, high, low


def check_class(cls):
    """Check the settings a class defines or inherits, when the class is made."""
    for name in BUFFER_SIZES:
        buffer_size(f"{cls.__name__}.{name}", getattr(cls, name))
    protection(*(getattr(cls, name) for name in PROTECTION))

"""Bad size settings fail fast, with the setting named, where they are written or first used."""

import pytest
from fakes import FakeSocket, echo_class

import asynchat

BAD_CLASS_SETTINGS = [
    ({"ac_in_buffer_size": 0}, ValueError, "ac_in_buffer_size must be positive"),
    ({"ac_in_buffer_size": 4096.0}, TypeError, "ac_in_buffer_size must be a positive int"),
    ({"ac_out_buffer_size": -1}, ValueError, "ac_out_buffer_size must be positive"),
    ({"ac_max_message_size": -5}, ValueError, "ac_max_message_size must be None or an int >= 0"),
    ({"ac_max_message_size": "64k"}, TypeError, "ac_max_message_size must be None or an int"),
    (
        {"ac_out_high_water": 100, "ac_out_low_water": 200},
        ValueError,
        r"ac_out_low_water \(200\) must not be above ac_out_high_water \(100\)",
    ),
    ({"ac_out_low_water": 200}, ValueError, "ac_out_low_water is set but ac_out_high_water is None"),
    ({"ac_out_high_water": True}, TypeError, "ac_out_high_water must be None or an int"),
]


@pytest.mark.parametrize("settings,error,message", BAD_CLASS_SETTINGS)
def test_a_class_with_a_bad_setting_is_refused_when_it_is_made(settings, error, message):
    with pytest.raises(error, match=message):
        type("Bad", (asynchat.async_chat,), settings)


@pytest.mark.parametrize("settings,error,message", BAD_CLASS_SETTINGS)
def test_a_bad_setting_on_the_instance_fails_at_the_next_read(engine, settings, error, message):
    chan = echo_class(asynchat.async_chat)(FakeSocket(b"line\n"), {})
    for name, value in settings.items():
        setattr(chan, name, value)
    with pytest.raises(error, match=message):
        chan.handle_read()
        chan.handle_write()  # ac_out_buffer_size is used when sending
    chan.close()


def test_good_settings_are_taken(engine):
    cls = type(
        "Good",
        (asynchat.async_chat,),
        {
            "ac_in_buffer_size": 1,
            "ac_max_message_size": 0,
            "ac_out_high_water": 0,
            "ac_out_low_water": 0,
        },
    )
    chan = cls()
    assert chan.readable()
    chan.del_channel()


def test_a_low_mark_of_none_is_a_quarter_of_the_high_mark(engine):
    cls = type("Quarter", (echo_class(asynchat.async_chat),), {"ac_out_high_water": 400})
    sock = FakeSocket(b"x" * 401 + b"\n")
    sock.faults.send_max = 0
    chan = cls(sock, {})
    chan.handle_read()
    assert not chan.readable()
    sock.faults.send_max = 302  # 402 queued - 302 = 100: a quarter of 400
    chan.handle_write()
    assert chan.readable()
    chan.close()

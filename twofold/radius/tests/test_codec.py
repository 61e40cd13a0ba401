"""The packet checks of the RADIUS front (docs/radius.md): exact structure, exactly one
right Message-Authenticator, replies signed; and fuzzed packets that never get past them
with anything but Malformed."""

from __future__ import annotations

import contextlib
import struct

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pyrad import packet as pyrad_packet

from twofold.core import crypto
from twofold.radius import codec
from twofold.radius.tests.conftest import request_packet

SECRET = "a shared secret of the gateway"


def encoded(**options) -> bytes:
    return request_packet(SECRET, "alice@contoso.example", "pass word", **options).RequestPacket()


def test_an_authentic_request_is_read() -> None:
    request = codec.decode(encoded(calling="192.0.2.10"), SECRET.encode())
    assert (request.user_name, request.password) == ("alice@contoso.example", "pass word")
    assert request.text("Calling-Station-Id") == "192.0.2.10"


def test_a_request_without_message_authenticator_is_refused() -> None:
    with pytest.raises(codec.Malformed, match="Message-Authenticator"):
        codec.decode(encoded(message_authenticator=False), SECRET.encode())


def test_a_request_signed_with_another_secret_is_refused() -> None:
    with pytest.raises(codec.Malformed, match="Message-Authenticator"):
        codec.decode(encoded(), b"another secret")


def test_a_changed_attribute_breaks_the_message_authenticator() -> None:
    data = bytearray(encoded())
    data[-20] ^= 1  # inside an attribute before the Message-Authenticator's value
    with pytest.raises(codec.Malformed):
        codec.decode(bytes(data), SECRET.encode())


def _with_attribute(data: bytes, kind: int, value: bytes) -> bytes:
    body = data + bytes([kind, len(value) + 2]) + value
    return body[:2] + struct.pack("!H", len(body)) + body[4:]


def _signed(data: bytes) -> bytes:
    """``data`` with its first Message-Authenticator recomputed (the others as they are)."""
    position = data.index(bytes([80, 18]), 20) + 2
    zeroed = data[:position] + bytes(16) + data[position + 16 :]
    mac = crypto.message_authenticator(SECRET.encode(), zeroed)
    return data[:position] + mac + data[position + 16 :]


def test_two_message_authenticators_are_refused() -> None:
    data = _signed(_with_attribute(encoded(), 80, bytes(16)))
    with pytest.raises(codec.Malformed):
        codec.decode(data, SECRET.encode())


def test_a_message_authenticator_of_the_wrong_length_is_refused() -> None:
    data = encoded(message_authenticator=False)
    data = _with_attribute(data, 80, bytes(15))
    with pytest.raises(codec.Malformed):
        codec.decode(data, SECRET.encode())


def test_octets_past_the_length_field_are_padding() -> None:
    request = codec.decode(encoded() + b"\0\0\0\0", SECRET.encode())
    assert request.user_name == "alice@contoso.example"


@pytest.mark.parametrize(
    "damage",
    [
        lambda data: data[:-1],  # truncated: Length says more
        lambda data: data[:19],  # not even a header
        lambda data: data[:2] + struct.pack("!H", 19) + data[4:],  # Length below a header
        lambda data: data[:2] + struct.pack("!H", 5000) + data[4:] + bytes(5000),  # too long
        lambda data: data[:21] + b"\x01" + data[22:],  # an attribute of length 1
        lambda data: data[:21] + b"\xff" + data[22:],  # an attribute past the end
        lambda data: b"\x04" + data[1:],  # an Accounting-Request
    ],
)
def test_damaged_packets_are_refused(damage) -> None:
    with pytest.raises(codec.Malformed):
        codec.decode(damage(encoded()), SECRET.encode())


def test_a_password_not_a_multiple_of_16_octets_is_refused() -> None:
    data = _with_attribute(encoded(message_authenticator=False), 2, b"x" * 17)
    data = _signed(_with_attribute(data, 80, bytes(16)))
    with pytest.raises(codec.Malformed, match="User-Password"):
        codec.decode(data, SECRET.encode())


def test_a_reply_is_signed_with_the_message_authenticator_first() -> None:
    sent = request_packet(SECRET, "alice@contoso.example", "pass word")
    raw = sent.RequestPacket()
    request = codec.decode(raw, SECRET.encode())
    reply = codec.reply(request, codec.ACCESS_ACCEPT, extra={"Class": [b"vpn-users"]})
    assert reply[20] == 80  # the first attribute (draft-ietf-radext-deprecating-radius)
    # Computed independently: over the reply with the Request Authenticator and M-A zeroed.
    zeroed = reply[:4] + raw[4:20] + reply[20:22] + bytes(16) + reply[38:]
    assert reply[22:38] == crypto.message_authenticator(SECRET.encode(), zeroed)
    decoded = sent.CreateReply(packet=reply)
    assert sent.VerifyReply(decoded, reply, enforce_ma=True)
    assert decoded["Class"] == [b"vpn-users"]


def test_a_long_reply_message_is_split_into_attributes_without_cutting_a_character() -> None:
    request = codec.decode(encoded(), SECRET.encode())
    message = "验证" * 100  # 600 octets of UTF-8
    reply = pyrad_packet.Packet(packet=codec.reply(request, codec.ACCESS_REJECT, message=message))
    pieces = reply[18]
    assert len(pieces) == 3
    assert b"".join(pieces).decode() == message


def test_proxy_state_is_returned_as_sent() -> None:
    sent = request_packet(SECRET, "alice@contoso.example", "pass word")
    sent["Proxy-State"] = b"proxy-1"
    request = codec.decode(sent.RequestPacket(), SECRET.encode())
    reply = pyrad_packet.Packet(packet=codec.reply(request, codec.ACCESS_REJECT))
    assert reply[33] == [b"proxy-1"]


# --- fuzzing: whatever arrives, decode reads it or says Malformed, and nothing else ---

_FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@_FUZZ
@given(st.binary(max_size=5000))
def test_any_bytes_are_read_or_refused_as_malformed(data: bytes) -> None:
    with contextlib.suppress(codec.Malformed):
        codec.decode(data, SECRET.encode())


@_FUZZ
@given(
    st.lists(
        st.tuples(st.integers(0, 255), st.binary(max_size=260)),
        max_size=12,
    ),
    st.integers(0, 4),
)
def test_signed_packets_with_any_attributes_are_read_or_refused(
    attributes: list[tuple[int, bytes]], slack: int
) -> None:
    """The hard case: a right Message-Authenticator over attributes of any type, value and
    (possibly wrong) length. What pyrad cannot decode must come out as Malformed."""
    body = b"".join(
        bytes([kind, max(0, min(255, len(value) + 2 - slack))]) + value[:253]
        for kind, value in attributes
    )
    body += bytes([80, 18]) + bytes(16)
    data = bytes([1, 7]) + struct.pack("!H", 20 + len(body)) + bytes(16) + body
    try:
        data = _signed(data)
    except ValueError:
        return
    try:
        request = codec.decode(data, SECRET.encode())
    except codec.Malformed:
        return
    assert request.identifier == 7
    _ = (request.user_name, request.password, request.state)  # readable once decoded

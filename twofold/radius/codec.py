"""RADIUS packets in and out (RFC 2865, RFC 3579): pyrad encodes and decodes attributes;
the checks that decide whether a packet is read at all are ours (docs/radius.md).

An Access-Request is read only if its structure is exact (the Length field within the
datagram and at most 4096 octets, attributes that add up to it) and it carries exactly
one Message-Authenticator that is right under the client's shared secret: checked here
with ``core.crypto`` before pyrad decodes anything, whatever pyrad itself would accept
(BlastRADIUS, CVE-2024-3596). Every reply carries a Message-Authenticator, first.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from pyrad import packet as pyrad_packet
from pyrad.dictionary import Dictionary

from twofold.core import crypto

ACCESS_REQUEST = pyrad_packet.AccessRequest
ACCESS_ACCEPT = pyrad_packet.AccessAccept
ACCESS_REJECT = pyrad_packet.AccessReject
ACCESS_CHALLENGE = pyrad_packet.AccessChallenge

HEADER = 20
#: RFC 2865 section 3: the largest packet; anything longer is not RADIUS.
MAX_PACKET = 4096
MESSAGE_AUTHENTICATOR = 80
USER_PASSWORD = 2
#: RFC 2865 section 5.2: at most 128 octets of hidden password.
MAX_PASSWORD = 128
#: One attribute holds at most 253 octets of value; longer text goes in several.
MAX_VALUE = 253
_ZEROS = bytes(16)


class Malformed(Exception):
    """Not a packet twofold reads: dropped without an answer."""


@dataclass(frozen=True)
class Header:
    code: int
    identifier: int
    authenticator: bytes


@dataclass(frozen=True)
class AccessRequest:
    """A verified Access-Request, its attributes decoded."""

    packet: pyrad_packet.AuthPacket
    identifier: int
    authenticator: bytes

    def text(self, name: str) -> str | None:
        values = self.packet.get(name)
        return values[0] if values else None

    @property
    def user_name(self) -> str | None:
        return self.text("User-Name")

    @property
    def password(self) -> str | None:
        hidden = self.packet.get(USER_PASSWORD)
        if not hidden:
            return None
        return self.packet.PwDecrypt(hidden[0])

    @property
    def state(self) -> bytes | None:
        values = self.packet.get("State")
        return values[0] if values else None


@cache
def dictionary() -> Dictionary:
    """The attributes twofold reads and writes (the ``dictionary`` file beside this one)."""
    return Dictionary(str(Path(__file__).with_name("dictionary")))


def attributes(data: bytes) -> list[tuple[int, bytes]]:
    """The (type, value) pairs of a packet whose structure is exact; raises Malformed."""
    if len(data) < HEADER:
        raise Malformed("shorter than a header")
    (length,) = struct.unpack("!H", data[2:4])
    # Octets past Length are padding (RFC 2865 section 3); fewer than Length is truncation.
    if length < HEADER or length > MAX_PACKET or length > len(data):
        raise Malformed("bad length")
    found, offset = [], HEADER
    while offset < length:
        if offset + 2 > length:
            raise Malformed("truncated attribute")
        kind, size = data[offset], data[offset + 1]
        if size < 2 or offset + size > length:
            raise Malformed("bad attribute length")
        found.append((kind, data[offset + 2 : offset + size]))
        offset += size
    return found


def header(data: bytes) -> Header:
    """The code, identifier and authenticator of a datagram of a sane size."""
    if len(data) < HEADER:
        raise Malformed("shorter than a header")
    return Header(data[0], data[1], bytes(data[4:20]))


def authentic(data: bytes, secret: bytes) -> bool:
    """Whether the Access-Request has exactly one Message-Authenticator, right under
    ``secret`` (RFC 3579 section 3.2), compared in constant time."""
    (length,) = struct.unpack("!H", data[2:4])
    data = data[:length]
    offset, position = HEADER, None
    for kind, value in attributes(data):
        if kind == MESSAGE_AUTHENTICATOR:
            if position is not None or len(value) != len(_ZEROS):
                return False
            position = offset + 2
        offset += 2 + len(value)
    if position is None:
        return False
    zeroed = data[:position] + _ZEROS + data[position + len(_ZEROS) :]
    expected = crypto.message_authenticator(secret, zeroed)
    return crypto.constant_time_equals(expected, data[position : position + len(_ZEROS)])


def decode(data: bytes, secret: bytes) -> AccessRequest:
    """An authentic Access-Request, decoded; Malformed for anything else."""
    if header(data).code != ACCESS_REQUEST:
        raise Malformed("not an Access-Request")
    pairs = attributes(data)
    if not authentic(data, secret):
        raise Malformed("no or wrong Message-Authenticator")
    passwords = [value for kind, value in pairs if kind == USER_PASSWORD]
    if len(passwords) > 1 or any(
        not value or len(value) > MAX_PASSWORD or len(value) % 16 for value in passwords
    ):
        raise Malformed("bad User-Password")
    try:
        decoded = pyrad_packet.AuthPacket(packet=bytes(data), secret=secret, dict=dictionary())
        for name in ("User-Name", "Calling-Station-Id", "NAS-Identifier"):
            decoded.get(name)  # pyrad decodes text when asked: bad UTF-8 is malformed here
    except (pyrad_packet.PacketError, UnicodeDecodeError, ValueError, KeyError) as error:
        raise Malformed(f"undecodable: {type(error).__name__}") from error
    return AccessRequest(decoded, data[1], bytes(data[4:20]))


def _chunks(text: str) -> list[bytes]:
    """``text`` in UTF-8 pieces of at most MAX_VALUE octets, never splitting a character."""
    pieces, current = [], b""
    for character in text:
        encoded = character.encode()
        if len(current) + len(encoded) > MAX_VALUE:
            pieces.append(current)
            current = b""
        current += encoded
    return [*pieces, current] if current else pieces


def reply(
    request: AccessRequest,
    code: int,
    *,
    message: str = "",
    state: bytes | None = None,
    extra: dict[str, list[bytes | str]] | None = None,
) -> bytes:
    """The encoded reply to ``request``: Message-Authenticator first (computed with the
    Request Authenticator), then the Reply-Message, State and ``extra`` attributes; the
    request's Proxy-State copied by pyrad (RFC 2865 section 5.33)."""
    answer = request.packet.CreateReply()
    answer.code = code
    answer.add_message_authenticator()
    for piece in _chunks(message):
        answer.AddAttribute("Reply-Message", piece.decode())
    if state is not None:
        answer.AddAttribute("State", state)
    for name, values in (extra or {}).items():
        for value in values:
            answer.AddAttribute(name, value)
    return answer.ReplyPacket()

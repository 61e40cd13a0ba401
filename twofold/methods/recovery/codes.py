"""What a recovery code is: how it is made, typed, shown and kept (docs/security.md 28).

A code is 16 letters drawn by ``core.crypto.random_letters`` (the system's CSPRNG) from an
alphabet of 23 letters without i, l and o, which people confuse with 1 and 0 when copying
by hand: 16 × log2(23) ≈ 72.4 bits, above the 64 bits NIST SP 800-63B rev 4 asks of saved
recovery codes (section 4.2.1.1). No digits either, so nothing reads as a six-digit code.
It is shown in groups of four (``abcd-efgh-jkmn-pqrs``) and accepted with or without the
dashes and spaces, in any case.

Stored as a keyed digest (HMAC-SHA256, ``core.crypto.keyed_digest``) bound to its user,
not through the slow password hasher. Why that is enough: a slow hash exists to make
guessing a low-entropy secret expensive, and a 72-bit random code is not guessable. An
offline attacker holding the database but not the secret key cannot test a guess at all
(the key is not in the database); one holding both needs about 2^72 / 10 HMACs per user,
thousands of GPU-years, where a slow hash would add a constant factor to an already
infeasible search. Online, the lockout and per-address limits (docs/security.md 9) allow
a handful of guesses against 2^72. The keyed digest also lets the check find the one row
by an indexed lookup instead of running a slow hash over up to ten rows on every try.
"""

from __future__ import annotations

import math
import re

from twofold.core.crypto import keyed_digest, random_letters

#: The letters ``random_letters`` draws from (pinned by the tests: the entropy depends on it).
ALPHABET = "abcdefghjkmnpqrstuvwxyz"
LENGTH = 16
GROUP = 4
SET_SIZE = 10
#: The longest typed form still worth reading: the code with a separator between each letter.
MAX_TYPED = 2 * LENGTH
_SEPARATORS = re.compile(r"[\s\-]+")
_CODE = re.compile(f"^[{ALPHABET}]{{{LENGTH}}}$")


def entropy_bits() -> float:
    """Bits of randomness in one code: what docs/security.md 28 promises is 64 or more."""
    return LENGTH * math.log2(len(ALPHABET))


def new_code() -> str:
    """A fresh code, ungrouped (16 letters)."""
    return random_letters(LENGTH)


def normalise(typed: str) -> str | None:
    """The code as stored before hashing (16 lowercase letters), or None when what was typed
    cannot be a recovery code: dashes, spaces and case do not matter."""
    if not typed or len(typed) > MAX_TYPED:
        return None
    code = _SEPARATORS.sub("", typed).lower()
    return code if _CODE.match(code) else None


def grouped(code: str) -> str:
    """``abcdefghjkmnpqrs`` as ``abcd-efgh-jkmn-pqrs``: easier to copy by hand."""
    return "-".join(code[start : start + GROUP] for start in range(0, len(code), GROUP))


def digest(user_id: int, code: str) -> str:
    """The stored form of a normalised code: keyed, and bound to its user (one user's code
    never matches another's row, even if the letters were the same)."""
    return keyed_digest(f"{user_id}:{code}", "recovery-code")

"""The codes themselves: enough entropy, an unambiguous alphabet, forgiving typing."""

from __future__ import annotations

import math
from collections import Counter

import pytest

from twofold.methods.recovery import codes


def test_a_code_holds_at_least_64_bits() -> None:
    # docs/security.md 28: length × log2(alphabet size) ≥ 64 (NIST SP 800-63B rev 4, 4.2.1.1).
    assert codes.LENGTH * math.log2(len(set(codes.ALPHABET))) >= 64
    assert codes.entropy_bits() >= 64
    assert len(set(codes.ALPHABET)) == len(codes.ALPHABET) == 23


def test_the_alphabet_leaves_out_letters_people_confuse_and_digits() -> None:
    assert not set("ilo0123456789") & set(codes.ALPHABET)


def test_generated_codes_use_the_whole_alphabet_evenly() -> None:
    # A smoke check of the generator, not a proof: 2,000 codes (32,000 letters) use exactly
    # the 23 letters, each close to its share (a chi-square far below what a broken or
    # biased generator gives: the 0.1% critical value for 22 degrees of freedom is 48.3).
    made = [codes.new_code() for _ in range(2000)]
    assert all(len(code) == codes.LENGTH for code in made)
    assert len(set(made)) == len(made)
    counts = Counter("".join(made))
    assert set(counts) == set(codes.ALPHABET)
    expected = len(made) * codes.LENGTH / len(codes.ALPHABET)
    chi_square = sum((count - expected) ** 2 / expected for count in counts.values())
    assert chi_square < 48.3


def test_a_code_is_shown_in_groups_of_four() -> None:
    assert codes.grouped("abcdefghjkmnpqrs") == "abcd-efgh-jkmn-pqrs"


@pytest.mark.parametrize(
    "typed",
    [
        "abcd-efgh-jkmn-pqrs",
        "abcdefghjkmnpqrs",
        "ABCD EFGH JKMN PQRS",
        " Abcd-Efgh jkmn--pqrs\n",
    ],
)
def test_a_code_is_read_with_or_without_dashes_and_spaces_in_any_case(typed) -> None:
    assert codes.normalise(typed) == "abcdefghjkmnpqrs"


@pytest.mark.parametrize(
    "typed",
    ["", "123456", "abcd-efgh-jkmn-pqr", "abcd-efgh-jkmn-pqrst", "abcd-efgh-jkmn-pqri", "x" * 100],
)
def test_what_cannot_be_a_code_reads_as_nothing(typed) -> None:
    assert codes.normalise(typed) is None


def test_a_digest_is_bound_to_its_user() -> None:
    assert codes.digest(1, "abcdefghjkmnpqrs") != codes.digest(2, "abcdefghjkmnpqrs")
    assert "abcdefghjkmnpqrs" not in codes.digest(1, "abcdefghjkmnpqrs")

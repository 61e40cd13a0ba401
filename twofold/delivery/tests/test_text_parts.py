"""Counting SMS parts: what a text costs and whether it arrives in one piece."""

from twofold.delivery.base import text_parts


def test_a_short_latin_text_is_one_gsm_part() -> None:
    assert text_parts("123456 is your verification code. It expires in 5 minutes.") == 1


def test_latin_text_over_160_septets_is_split_into_153_septet_parts() -> None:
    assert text_parts("a" * 160) == 1
    assert text_parts("a" * 161) == 2
    assert text_parts("a" * 306) == 2
    assert text_parts("a" * 307) == 3


def test_chinese_text_is_ucs2_70_alone_and_67_per_concatenated_part() -> None:
    assert text_parts("验" * 70) == 1
    assert text_parts("验" * 71) == 2
    assert text_parts("验" * 134) == 2
    assert text_parts("验" * 135) == 3


def test_one_character_outside_gsm_makes_the_whole_text_ucs2() -> None:
    assert text_parts("a" * 69 + "，") == 1
    assert text_parts("a" * 70 + "，") == 2


def test_gsm_extension_characters_count_twice() -> None:
    assert text_parts("€" * 80) == 1
    assert text_parts("€" * 81) == 2

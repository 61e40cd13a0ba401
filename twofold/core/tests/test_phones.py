import pytest

from twofold.core import phones
from twofold.core.errors import InvalidInput


@pytest.mark.parametrize(
    ("number", "country", "e164"),
    [
        ("(425) 555-0134", "US", "+14255550134"),
        ("+1 425 555 0134", "US", "+14255550134"),
        ("020 7946 0123", "GB", "+442079460123"),
        ("138 0013 8000", "CN", "+8613800138000"),
    ],
)
def test_numbers_are_stored_in_e164(number: str, country: str, e164: str) -> None:
    assert phones.parse(number, country) == e164


@pytest.mark.parametrize(
    ("number", "country", "message"),
    [
        ("", "US", "Enter a phone number"),
        ("hello", "US", "not a phone number"),
        ("555", "US", "not a valid phone number"),
        ("+44 20 7946 0123", "US", "belongs to United Kingdom, not to United States"),
        ("425 555 0134", "XX", "Choose a country"),
        ("1" * 40, "US", "too long"),
    ],
)
def test_bad_numbers_are_refused_with_a_clear_message(number, country, message) -> None:
    with pytest.raises(InvalidInput, match=message):
        phones.parse(number, country)


@pytest.mark.parametrize(
    ("e164", "masked"),
    [
        ("+14255550134", "+1 XXX XXX XX34"),
        ("+442079460123", "+44 XX XXXX XX23"),
    ],
)
def test_a_masked_number_shows_only_the_country_code_and_last_two_digits(e164, masked) -> None:
    assert phones.mask(e164) == masked


def test_the_country_list_carries_calling_codes() -> None:
    by_code = {country.code: country.calling_code for country in phones.countries()}
    assert by_code["US"] == 1
    assert by_code["CN"] == 86
    assert by_code["GB"] == 44


@pytest.mark.parametrize("language", ["en", "zh"])
def test_every_country_has_a_name_never_a_bare_code(language: str) -> None:
    bare = [country.code for country in phones.countries(language) if country.name == country.code]
    assert bare == []


def test_samoa_is_named_in_chinese() -> None:
    by_code = {country.code: country.label for country in phones.countries("zh")}
    assert by_code["WS"] == "萨摩亚 (+685)"


def test_english_names_are_alphabetical_with_accents_aside() -> None:
    names = [country.name for country in phones.countries("en")]
    assert names.index("Afghanistan") < names.index("Åland Islands") < names.index("Albania")


def test_chinese_names_are_in_calling_code_order_with_each_codes_main_region_first() -> None:
    listed = phones.countries("zh")
    codes = [country.calling_code for country in listed]
    assert codes == sorted(codes)
    assert listed[0].label == "美国 (+1)"
    russia = next(country for country in listed if country.calling_code == 7)
    assert russia.code == "RU"


def test_a_number_of_no_country_keeps_the_general_sentence() -> None:
    with pytest.raises(InvalidInput, match="another country than the one you chose"):
        phones.parse("+800 1234 5678", "US")  # international freephone: no country of its own

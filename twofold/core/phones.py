"""Phone numbers: parsed and validated with ``phonenumbers``, stored in E.164, shown masked.

A full number is shown only to its owner on the settings page; everywhere else (sign-in
choices, admin pages, audit events, logs) it appears masked, e.g. ``+1 XXX XXX XX34``.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import phonenumbers
from django.utils.translation import gettext as _
from phonenumbers import geocoder

from twofold.core.errors import InvalidInput

_VISIBLE_DIGITS = 2


@dataclass(frozen=True)
class Country:
    code: str  # ISO 3166-1 alpha-2, e.g. "GB"
    calling_code: int  # e.g. 44
    name: str  # in the language asked for, e.g. "United Kingdom"

    @property
    def label(self) -> str:
        return f"{self.name} (+{self.calling_code})"


def _name(region: str, language: str) -> str:
    example = phonenumbers.example_number(region)
    name = geocoder.country_name_for_number(example, language) if example else ""
    return name if name and not name.startswith("*") else region


@cache
def countries(language: str = "en") -> tuple[Country, ...]:
    """Every region phonenumbers knows, with its calling code, sorted by name."""
    found = [
        Country(region, phonenumbers.country_code_for_region(region), _name(region, language))
        for region in phonenumbers.SUPPORTED_REGIONS
    ]
    # Regions phonenumbers can't name (a bare code such as "AC") go last, not first.
    return tuple(sorted(found, key=lambda country: (country.name == country.code, country.name)))


def parse(number: str, country: str) -> str:
    """The E.164 form of ``number`` dialled from ``country``; InvalidInput if it isn't valid.

    A number written with its own +country prefix must belong to ``country``.
    """
    country = (country or "").upper()
    if country not in phonenumbers.SUPPORTED_REGIONS:
        raise InvalidInput(_("Choose a country from the list."))
    text = (number or "").strip()
    if not text:
        raise InvalidInput(_("Enter a phone number."))
    if len(text) > 30:
        raise InvalidInput(_("This phone number is too long."))
    try:
        parsed = phonenumbers.parse(text, country)
    except phonenumbers.NumberParseException:
        raise InvalidInput(_("This is not a phone number.")) from None
    if not phonenumbers.is_valid_number(parsed):
        raise InvalidInput(_("This is not a valid phone number for the country you chose."))
    if phonenumbers.region_code_for_number(parsed) != country:
        raise InvalidInput(_("This number belongs to another country than the one you chose."))
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def region_of(e164: str) -> str:
    return phonenumbers.region_code_for_number(phonenumbers.parse(e164)) or ""


def calling_code_of(e164: str) -> int:
    return phonenumbers.parse(e164).country_code


def national(e164: str) -> str:
    """The number as its owner would write it at home (for the settings page's text box)."""
    return phonenumbers.format_number(
        phonenumbers.parse(e164), phonenumbers.PhoneNumberFormat.NATIONAL
    )


def international(e164: str) -> str:
    return phonenumbers.format_number(
        phonenumbers.parse(e164), phonenumbers.PhoneNumberFormat.INTERNATIONAL
    )


def mask(e164: str) -> str:
    """``+1 XXX XXX XX34``: the country code and the last two digits, the rest as X."""
    parsed = phonenumbers.parse(e164)
    prefix = f"+{parsed.country_code}"
    rest = international(e164)[len(prefix) :]
    digits_seen = sum(ch.isdigit() for ch in rest)
    masked, remaining = [], digits_seen
    for ch in rest:
        if ch.isdigit():
            masked.append(ch if remaining <= _VISIBLE_DIGITS else "X")
            remaining -= 1
        else:  # "-", "(", ")" and spaces all become one kind of separator
            masked.append(" ")
    groups = "".join(masked).split()
    return " ".join([prefix, *groups])

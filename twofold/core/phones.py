"""Phone numbers: parsed and validated with ``phonenumbers``, stored in E.164, shown masked.

A full number is shown only to its owner on the settings page; everywhere else (sign-in
choices, admin pages, audit events, logs) it appears masked, e.g. ``+1 XXX XXX XX34``.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from functools import cache

import phonenumbers
from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

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


# Regions phonenumbers names in no language, or not in every language we ship: never
# show a bare code such as "WS" in their place.
_NAMES = {
    "AC": gettext_lazy("Ascension Island"),
    "BL": gettext_lazy("Saint Barthélemy"),
    "EH": gettext_lazy("Western Sahara"),
    "MF": gettext_lazy("Saint Martin"),
    "TA": gettext_lazy("Tristan da Cunha"),
    "WS": gettext_lazy("Samoa"),
    "XK": gettext_lazy("Kosovo"),
}
# Languages whose names sort usefully letter by letter. Chinese names in code-point order
# read as random (不丹, 东帝汶, …) and pinyin order needs a dictionary we don't ship, so
# the others sort by the calling code every label shows.
_SORTED_BY_NAME = frozenset({"en"})


def _geocoder_name(region: str, language: str) -> str:
    # Imported on first use: its data takes 0.4 s or more to load, which every process
    # start (each `twofold` command) would otherwise pay, most of them for nothing.
    from phonenumbers import geocoder

    example = phonenumbers.example_number(region)
    name = geocoder.country_name_for_number(example, language) if example else ""
    return "" if name.startswith("*") else name  # "*zh": no name in that language


def _name(region: str, language: str) -> str:
    """The region's name in ``language``: phonenumbers', else ours, else the English one."""
    found = _geocoder_name(region, language)
    if not found and region in _NAMES:
        with translation.override(_django_language(language)):
            found = str(_NAMES[region])
    return found or _geocoder_name(region, "en") or region


def _django_language(language: str) -> str:
    """Django's code for a geocoder language: "zh" is "zh-hans"."""
    codes = (code for code, _name in settings.LANGUAGES if code.split("-")[0] == language)
    return next(codes, language)


def _by_name(country: Country) -> tuple[bool, str]:
    """Alphabetical, accents aside ("Åland" with the As); a bare code last."""
    plain = unicodedata.normalize("NFKD", country.name)
    letters = "".join(ch for ch in plain if not unicodedata.combining(ch)).casefold()
    return (country.name == country.code, letters)


def _by_calling_code(country: Country) -> tuple[int, bool, str]:
    """+1 before +7 before +86; within a code its main region first (+1: United States)."""
    main = phonenumbers.region_code_for_country_code(country.calling_code)
    return (country.calling_code, country.code != main, country.name)


@cache
def countries(language: str = "en") -> tuple[Country, ...]:
    """Every region phonenumbers knows, with its calling code and its name in ``language``
    (a geocoder language, "en" or "zh"), in the order a reader of it looks for one."""
    found = [
        Country(region, phonenumbers.country_code_for_region(region), _name(region, language))
        for region in phonenumbers.SUPPORTED_REGIONS
    ]
    key = _by_name if language in _SORTED_BY_NAME else _by_calling_code
    return tuple(sorted(found, key=key))


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
    region = phonenumbers.region_code_for_number(parsed)
    if region != country:
        raise InvalidInput(_wrong_country(region, country))
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def _wrong_country(region: str | None, chosen: str) -> str:
    """Name both countries in the reader's language: "belongs to another" alone leaves the
    person guessing which one the number is from."""
    language = (translation.get_language() or settings.LANGUAGE_CODE).split("-")[0]
    if not region or region not in phonenumbers.SUPPORTED_REGIONS:  # "001": no country
        return _("This number belongs to another country than the one you chose.")
    return _(
        "This number belongs to %(country)s, not to %(chosen)s. Choose %(country)s "
        "in the list, or check the number."
    ) % {"country": _name(region, language), "chosen": _name(chosen, language)}


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
    parsed = phonenumbers.parse(e164)  # once: parsing is most of the cost (a sync masks 100,000)
    prefix = f"+{parsed.country_code}"
    international_form = phonenumbers.format_number(
        parsed, phonenumbers.PhoneNumberFormat.INTERNATIONAL
    )
    rest = international_form[len(prefix) :]
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

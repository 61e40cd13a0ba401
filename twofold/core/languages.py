"""Which language and time zone a person sees: one rule, used by pages, texts and calls.

A person's own choice comes first, then their organisation's default, then the browser's
(its language cookie, set by the switch on the sign-in page, or Accept-Language, which
Django's LocaleMiddleware reads). With none of these, ``settings.LANGUAGE_CODE`` (English).
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from typing import Protocol

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils import translation
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from twofold.core.errors import InvalidInput


class _Organisation(Protocol):
    default_language: str


class _Person(Protocol):
    language: str
    time_zone: str
    organisation: _Organisation


def supported(code: str | None) -> bool:
    return bool(code) and code in dict(settings.LANGUAGES)


def own_name(code: str) -> str:
    """A language in its own words ("English", "简体中文"): how a switch should offer it."""
    return translation.get_language_info(code)["name_local"]


def user_choices() -> list[tuple[str, str]]:
    """The choices of a person's language setting; "" follows the organisation."""
    return [("", _("My organisation's default")), *_own_choices()]


def organisation_choices() -> list[tuple[str, str]]:
    """The choices of an organisation's default language; "" follows each browser."""
    return [("", _("Each person's browser language")), *_own_choices()]


def _own_choices() -> list[tuple[str, str]]:
    return [(code, own_name(code)) for code, _name in settings.LANGUAGES]


def chosen_language(person: _Person | None) -> str | None:
    """The person's language, else their organisation's; None leaves it to the browser."""
    if person is None:
        return None
    if supported(person.language):
        return person.language
    default = person.organisation.default_language
    return default if supported(default) else None


def language_for(person: _Person | None) -> str:
    """The language to write to ``person`` in when no browser is asking (texts, calls)."""
    return chosen_language(person) or translation.get_language() or settings.LANGUAGE_CODE


@contextmanager
def speaking_to(person: _Person | None) -> Iterator[str]:
    """Render what is said inside the block (a text, a call script) in ``person``'s language."""
    language = language_for(person)
    with translation.override(language):
        yield language


def for_api_client(request: HttpRequest, organisation: _Organisation) -> None:
    """API messages: the client's Accept-Language when it sends one (LocaleMiddleware has
    already chosen by it), else its organisation's default language, else English."""
    asked = "HTTP_ACCEPT_LANGUAGE" in request.META
    if not asked and supported(organisation.default_language):
        translation.activate(organisation.default_language)
        request.LANGUAGE_CODE = organisation.default_language


def remember_in_browser(response: HttpResponse, code: str) -> None:
    """Set the language cookie (what LocaleMiddleware reads before anyone is signed in)."""
    response.set_cookie(
        settings.LANGUAGE_COOKIE_NAME,
        code,
        max_age=settings.LANGUAGE_COOKIE_AGE,
        path=settings.LANGUAGE_COOKIE_PATH,
        domain=settings.LANGUAGE_COOKIE_DOMAIN,
        secure=settings.LANGUAGE_COOKIE_SECURE,
        httponly=settings.LANGUAGE_COOKIE_HTTPONLY,
        samesite=settings.LANGUAGE_COOKIE_SAMESITE,
    )


def geocoder_language() -> str:
    """phonenumbers' language for country names: "zh" for zh-hans, "en" for English."""
    return (translation.get_language() or settings.LANGUAGE_CODE).split("-")[0]


@cache
def time_zone_names() -> tuple[str, ...]:
    """Every IANA zone the machine knows, in alphabetical order."""
    return tuple(sorted(zoneinfo.available_timezones()))


def time_zone_choices() -> list[tuple[str, str]]:
    return [("", _("UTC (no time zone set)")), *((name, name) for name in time_zone_names())]


def check_time_zone(name: str) -> str:
    """``name`` if it is a time zone the machine knows ("" for none); InvalidInput if not."""
    name = (name or "").strip()
    if name and name not in time_zone_names():
        raise InvalidInput(gettext("Choose a time zone from the list."), field="time_zone")
    return name


def check_language(code: str) -> str:
    code = (code or "").strip()
    if code and not supported(code):
        raise InvalidInput(gettext("Choose a language from the list."), field="language")
    return code


def zone_of(person: _Person | None) -> zoneinfo.ZoneInfo | None:
    if person is None or person.time_zone not in time_zone_names():
        return None
    return zoneinfo.ZoneInfo(person.time_zone)

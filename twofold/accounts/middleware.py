"""Session lifetime: signed out after the organisation's idle time or absolute lifetime."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from django.contrib import auth, messages
from django.http import HttpRequest, HttpResponse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from twofold.accounts import pending
from twofold.audit.models import AuditAction, AuditResult
from twofold.audit.services import record
from twofold.core import languages

if TYPE_CHECKING:
    from twofold.accounts.models import User

LIFETIME = "twofold.session.lifetime"  # (started, idle seconds, absolute seconds)
SEEN = "twofold.session.seen"
_TOUCH_EVERY = 60  # seconds: note activity at most once a minute (one session write)
_POLLED = "twofold_polled"  # the mark ``polled`` leaves on a view


def start(request: HttpRequest) -> None:
    """At sign-in: fix this session's limits from the organisation's policy."""
    organisation = request.user.organisation
    now = int(time.time())
    request.session[LIFETIME] = (
        now,
        organisation.session_idle_minutes * 60,
        organisation.session_absolute_hours * 3600,
    )
    request.session[SEEN] = now


def polled(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Mark ``view`` as one a page calls by itself every few seconds (a waiting page's poll).

    A poll is not the person's activity: it neither keeps an idle session alive nor writes
    the session at all. A session is saved whole, so a write by a request the page sent by
    itself could undo what the person's own request, answered in between, had just kept
    there (docs/design.md, "Sessions": no request a page sends by itself writes one).
    """
    setattr(view, _POLLED, True)
    return view


class SessionLifetimeMiddleware:
    """Signs out a session past its idle time or absolute lifetime; notes the person's
    activity (at most once a minute), but not a poll's (``polled``)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(
        self, request: HttpRequest, view: Callable[..., HttpResponse], args: tuple, kwargs: dict
    ) -> None:
        if request.user.is_authenticated and LIFETIME in request.session:
            self._check(request, activity=not getattr(view, _POLLED, False))

    def _check(self, request: HttpRequest, *, activity: bool) -> None:
        now = int(time.time())
        started, idle, absolute = request.session[LIFETIME]
        seen = request.session.get(SEEN, started)
        if now - started > absolute or now - seen > idle:
            user = request.user
            record(
                AuditAction.SESSION_EXPIRED,
                AuditResult.SUCCESS,
                actor=user,
                subject=user,
                reason="absolute lifetime" if now - started > absolute else "inactivity",
            )
            auth.logout(request)
            messages.info(
                request, _("You were signed out to keep your account safe. Sign in again.")
            )
        elif activity and now - seen >= _TOUCH_EVERY:
            request.session[SEEN] = now


class UserLanguageMiddleware:
    """After sign-in (and during the second step): the person's language and time zone.

    Runs after LocaleMiddleware, which has already chosen from the language cookie or
    Accept-Language; a person's own or organisation's choice overrides that choice.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        person = _person(request)
        language = languages.chosen_language(person)
        if language:
            translation.activate(language)
            request.LANGUAGE_CODE = language
        zone = languages.zone_of(person)
        if zone is not None:
            timezone.activate(zone)
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()


def _person(request: HttpRequest) -> User | None:
    if request.user.is_authenticated:
        return request.user
    if pending.is_pending(request):  # the second step's user
        return pending.pending_user(request, even_blocked=True)
    return None

"""The host side of enrolment: one flow per method, run from two places.

A method's enrolment view (``Enrolment.url_name``, methods/base.py) serves a person on the
settings page (signed in, with a recent second factor) and a person in first-time
registration at sign-in (their password checked, no method yet) alike. It asks
``current(request)`` who is enrolling and where from, does its own work, and hands back
with ``finish(request, enrolling, proof=...)``:

- in registration, a proof completes the sign-in: it is the second factor (an approved
  challenge the method opened, such as a texted code to the new number; or the option
  key the enrolment proved in its own way, such as the code typed from a new app);
- on the settings page, it returns to ``next``.

The two hosts themselves live in the entry points (``signin.register`` and
``selfservice``), which register them here when they start: methods know nothing of
sign-in pages or the settings page (docs/design.md, the layers).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import TYPE_CHECKING, Protocol

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.http import url_has_allowed_host_and_scheme

from twofold.core.errors import NotAllowed

if TYPE_CHECKING:
    from twofold.accounts.models import User
    from twofold.methods.models import Challenge

SETTINGS = "settings"
REGISTRATION = "registration"


@dataclass(frozen=True)
class Enrolling:
    """Who is adding a method, from which host, and where to go afterwards."""

    user: User
    host: str  # SETTINGS or REGISTRATION
    next: str  # a local path, checked


class Host(Protocol):
    """What an entry point provides to host enrolments."""

    name: str

    def user(self, request: HttpRequest) -> User | None:
        """The person this host lets enrol now, or None (not theirs, or not allowed)."""

    def refusal(self, request: HttpRequest) -> HttpResponse:
        """Where to send someone this host can't let enrol (sign in, confirm it's you)."""

    def finish(self, request: HttpRequest, user: User, option: str, next_url: str) -> HttpResponse:
        """After a proven enrolment (``option``: the option key it proved, or "")."""

    def default_next(self) -> str:
        """Where to return when the method's view was given no ``next``."""


_HOSTS: dict[str, Host] = {}


def add_host(host: Host) -> None:
    """Called once by each entry point when it starts; a signed-in person is the settings
    page's, anyone else the registration's (``current``)."""
    _HOSTS[host.name] = host


def _hosts_in_order() -> list[Host]:
    # A signed-in person enrols from the settings page; otherwise, a pending sign-in.
    return [_HOSTS[name] for name in (SETTINGS, REGISTRATION) if name in _HOSTS]


def _safe_next(request: HttpRequest, host: Host) -> str:
    candidate = request.POST.get("next") or request.GET.get("next") or ""
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=False
    ):
        return candidate
    return host.default_next()


def current(request: HttpRequest) -> Enrolling:
    """Who enrols with this request, from which host; NotAllowed if nobody may."""
    for host in _hosts_in_order():
        user = host.user(request)
        if user is not None:
            return Enrolling(user=user, host=host.name, next=_safe_next(request, host))
    raise NotAllowed("nobody may enrol with this request")


def hosted(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """For a method's enrolment views: ``view(request, enrolling, ...)``, or the host's
    refusal (the sign-in page, "confirm it's you") for anyone who may not enrol."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: object, **kwargs: object) -> HttpResponse:
        try:
            enrolling = current(request)
        except NotAllowed:
            return _refusal(request)
        return view(request, enrolling, *args, **kwargs)

    return wrapper


def _refusal(request: HttpRequest) -> HttpResponse:
    authenticated = getattr(request, "user", None) is not None and request.user.is_authenticated
    name = SETTINGS if authenticated else REGISTRATION
    host = _HOSTS.get(name)
    return host.refusal(request) if host is not None else redirect("/")


def finish(
    request: HttpRequest, enrolling: Enrolling, proof: Challenge | str | None = None
) -> HttpResponse:
    """Hand back to the host once the method registered something.

    ``proof``: an approved challenge of this user that proved the new registration, or
    the option key the enrolment itself proved (a code typed from the new app); None
    when nothing was proven (new recovery codes): registration then goes on asking for a
    method, and the settings page returns to ``next``.
    """
    option = _proven_option(enrolling.user, proof)
    host = _HOSTS[enrolling.host]
    if enrolling.host == REGISTRATION and not option:
        return redirect(enrolling.next)
    return host.finish(request, enrolling.user, option, enrolling.next)


def _proven_option(user: User, proof: Challenge | str | None) -> str:
    """The option the proof stands for, if the user's organisation allows it (a proof for
    another's challenge, or for an option the policy refuses, proves nothing)."""
    from twofold.methods import base
    from twofold.methods.models import Challenge, ChallengeState

    if isinstance(proof, Challenge):
        approved = proof.user_id == user.pk and proof.state == ChallengeState.APPROVED
        option = proof.option if approved else ""
    else:
        option = proof or ""
    spec = base.option_spec(option) if option else None
    if spec is None or not user.organisation.allows(spec.policy_kind):
        return ""
    return option

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

An enrolment proven away from this browser (the twofold Authenticator, activated from
the phone) makes the person's method before the browser hands back, and registration no
longer lets someone with a method enrol: the view ``keep``s who enrols from where when it
starts, and its last steps are ``resumed`` by the same person on the same host.

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
from django.utils.translation import gettext as _

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

    def finish(
        self, request: HttpRequest, user: User, option: str, next_url: str, said: str = ""
    ) -> HttpResponse:
        """After a proven enrolment (``option``: the option key it proved, or ""; ``said``:
        the method's own words for it, if any)."""

    def default_next(self) -> str:
        """Where to return when the method's view was given no ``next``."""

    def person(self, request: HttpRequest) -> User | None:
        """Whoever this host serves in this request, whether or not they may enrol now
        (the signed-in person; the person whose password was just right)."""


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
    raise NotAllowed(_("Sign in first to add a way to verify."))


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


_KEPT = "twofold.enrolment.kept"


def keep(request: HttpRequest, enrolling: Enrolling) -> None:
    """Remember, in this session, who enrols from where: for an enrolment proven away from
    this browser, whose last steps are ``resumed``."""
    request.session[_KEPT] = {
        "host": enrolling.host,
        "user": enrolling.user.pk,
        "next": enrolling.next,
    }


def kept(request: HttpRequest) -> Enrolling | None:
    """What ``keep`` remembered, while this request is still the same person's on the same
    host (signed out, or another person's sign-in, and it is gone)."""
    held = request.session.get(_KEPT)
    host = _HOSTS.get(held["host"]) if isinstance(held, dict) else None
    person = host.person(request) if host is not None else None
    if person is None or person.pk != held["user"]:
        return None
    return Enrolling(user=person, host=host.name, next=held["next"])


def resumed(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """For the last steps of an enrolment that was ``keep``t: ``view(request, enrolling)``,
    or the host's refusal when nothing was kept for this person."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: object, **kwargs: object) -> HttpResponse:
        enrolling = kept(request)
        if enrolling is None:
            return _refusal(request)
        return view(request, enrolling, *args, **kwargs)

    return wrapper


def _refusal(request: HttpRequest) -> HttpResponse:
    authenticated = getattr(request, "user", None) is not None and request.user.is_authenticated
    name = SETTINGS if authenticated else REGISTRATION
    host = _HOSTS.get(name)
    return host.refusal(request) if host is not None else redirect("/")


def finish(
    request: HttpRequest,
    enrolling: Enrolling,
    proof: Challenge | str | None = None,
    said: str = "",
) -> HttpResponse:
    """Hand back to the host once the method registered something.

    ``proof``: an approved challenge of this user that proved the new registration, or
    the option key the enrolment itself proved (a code typed from the new app); None
    when nothing was proven (new recovery codes): registration then goes on asking for a
    method, and the settings page returns to ``next``. ``said``: what the method tells
    the person once done, in place of the settings page's own words.
    """
    request.session.pop(_KEPT, None)
    option = _proven_option(enrolling.user, proof)
    host = _HOSTS[enrolling.host]
    if enrolling.host == REGISTRATION and not option:
        return redirect(enrolling.next)
    return host.finish(request, enrolling.user, option, enrolling.next, said)


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

"""Step-up: changing a method needs a second factor verified within the last few minutes.

The session remembers when its user last passed a second factor (at sign-in, or on the
"confirm it's you" page); views that change methods demand that it be recent.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import wraps

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme, urlencode

from twofold.methods import base

VERIFIED_AT = "twofold.mfa.verified_at"
#: Where to go once a first method is registered (set by ``register_first``).
RETURN_TO = "twofold.mfa.return_to"


def mark_verified(request: HttpRequest) -> None:
    """Record that the session's user just passed a second factor (or registered one)."""
    request.session[VERIFIED_AT] = int(time.time())


def is_recent(request: HttpRequest) -> bool:
    verified_at = request.session.get(VERIFIED_AT)
    window = settings.TWOFOLD["step_up_seconds"]
    return verified_at is not None and time.time() - verified_at <= window


def may_change_methods(request: HttpRequest) -> bool:
    """A recent second factor, or no method to verify with yet (the first registration).

    A user an administrator asked to provide contact methods again changes nothing here:
    they register again at sign-in, with the administrator's access code.
    """
    if request.user.must_reregister:
        return False
    return is_recent(request) or not base.options_for(request.user)


def step_up_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """For views that change methods: send the user to confirm it's them first.

    A GET comes back to the same page afterwards; a POST is never replayed (the user
    submits it again), so nothing changes on the strength of an old verification.
    """

    @wraps(view)
    def wrapper(request: HttpRequest, *args: object, **kwargs: object) -> HttpResponse:
        if may_change_methods(request):
            return view(request, *args, **kwargs)
        back = (
            request.get_full_path() if request.method == "GET" else reverse("security-verification")
        )
        return redirect(f"{reverse('step-up')}?{urlencode({'next': back})}")

    return wrapper


def register_first(request: HttpRequest, target: str, why: str) -> HttpResponse:
    """Send a user who needs a second factor and has no method to register one (``why``
    says so on the page); once they have, the settings page sends them on to ``target``
    (``return_after_registration``)."""
    request.session[RETURN_TO] = target
    messages.info(request, why)
    return redirect("security-verification")


def return_after_registration(request: HttpRequest) -> str | None:
    """Where ``register_first`` meant the user to go, once they have a method (taken once)."""
    target = request.session.get(RETURN_TO)
    if not target or not base.options_for(request.user):
        return None
    del request.session[RETURN_TO]
    if url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return target
    return None

"""The settings page as a host of methods' enrolments (methods/enrolment.py): a signed-in
person who confirmed it's them recently (or has no method yet) adds a method, and comes
back to the page, or to the ``next`` the settings page gave."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _

from twofold.methods import enrolment, stepup

if TYPE_CHECKING:
    from twofold.accounts.models import User


class SettingsHost:
    name = enrolment.SETTINGS

    def user(self, request: HttpRequest) -> User | None:
        if not request.user.is_authenticated:
            return None
        return request.user if stepup.may_change_methods(request) else None

    def refusal(self, request: HttpRequest) -> HttpResponse:
        """Confirm it's you, then back to the same page (a GET; a POST is never replayed).
        Someone an administrator asked to register again is signed out there and sent to
        register at sign-in, with the access code (methods/stepup.py)."""
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        back = (
            request.get_full_path() if request.method == "GET" else reverse("security-verification")
        )
        return redirect(f"{reverse('step-up')}?{urlencode({'next': back})}")

    def finish(
        self, request: HttpRequest, user: User, option: str, next_url: str, said: str = ""
    ) -> HttpResponse:
        if option:
            # Proving what was just added is a second factor just passed (a first method).
            stepup.mark_verified(request)
        messages.success(request, said or _("Your changes were saved."))
        return redirect(next_url)

    def person(self, request: HttpRequest) -> User | None:
        return request.user if request.user.is_authenticated else None

    def default_next(self) -> str:
        return reverse("security-verification")

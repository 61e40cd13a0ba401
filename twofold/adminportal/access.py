"""Who may use the admin portal, and on whom: administrators, within their organisation only.

Every view takes its subjects through ``subject_or_404`` (or ``users_or_404``): a user of
another organisation is "not found", exactly like a user who doesn't exist, and the attempt
is audited.
Every page and action also needs a second factor verified in the last few minutes,
whatever the administrator's own MFA state says (docs/security.md 29); an administrator
with no method registers one first, then comes back to where they were going.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _

from twofold.accounts.models import User
from twofold.audit.models import AuditAction, AuditResult
from twofold.audit.services import record
from twofold.methods import base, stepup


def admin_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Signed in, an administrator of their organisation, with a recent second factor."""

    @login_required
    @wraps(view)
    def wrapper(request: HttpRequest, *args: object, **kwargs: object) -> HttpResponse:
        if not request.user.is_admin:
            record(
                AuditAction.ADMIN_ACCESS_DENIED,
                AuditResult.DENIED,
                actor=request.user,
                reason="not an administrator",
            )
            raise PermissionDenied
        detour = second_factor_detour(request)
        return detour if detour is not None else view(request, *args, **kwargs)

    return wrapper


def second_factor_detour(request: HttpRequest) -> HttpResponse | None:
    """Where an administrator without a recent second factor goes first: registering a
    method if they have none, else confirming it's them; ``None`` when they may go on.

    A password alone never reaches an admin page or action (docs/security.md 29): no
    method is not a reason to skip the check, unlike a first registration of one's own.
    A POST is never replayed: afterwards they come back to the page they sent it from.
    """
    user = request.user
    if user.must_reregister:  # the step-up page tells them to sign in with the access code
        return redirect("step-up")
    if stepup.is_recent(request):  # only ever set by a second factor passed (or registered)
        return None
    target = _where_to_come_back(request)
    if not base.options_for(user):
        why = _(
            "Administrators always verify with a second factor. Set up a verification "
            "method to continue to the admin portal."
        )
        return stepup.register_first(request, target, why)
    return redirect(f"{reverse('step-up')}?{urlencode({'next': target})}")


def _where_to_come_back(request: HttpRequest) -> str:
    """The page itself for a GET; for an action, the portal page it was sent from."""
    if request.method in ("GET", "HEAD"):
        return request.get_full_path()
    back = request.META.get("HTTP_REFERER", "")
    return back if back.startswith(request.build_absolute_uri("/")) else reverse("admin-users")


def operator_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """The service's operator, with a second factor verified in the last few minutes for
    every page (the operator pages reach every organisation); anyone else is refused."""

    @login_required
    @wraps(view)
    def wrapper(request: HttpRequest, *args: object, **kwargs: object) -> HttpResponse:
        if not request.user.is_operator:
            record(
                AuditAction.OPERATOR_ACCESS_DENIED,
                AuditResult.DENIED,
                actor=request.user,
                reason="not the operator",
            )
            raise PermissionDenied
        if not base.options_for(request.user):  # never single-factor: a method first
            return render(request, "adminportal/operator_no_method.html", status=403)
        if not stepup.is_recent(request):
            back = request.get_full_path() if request.method == "GET" else ""
            target = back or reverse("operator-organisations")
            return redirect(f"{reverse('step-up')}?{urlencode({'next': target})}")
        return view(request, *args, **kwargs)

    return wrapper


def users_of(admin: User):
    """The administrator's own organisation's users: the only ones any page may touch."""
    return User.objects.filter(organisation_id=admin.organisation_id)


def subject_or_404(admin: User, user_id: int) -> User:
    """A user of the administrator's organisation; anyone else is "not found" (and audited)."""
    subject = User.objects.select_related("organisation").filter(pk=user_id).first()
    if subject is None:
        raise Http404
    if subject.organisation_id != admin.organisation_id:
        record(
            AuditAction.ADMIN_ACCESS_DENIED,
            AuditResult.DENIED,
            actor=admin,
            reason="user of another organisation",
        )
        raise Http404
    return subject


def users_or_404(admin: User, user_ids: list[int]):
    """Exactly these users, all of the administrator's organisation; if any is not (of
    another organisation, or gone), the whole selection is "not found" (and audited)."""
    wanted = set(user_ids)
    users = users_of(admin).filter(pk__in=wanted)
    if users.count() == len(wanted):
        return users
    if User.objects.filter(pk__in=wanted).exclude(organisation_id=admin.organisation_id).exists():
        record(
            AuditAction.ADMIN_ACCESS_DENIED,
            AuditResult.DENIED,
            actor=admin,
            reason="user of another organisation",
        )
    raise Http404

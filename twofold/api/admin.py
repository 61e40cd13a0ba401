"""/api/v1/users/{username}/…: administrators' actions on one user (scope admin).

The same functions as the admin portal's buttons (``administration.services``). Those take
an administrator as their actor; an API client is none, so they are called with no
actor and the client's label (``api:<name>``) instead: their own events name the client,
as the call's event does.
"""

from __future__ import annotations

from datetime import datetime

from django.http import HttpRequest
from ninja import Field, Router, Schema
from ninja.decorators import decorate_view

from twofold.accounts.models import User
from twofold.administration import services as admin
from twofold.api import services
from twofold.api.auth import Call, ClientToken, audited, documented
from twofold.api.errors import ERROR_STATUSES, ErrorOut
from twofold.api.models import ApiScope
from twofold.api.schemas import UserDetailOut, user_detail
from twofold.audit.models import AuditAction
from twofold.methods import resets

router = Router(tags=["admin"], auth=ClientToken(ApiScope.ADMIN))
RESPONSES = {200: UserDetailOut, ERROR_STATUSES: ErrorOut}


class ReregisteredOut(Schema):
    user: UserDetailOut
    access_code: str | None = Field(
        description="Hand it to the user, once: their new registration needs it. Null when "
        "the organisation lets them re-register without one (until valid_until)."
    )
    valid_until: datetime | None


class BypassIn(Schema):
    minutes: int = Field(ge=1, le=admin.MAX_BYPASS_MINUTES)
    reason: str = Field(min_length=1, max_length=200, description="Why, for the audit log.")


def _subject(request: HttpRequest, username: str) -> tuple[User, object]:
    """The user, and a queryset of just them (what the bulk functions take)."""
    call: Call = request.auth
    call.names(username)
    user = services.member_or_404(call.organisation, username, actor_label=call.client.label)
    call.subject = user
    return user, User.objects.filter(pk=user.pk, organisation=call.organisation)


def _client(request: HttpRequest) -> str:
    """Who acts, for the admin services' audit events: the calling client's label."""
    return request.auth.client.label


def _fresh(user: User) -> User:
    return User.objects.select_related("organisation").get(pk=user.pk)


@router.post(
    "/{username}/reregister",
    response={200: ReregisteredOut, ERROR_STATUSES: ErrorOut},
    operation_id="reregister",
    openapi_extra=documented(ApiScope.ADMIN),
    summary="Require the user to register methods again",
)
@decorate_view(audited(AuditAction.REREGISTRATION_REQUIRED))
def reregister(request: HttpRequest, username: str) -> dict[str, object]:
    """Their methods stop counting at once and their trusted devices are forgotten."""
    user, just_them = _subject(request, username)
    result = admin.manage_user_settings(
        just_them, reregister=True, actor=None, actor_label=_client(request)
    )
    user = _fresh(user)
    code = resets.access_code(user.pk, result.nonce) if resets.needs_access_code(user) else None
    return {"user": user_detail(user), "access_code": code, "valid_until": user.reregister_until}


@router.post(
    "/{username}/delete-app-passwords",
    response=RESPONSES,
    operation_id="delete_app_passwords",
    openapi_extra=documented(ApiScope.ADMIN),
    summary="Delete the user's app passwords",
)
@decorate_view(audited(AuditAction.APP_PASSWORDS_DELETED_BY_ADMIN))
def delete_app_passwords(request: HttpRequest, username: str) -> dict[str, object]:
    user, just_them = _subject(request, username)
    admin.delete_app_passwords(just_them, actor=None, actor_label=_client(request))
    return user_detail(_fresh(user))


@router.post(
    "/{username}/restore-devices",
    response=RESPONSES,
    operation_id="restore_devices",
    openapi_extra=documented(ApiScope.ADMIN),
    summary="Forget the browsers the user trusted",
)
@decorate_view(audited(AuditAction.TRUSTED_DEVICES_FORGOTTEN))
def restore_devices(request: HttpRequest, username: str) -> dict[str, object]:
    user, just_them = _subject(request, username)
    admin.restore_remembered_devices(just_them, actor=None, actor_label=_client(request))
    return user_detail(_fresh(user))


@router.post(
    "/{username}/bypass",
    response=RESPONSES,
    operation_id="bypass",
    openapi_extra=documented(ApiScope.ADMIN),
    summary="Let the next sign-in skip the second factor, once",
)
@decorate_view(audited(AuditAction.BYPASS_GRANTED))
def bypass(request: HttpRequest, username: str, body: BypassIn) -> dict[str, object]:
    user, _just_them = _subject(request, username)
    admin.grant_bypass(
        user, minutes=body.minutes, reason=body.reason, actor=None, actor_label=_client(request)
    )
    return user_detail(_fresh(user))


@router.post(
    "/{username}/unblock",
    response=RESPONSES,
    operation_id="unblock",
    openapi_extra=documented(ApiScope.ADMIN),
    summary="Unblock the user",
)
@decorate_view(audited(AuditAction.USER_UNBLOCKED))
def unblock(request: HttpRequest, username: str) -> dict[str, object]:
    user, _just_them = _subject(request, username)
    admin.unblock(user, actor=None, actor_label=_client(request))
    return user_detail(_fresh(user))


@router.post(
    "/{username}/unlock",
    response=RESPONSES,
    operation_id="unlock",
    openapi_extra=documented(ApiScope.ADMIN),
    summary="Unlock the user's second factor",
)
@decorate_view(audited(AuditAction.USER_UNLOCKED))
def unlock(request: HttpRequest, username: str) -> dict[str, object]:
    user, _just_them = _subject(request, username)
    admin.unlock(user, actor=None, actor_label=_client(request))
    return user_detail(_fresh(user))

"""/api/v1/users: an organisation's users, read (users:read) and changed (users:write).

Users are named by user name in paths; another organisation's user is "not found", like
nobody at all. Paging follows user names (?after=), never offsets.
"""

from __future__ import annotations

from typing import Literal

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema
from ninja.decorators import decorate_view
from ninja.responses import Status

from twofold.accounts.models import MfaState, User
from twofold.administration.users import UserFilter
from twofold.api import services
from twofold.api.auth import Call, ClientToken, audited, documented
from twofold.api.errors import ERROR_STATUSES, ErrorOut
from twofold.api.models import ApiScope
from twofold.api.schemas import UserDetailOut, UserOut, user_detail, user_out
from twofold.audit.models import AuditAction
from twofold.methods import base

router = Router(tags=["users"])
READ = ClientToken(ApiScope.USERS_READ)
WRITE = ClientToken(ApiScope.USERS_WRITE)
MAX_PAGE = 200
State = Literal["disabled", "enabled", "enforced"]


class UserQuery(Schema):
    after: str = Field("", max_length=254, description="The last user name of the page before.")
    limit: int = Field(50, ge=1, le=MAX_PAGE)
    q: str = Field("", max_length=100, description="User name prefix or part of the name.")
    mfa_state: State | None = None
    methods: Literal["yes", "no"] | None = Field(None, description="Has registered methods.")
    status: Literal["locked", "blocked"] | None = None


class UserPage(Schema):
    users: list[UserOut]
    next: str | None = Field(description="Pass as ?after= for the next page; null at the end.")


class UserCreateIn(Schema):
    username: str = Field(min_length=1, max_length=254)
    display_name: str = Field("", max_length=150)
    email: str = Field("", max_length=254)
    mfa_state: State = MfaState.DISABLED


class UserCreatedOut(Schema):
    user: UserDetailOut
    password_link: str = Field(description="A one-time link for the user to set a password.")


class UserChangeIn(Schema):
    display_name: str | None = Field(None, max_length=150)
    email: str | None = Field(None, max_length=254)
    mfa_state: State | None = None


def _member(request: HttpRequest, username: str) -> User:
    call: Call = request.auth
    call.names(username)
    user = services.member_or_404(call.organisation, username, actor_label=call.client.label)
    call.subject = user
    return user


@router.get(
    "",
    auth=READ,
    response={200: UserPage, ERROR_STATUSES: ErrorOut},
    operation_id="list_users",
    openapi_extra=documented(ApiScope.USERS_READ),
    summary="List users",
)
@decorate_view(audited(None))
def list_users(request: HttpRequest, query: Query[UserQuery]) -> dict[str, object]:
    """In user-name order, ``limit`` at a time (at most 200), with the same filters as the
    admin portal's user list."""
    organisation = request.auth.organisation
    filters = UserFilter(
        {
            "q": query.q,
            "mfa_state": query.mfa_state or "",
            "methods": query.methods or "",
            "status": query.status or "",
        }
    )
    users = filters.apply(User.objects.filter(organisation=organisation))
    if query.after:
        users = users.filter(username__gt=query.after)
    rows = list(users.order_by("username")[: query.limit + 1])
    more, rows = len(rows) > query.limit, rows[: query.limit]
    kinds = base.kinds_for([user.pk for user in rows])
    return {
        "users": [user_out(user, kinds[user.pk]) for user in rows],
        "next": rows[-1].username if more else None,
    }


@router.get(
    "/{username}",
    auth=READ,
    response={200: UserDetailOut, ERROR_STATUSES: ErrorOut},
    operation_id="get_user",
    openapi_extra=documented(ApiScope.USERS_READ),
    summary="One user",
)
@decorate_view(audited(None))
def get_user(request: HttpRequest, username: str) -> dict[str, object]:
    """The user, with their verification options as masked prompts."""
    return user_detail(_member(request, username))


@router.post(
    "",
    auth=WRITE,
    response={201: UserCreatedOut, ERROR_STATUSES | {409}: ErrorOut},
    operation_id="create_user",
    openapi_extra=documented(ApiScope.USERS_WRITE),
    summary="Create a user",
)
@decorate_view(audited(AuditAction.USER_CREATED))
def create_user(request: HttpRequest, body: UserCreateIn) -> Status:
    """Without a password: the answer carries a one-time link for the user to set one. A
    user name that exists already (in any organisation) is 409 already_exists."""
    call: Call = request.auth
    call.names(body.username)
    user, link = services.create_user(
        call.organisation,
        body.username,
        display_name=body.display_name,
        email=body.email,
        mfa_state=body.mfa_state,
        actor_label=call.client.label,
    )
    call.subject = user
    return Status(201, {"user": user_detail(user), "password_link": link})


@router.patch(
    "/{username}",
    auth=WRITE,
    response={200: UserDetailOut, ERROR_STATUSES: ErrorOut},
    operation_id="change_user",
    openapi_extra=documented(ApiScope.USERS_WRITE),
    summary="Change a user",
)
@decorate_view(audited(None))  # update_user records USER_UPDATED with the client as actor
def change_user(request: HttpRequest, username: str, body: UserChangeIn) -> dict[str, object]:
    """Change display_name, email or mfa_state; fields left out stay as they are."""
    user = _member(request, username)
    changes = body.model_dump(exclude_unset=True)
    user = services.update_user(user, changes=changes, actor_label=request.auth.client.label)
    return user_detail(user)


@router.delete(
    "/{username}",
    auth=WRITE,
    response={204: None, ERROR_STATUSES: ErrorOut},
    operation_id="delete_user",
    openapi_extra=documented(ApiScope.USERS_WRITE),
    summary="Delete a user",
)
@decorate_view(audited(None))  # delete_user records USER_DELETED with the client as actor
def delete_user(request: HttpRequest, username: str) -> Status:
    """Delete the user and their methods (not an administrator: 403)."""
    call: Call = request.auth
    user = _member(request, username)
    services.delete_user(user, actor_label=call.client.label)
    call.subject = None  # gone: the event names them by user name
    return Status(204, None)

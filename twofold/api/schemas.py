"""How the API shows a user: kinds of methods and masked prompts, never a number or secret."""

from __future__ import annotations

from datetime import datetime

from ninja import Schema

from twofold.accounts.models import User
from twofold.methods import base, verification


class OptionOut(Schema):
    key: str
    label: str
    prompt: str


class UserOut(Schema):
    username: str
    display_name: str
    email: str
    mfa_state: str
    is_admin: bool
    is_blocked: bool
    locked_until: datetime | None
    must_reregister: bool
    created_at: datetime
    last_login: datetime | None
    methods: list[str]


class UserDetailOut(UserOut):
    preferred_option: str | None
    options: list[OptionOut]
    bypass_until: datetime | None


def user_out(user: User, kinds: list[str]) -> dict[str, object]:
    return {
        "username": user.username,
        "display_name": user.display_name,
        "email": user.email,
        "mfa_state": user.mfa_state,
        "is_admin": user.is_admin,
        "is_blocked": user.is_blocked,
        "locked_until": verification.locked_until(user),
        "must_reregister": user.must_reregister,
        "created_at": user.created_at,
        "last_login": user.last_login,
        "methods": kinds,
    }


def user_detail(user: User) -> dict[str, object]:
    options = base.options_for(user)
    preferred = base.preferred_option(user)
    return {
        **user_out(user, base.kinds_for([user.pk])[user.pk]),
        "preferred_option": preferred.key if preferred else None,
        "options": [
            {"key": option.key, "label": option.label, "prompt": option.prompt}
            for option in options
        ],
        "bypass_until": user.mfa_bypass_until,
    }

"""App passwords as a method: listed on the settings page, never a sign-in option."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.utils.translation import gettext as _

from twofold.methods.app_passwords import actions, services
from twofold.methods.base import AdminItem, Method, Option

if TYPE_CHECKING:
    from twofold.accounts.models import User


class AppPasswordMethod(Method):
    key = "app_passwords"
    settings_template = "app_passwords/panel.html"
    audit_actions = actions.AUDIT_ACTIONS
    # App passwords replace password + second factor in the REST API; the browser never takes them.
    second_factor = False

    def options(self, user: User) -> list[Option]:
        return []

    def settings_context(self, user: User) -> dict[str, object]:
        if not services.is_enabled(user):
            return {"enabled": False}
        return {
            "enabled": True,
            "app_passwords": services.app_passwords(user),
            "may_create": services.may_create(user),
            "max_app_passwords": services.MAX_APP_PASSWORDS,
        }

    def admin_summary(self, user: User) -> list[AdminItem]:
        # Deleted all at once (the portal's and the API's action), never one by one.
        return [
            AdminItem(label=item.name, group=_("App passwords"))
            for item in services.app_passwords(user)
        ]

"""The authenticator app as a method: codes from the app (or a hardware token) at sign-in,
and, once the twofold Authenticator is activated, notifications with number matching."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db.models import QuerySet
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from twofold.methods.authenticator import actions, activation, kinds, push, services
from twofold.methods.authenticator.models import AuthenticatorDevice
from twofold.methods.base import AdminItem, Enrolment, Interaction, Method, Option, OptionSpec

if TYPE_CHECKING:
    from twofold.accounts.models import User
    from twofold.methods.models import Challenge

APP_CODE = "app_code"
APP_NOTIFICATION = push.APP_NOTIFICATION
_LABEL_SHORT = gettext_lazy("Authenticator app")
_LABEL = gettext_lazy("Use a verification code from the app or a hardware token")
_NOTIFY_LABEL = gettext_lazy("Notify me through the app")
_APP_AFTER_PUSH = gettext_lazy(
    "Codes from any authenticator app on your phone, even without signal."
)
_APP_RECOMMENDED = gettext_lazy(
    "Recommended: codes from an app on your phone, even without signal."
)


class AuthenticatorMethod(Method):
    title = gettext_lazy("Authenticator app")
    key = "authenticator"
    settings_template = "authenticator/panel.html"
    policy_kinds = kinds.POLICY_KINDS
    audit_actions = actions.AUDIT_ACTIONS
    catalogue = (
        OptionSpec(
            APP_NOTIFICATION,
            kinds.APP_NOTIFICATION,
            _NOTIFY_LABEL,
            amr=("swk",),
            admin_label=gettext_lazy("Authenticator app notification"),
        ),
        OptionSpec(
            APP_CODE,
            kinds.APP_CODE,
            _LABEL,
            amr=("otp",),
            admin_label=gettext_lazy("Authenticator app code"),
        ),
    )
    wait_template = "authenticator/wait_push.html"
    admin_remove_title = gettext_lazy("Delete this authenticator app")

    def options(self, user: User) -> list[Option]:
        devices = list(user.authenticator_devices.values_list("public_key", flat=True))
        if not devices:
            return []
        found = []
        if any(devices):  # an activated twofold Authenticator can take notifications
            found.append(
                Option(
                    key=APP_NOTIFICATION,
                    method=self.key,
                    policy_kind=kinds.APP_NOTIFICATION,
                    interaction=Interaction.WAIT,
                    label=str(_NOTIFY_LABEL),
                    prompt=_("Approve a request on my twofold Authenticator app"),
                )
            )
        return [
            *found,
            Option(
                key=APP_CODE,
                method=self.key,
                policy_kind=kinds.APP_CODE,
                interaction=Interaction.CODE,
                label=str(_LABEL),
                prompt=_("Use a verification code"),
                silent=True,  # the code is already in the app: starting sends nothing
            ),
        ]

    def enrolments(self, user: User) -> list[Enrolment]:
        # Listed at registration only: on the settings page the method's own panel leads
        # to the same views (views.py), which serve both hosts.
        push = activation.may_activate(user)
        found = []
        if push:
            found.append(
                Enrolment(
                    "push",
                    gettext_lazy("twofold Authenticator"),
                    gettext_lazy(
                        "Recommended: approve sign-ins from your phone, and get codes even "
                        "without signal."
                    ),
                    "authenticator-activate",
                    hosts=("registration",),
                    primary=True,
                )
            )
        if services.allowed(user):
            found.append(
                Enrolment(
                    "app",
                    _LABEL_SHORT,
                    _APP_AFTER_PUSH if push else _APP_RECOMMENDED,
                    "authenticator-setup",
                    hosts=("registration",),
                    primary=not push,
                )
            )
        return found

    def refuse_start(self, user: User, option: Option) -> None:
        if option.key == APP_NOTIFICATION:
            push.refuse_start(user)

    def start(self, challenge: Challenge) -> None:
        if challenge.option == APP_NOTIFICATION:
            push.start(challenge)

    def wait_context(self, challenge: Challenge) -> dict[str, object]:
        return {"number": push.number_for(challenge)}

    def end_reason(self, challenge: Challenge) -> str:
        return push.end_reason(challenge)

    def check(self, challenge: Challenge, code: str) -> bool:
        # The person already holds the code: start() has nothing to send.
        return services.check_code(challenge.user, code)

    def registered_user_ids(self) -> QuerySet:
        return AuthenticatorDevice.objects.values("user_id")

    def kinds_for(self, user_ids: list[int]) -> dict[int, list[str]]:
        found = AuthenticatorDevice.objects.filter(user_id__in=user_ids).values_list("user_id")
        return {user_id: [str(_LABEL_SHORT)] for (user_id,) in found.distinct()}

    def forget(self, user_ids: QuerySet) -> int:
        deleted, _detail = AuthenticatorDevice.objects.filter(user_id__in=user_ids).delete()
        return deleted

    def admin_summary(self, user: User) -> list[AdminItem]:
        return [
            AdminItem(
                label=_admin_label(device),
                detail=_admin_detail(device),
                group=_("Authenticator apps"),
                removable_id=device.pk,
            )
            for device in services.devices(user)
        ]

    def admin_remove(self, user: User, item_id: int, *, actor: User) -> str:
        """Its codes, polling and approvals end at once."""
        services.delete_device(user, item_id, actor=actor)
        return _("The authenticator app is deleted.")

    def settings_context(self, user: User) -> dict[str, object]:
        return {
            "devices": services.devices(user),
            "allowed": services.allowed(user),
            "may_add": services.may_add_device(user),
            "max_devices": services.MAX_DEVICES,
            "may_activate": activation.may_activate(user),
        }


def _admin_label(device: AuthenticatorDevice) -> str:
    if not device.public_key:
        return device.shown_name
    about = [_("notifications"), *([device.platform] if device.platform else [])]
    return f"{device.shown_name} ({', '.join(about)})"


def _admin_detail(device: AuthenticatorDevice) -> str:
    added = date_format(timezone.localtime(device.created_at), "Y-m-d")
    detail = f"{_('added')} {added}"
    if device.last_used_at:
        used = date_format(timezone.localtime(device.last_used_at), "Y-m-d H:i T")
        detail += f", {_('last used')} {used}"
    return detail

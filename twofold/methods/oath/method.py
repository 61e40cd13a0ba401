"""Hardware tokens as a method: codes from an OATH TOTP token the organisation handed out."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db.models import QuerySet
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from twofold.methods.authenticator import kinds
from twofold.methods.base import Interaction, Method, Option, OptionSpec
from twofold.methods.oath import actions, services
from twofold.methods.oath.models import HardwareToken

if TYPE_CHECKING:
    from twofold.accounts.models import User
    from twofold.methods.models import Challenge

OPTION_KEY = "hardware_token"
_LABEL_SHORT = gettext_lazy("Hardware token")
_LABEL = gettext_lazy("Use a code from my hardware token")


class HardwareTokenMethod(Method):
    title = gettext_lazy("Hardware tokens")
    key = OPTION_KEY
    settings_template = "oath/panel.html"
    audit_actions = actions.AUDIT_ACTIONS
    catalogue = (
        OptionSpec(OPTION_KEY, kinds.APP_CODE, _LABEL, amr=("hwk",), admin_label=_LABEL_SHORT),
    )

    def options(self, user: User) -> list[Option]:
        # Only tokens the user proved count; an assigned token waits for its activation.
        token = services.active_tokens(user).order_by("serial").first()
        if token is None:
            return []
        return [
            Option(
                key=OPTION_KEY,
                method=self.key,
                policy_kind=kinds.APP_CODE,
                interaction=Interaction.CODE,
                label=str(_LABEL),
                prompt=_("Use a code from your hardware token (serial %(serial)s)")
                % {"serial": token.masked_serial},
                silent=True,  # the token shows the code: starting sends nothing
            )
        ]

    def check(self, challenge: Challenge, code: str) -> bool:
        return services.check_code(challenge.user, code)

    def registered_user_ids(self) -> QuerySet:
        return HardwareToken.objects.filter(user__isnull=False, activated_at__isnull=False).values(
            "user_id"
        )

    def kinds_for(self, user_ids: list[int]) -> dict[int, list[str]]:
        found = HardwareToken.objects.filter(
            user_id__in=user_ids, activated_at__isnull=False
        ).values_list("user_id")
        return {user_id: [str(_LABEL_SHORT)] for (user_id,) in found.distinct()}

    def forget(self, user_ids: QuerySet) -> int:
        # The tokens are the organisation's stock: they go back to it, not away.
        return services.unassign_all(user_ids)

    def settings_context(self, user: User) -> dict[str, object]:
        tokens = services.tokens_of(user)
        return {
            "pending": [token for token in tokens if token.activated_at is None],
            "active": [token for token in tokens if token.activated_at is not None],
            "allowed": services.allowed(user),
        }

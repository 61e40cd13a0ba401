"""Recovery codes as a method: a silent code option under "sign in another way" and in
the API's validate check, judged by the one verification path (methods/verification.py).

A set is not a registration of its own: it is offered after a first method and stands
beside the others, so it does not count as "has registered a method" for the admin's
users filter (``registered_user_ids`` stays None).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db.models import QuerySet
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from twofold.methods.base import Interaction, Method, Option, OptionSpec, PolicyKind
from twofold.methods.recovery import codes, services

if TYPE_CHECKING:
    from twofold.accounts.models import User
    from twofold.methods.models import Challenge

KEY = services.RECOVERY_METHOD
OPTION = services.OPTION
POLICY_KIND = services.POLICY_KIND
_KIND_LABEL = gettext_lazy("Recovery codes")
_LABEL = gettext_lazy("Use a recovery code")
#: RFC 8176 has no value for a saved recovery code: "otp" names RFC 4226/6238 codes from
#: a device, "kba" knowledge questions, "swk"/"hwk" a key proven by possession. An
#: unregistered value says what it is (docs/security.md 28).
AMR = ("recovery_code",)


class RecoveryCodeMethod(Method):
    key = KEY
    settings_template = "recovery/panel.html"
    #: The sign-in and step-up pages' sentence above the code box (not "6-digit code").
    prompt_template = "recovery/prompt.html"
    policy_kinds = (
        PolicyKind(POLICY_KIND, gettext_lazy("Recovery codes (printed or written down)")),
    )
    catalogue = (
        # Never the preferred option: a code on paper is for when the usual way is out of reach.
        OptionSpec(OPTION, POLICY_KIND, _LABEL, AMR, preferable=False),
    )
    audit_actions = (
        (services.MADE, gettext_lazy("Recovery codes made")),
        (services.USED, gettext_lazy("Recovery code used")),
    )

    def options(self, user: User) -> list[Option]:
        if not services.left(user):
            return []
        return [
            Option(
                key=OPTION,
                method=self.key,
                policy_kind=POLICY_KIND,
                interaction=Interaction.CODE,
                label=str(_LABEL),
                prompt=_("Use one of my recovery codes"),
                silent=True,  # the person holds the code on paper: starting sends nothing
                code_inputmode="text",
                code_max_length=codes.MAX_TYPED,
            )
        ]

    def parse(self, challenge: Challenge, response: str) -> str | None:
        return codes.normalise(response)

    def check(self, challenge: Challenge, parsed: str) -> bool:
        return services.spend(challenge.user, parsed)

    def forget(self, user_ids: QuerySet) -> int:
        return services.forget(user_ids)

    def kinds_for(self, user_ids: list[int]) -> dict[int, list[str]]:
        found = services.RecoveryCode.objects.filter(user_id__in=user_ids, used_at__isnull=True)
        return {
            user_id: [str(_KIND_LABEL)] for (user_id,) in found.values_list("user_id").distinct()
        }

    def settings_context(self, user: User) -> dict[str, object]:
        return {"standing": services.standing(user), "may_make": services.may_make(user)}

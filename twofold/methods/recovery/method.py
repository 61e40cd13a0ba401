"""Recovery codes as a method: a silent code option under "sign in another way" and in
the API's validate check, judged by the one verification path (methods/verification.py).

A set is not a registration of its own: it is offered after a first method and stands
beside the others, so it does not count as "has registered a method" for the admin's
users filter (``registered_user_ids`` stays None).
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from django.db.models import QuerySet
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from twofold.methods.base import (
    AdminItem,
    Enrolment,
    Interaction,
    Method,
    Option,
    OptionSpec,
    PolicyKind,
)
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


_ENROLMENT = Enrolment(
    key=KEY,
    label=gettext_lazy("Recovery codes, for when your phone is out of reach"),
    description=gettext_lazy(
        "Keep ten codes on paper, for when your phone is lost or out of reach."
    ),
    url_name="recovery-codes-make",
    hosts=("settings",),
)


class RecoveryCodeMethod(Method):
    title = gettext_lazy("Recovery codes")
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

    # No enrolments listed: on the settings page the method's own panel offers a set, and
    # in first-time registration there is no other way to verify yet (services.may_make);
    # the offer comes right after the first method.

    def after_first_method(self, user: User) -> Enrolment | None:
        if services.standing(user).has_set or not services.may_make(user):
            return None
        # Right after registering a first method, from either host (methods/enrolment.py).
        return replace(_ENROLMENT, hosts=("settings", "registration"))

    def admin_summary(self, user: User) -> list[AdminItem]:
        """Whether the person has a set and how many codes are left; never the codes."""
        standing = services.standing(user)
        if not standing.has_set:
            return []
        detail = _("Made %(made)s") % {"made": date_format(standing.made_at, "Y-m-d")}
        if standing.last_used_at:
            used = date_format(timezone.localtime(standing.last_used_at), "Y-m-d H:i T")
            detail = f"{detail} · " + _("Last used %(used)s") % {"used": used}
        label = _("Recovery codes: %(left)s of %(total)s left") % {
            "left": standing.left,
            "total": standing.total,
        }
        return [AdminItem(label=label, detail=detail)]

    def settings_context(self, user: User) -> dict[str, object]:
        return {
            "allowed": user.organisation.allows(POLICY_KIND),
            "standing": services.standing(user),
            "may_make": services.may_make(user),
        }

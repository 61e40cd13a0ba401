"""Passkeys as a method: a phishing-resistant second factor after the password, and, when
discoverable and user-verifying, a passwordless sign-in that counts as both factors."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db.models import QuerySet
from django.template.loader import render_to_string
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from twofold.methods.base import Method, OptionSpec, PolicyKind
from twofold.methods.passkeys import services
from twofold.methods.passkeys.aaguids import model_name
from twofold.methods.passkeys.models import Passkey

if TYPE_CHECKING:
    from twofold.accounts.models import User

_LABEL_SHORT = gettext_lazy("Passkey")
_LABEL = gettext_lazy("Use a passkey (fingerprint, face, screen lock or security key)")


class PasskeyMethod(Method):
    key = "passkey"
    policy_kinds = (PolicyKind(services.POLICY_KIND, gettext_lazy("Passkeys")),)
    catalogue = (
        OptionSpec(
            key=services.OPTION,
            policy_kind=services.POLICY_KIND,
            label=_LABEL,
            # What most passkeys prove; the sign-in records what the one used proved.
            amr=("hwk", "user"),
            phishing_resistant=True,
            admin_label=_LABEL_SHORT,
        ),
    )
    audit_actions = (
        (services.ADDED, gettext_lazy("Passkey added")),
        (services.RENAMED, gettext_lazy("Passkey renamed")),
        (services.DELETED, gettext_lazy("Passkey deleted")),
        (services.REFUSED, gettext_lazy("Passkey refused")),
        (services.POLICY_CHANGED, gettext_lazy("Passkey policy changed")),
        (services.CLONED, gettext_lazy("Passkey refused: its counter went backwards (a copy)")),
    )
    settings_template = "passkeys/panel.html"
    signin_template = "passkeys/signin.html"

    def options(self, user: User) -> list:
        return []  # a second factor once the verification path takes browser answers

    def registered_user_ids(self) -> QuerySet:
        return Passkey.objects.values("user_id")

    def kinds_for(self, user_ids: list[int]) -> dict[int, list[str]]:
        found = Passkey.objects.filter(user_id__in=user_ids).values_list("user_id")
        return {user_id: [str(_LABEL_SHORT)] for (user_id,) in found.distinct()}

    def forget(self, user_ids: QuerySet) -> int:
        deleted = (
            Passkey.objects.filter(user_id__in=user_ids).delete()[1].get(Passkey._meta.label, 0)
        )
        return deleted

    def policy_panel(self, request, organisation) -> str | None:
        from twofold.methods.passkeys.forms import PolicyForm

        policy = services.policy_for(organisation)
        form = PolicyForm(
            initial={
                "user_verification": policy.user_verification,
                "attestation": policy.attestation,
                "allowed_aaguids": "\n".join(policy.allowed_aaguids),
            }
        )
        context = {"form": form, "allowed": organisation.allows(services.POLICY_KIND)}
        return render_to_string("passkeys/policy.html", context, request=request)

    def settings_context(self, user: User) -> dict[str, object]:
        allowed = services.allowed(user)
        found = services.passkeys(user)
        for passkey in found:
            passkey.model = model_name(passkey.aaguid)
        return {
            "passkeys": found,
            "allowed": allowed,
            "may_add": allowed and len(found) < services.MAX_PASSKEYS,
            "label": _("Passkeys"),
        }

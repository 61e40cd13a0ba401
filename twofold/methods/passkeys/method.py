"""Passkeys as a method: a phishing-resistant second factor after the password, and, when
discoverable and user-verifying, a passwordless sign-in that counts as both factors."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from django.db.models import QuerySet
from django.template.loader import render_to_string
from django.urls import reverse
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
from twofold.methods.passkeys import ceremony, services
from twofold.methods.passkeys.aaguids import model_name
from twofold.methods.passkeys.forms import RESPONSE_LENGTH
from twofold.methods.passkeys.models import Passkey

if TYPE_CHECKING:
    from django.http import HttpRequest

    from twofold.accounts.models import User
    from twofold.methods.models import Challenge

_LABEL_SHORT = gettext_lazy("Passkey")
_LABEL = gettext_lazy("Use a passkey (fingerprint, face, screen lock or security key)")


class PasskeyMethod(Method):
    title = gettext_lazy("Passkeys")
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

    prompt_template = "passkeys/prompt.html"

    def options(self, user: User) -> list[Option]:
        if not user.passkeys.exists():
            return []
        return [
            Option(
                key=services.OPTION,
                method=self.key,
                policy_kind=services.POLICY_KIND,
                interaction=Interaction.BROWSER,
                label=str(_LABEL),
                prompt=_("Use a passkey"),
                silent=True,  # nothing is sent: the browser asks the authenticator
                code_max_length=RESPONSE_LENGTH,
            )
        ]

    def start(self, challenge: Challenge) -> None:
        """Make the WebAuthn request for the user's passkeys; its challenge waits in the
        challenge's payload (not a secret: it only binds the answer to this challenge)."""
        options, webauthn_challenge = services.assertion_options(challenge.user)
        challenge.payload = {"challenge": webauthn_challenge, "options": json.loads(options)}
        challenge.save(update_fields=["payload"])

    def prompt_context(self, challenge: Challenge) -> dict[str, object]:
        return {"options": (challenge.payload or {}).get("options")}

    def parse(self, challenge: Challenge, response: str) -> object | None:
        response = (response or "").strip()
        if len(response) > RESPONSE_LENGTH or not ceremony.credential_id_of(response):
            return None
        return response

    def check(self, challenge: Challenge, parsed: object) -> bool:
        held = (challenge.payload or {}).get("challenge")
        if not held:
            return False
        try:
            services.use(str(parsed), challenge=held, user=challenge.user)
        except services.PasskeyRefused:
            return False  # audited by use(); a copied passkey also alerted
        return True

    def enrolments(self, user: User) -> list[Enrolment]:
        if not services.allowed(user) or user.passkeys.count() >= services.MAX_PASSKEYS:
            return []
        return [
            Enrolment(
                key="passkey",
                label=str(_("Passkey")),
                description=str(
                    _("Your fingerprint, face, screen lock or a security key. Cannot be phished.")
                ),
                url_name="passkeys-add",
                # Listed at registration only: on the settings page the passkeys' own
                # panel offers the same view (an offer in both places was one too many).
                hosts=("registration",),
            )
        ]

    def admin_summary(self, user: User) -> list[AdminItem]:
        return [
            AdminItem(
                label=_("Passkey: %(name)s") % {"name": passkey.name},
                detail=_admin_detail(passkey),
                remove_url=reverse("passkeys-admin-remove", args=[user.pk, passkey.pk]),
            )
            for passkey in services.passkeys(user)
        ]

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

    def signin_panel(self, request: HttpRequest) -> str | None:
        from twofold.methods.passkeys import passwordless

        # The autofill's options come with the page (Method.signin_panel says why); the
        # button, when pressed, asks for fresh ones.
        options = json.loads(passwordless.begin(request.session))
        return render_to_string("passkeys/signin.html", {"options": options}, request=request)

    def policy_panel(self, request, organisation) -> str | None:
        from twofold.methods.passkeys.forms import PolicyForm

        policy = services.policy_for(organisation)
        form = PolicyForm(
            initial={
                "user_verification": policy.user_verification,
                "attestation": policy.attestation,
                "allowed_aaguids": "\n".join(policy.allowed_aaguids),
                "attestation_roots": policy.attestation_roots,
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


def _admin_detail(passkey: Passkey) -> str:
    model = model_name(passkey.aaguid)
    added = _("added %(date)s") % {"date": date_format(passkey.created_at, "Y-m-d")}
    used = (
        _("last used %(date)s") % {"date": date_format(passkey.last_used_at, "Y-m-d")}
        if passkey.last_used_at
        else _("not used yet")
    )
    return ", ".join(part for part in (model, added, used) if part)

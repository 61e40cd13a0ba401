"""Phones as a verification method: text a code, or call and wait for #."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db.models import QuerySet
from django.http import HttpRequest
from django.template.loader import render_to_string
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from twofold.core import languages
from twofold.delivery import services as delivery
from twofold.methods import verification
from twofold.methods.base import Enrolment, Method, Option
from twofold.methods.models import Challenge, ChallengePurpose
from twofold.methods.phone import actions, kinds, services
from twofold.methods.phone.models import ContactMode, Phone, PhoneRole
from twofold.methods.phone.options import CATALOGUE, KEY, option_for
from twofold.methods.phone.settings import PhoneSettingsFields

if TYPE_CHECKING:
    from twofold.accounts.models import User


class PhoneMethod(Method):
    title = gettext_lazy("Phones")
    key = KEY
    policy_kinds = kinds.POLICY_KINDS
    catalogue = CATALOGUE
    audit_actions = actions.AUDIT_ACTIONS

    def options(self, user: User) -> list[Option]:
        found: list[Option] = []
        for phone in sorted(_in_force(user), key=lambda p: list(PhoneRole.values).index(p.role)):
            if phone.role == PhoneRole.AUTHENTICATION:
                modes = [ContactMode.TEXT, ContactMode.CALL]
                modes.sort(key=lambda mode: mode != phone.mode)  # the chosen mode first
                found.extend(option_for(phone, mode) for mode in modes)
            else:
                found.append(option_for(phone, ContactMode.CALL))
        return found

    def enrolments(self, user: User) -> list[Enrolment]:
        # Listed at registration only: the settings page has the phones' own fields. The
        # view serves both hosts (a person with no phone may add one from the settings).
        organisation = user.organisation
        if not (organisation.allows(kinds.TEXT) or organisation.allows(kinds.CALL)):
            return []
        return [
            Enrolment(
                "phone",
                gettext_lazy("Authentication phone"),
                gettext_lazy("A code by text message, or a call."),
                "phone-enrol",
                hosts=("registration",),
            )
        ]

    def settings_fields(self, user: User, data: object = None) -> PhoneSettingsFields:
        return PhoneSettingsFields(user, data)

    def settings_notices(self, request: HttpRequest, user: User) -> str | None:
        waiting = [phone for phone in Phone.objects.filter(user=user) if phone.pending_number]
        notices = (
            render_to_string("phone/pending.html", {"phone": phone}, request=request)
            for phone in waiting
        )
        # Each notice is a rendered, escaped template: joined, they stay safe HTML.
        return mark_safe("".join(notices)) or None  # noqa: S308

    def start(self, challenge: Challenge) -> None:
        mode, _sep, role = challenge.option.partition(":")
        phone = Phone.objects.get(user_id=challenge.user_id, role=role)
        proving = challenge.purpose == ChallengePurpose.VERIFY_NUMBER
        number = phone.pending_number if proving else phone.number
        extension = phone.pending_extension if proving else phone.extension
        reference, user_key = str(challenge.pk), delivery.allowance_key(challenge.user)
        with languages.speaking_to(challenge.user) as language:  # the recipient's language
            if mode == ContactMode.TEXT:
                code = verification.issue_code(challenge)
                body = _("%(code)s is your verification code. It expires in 5 minutes.") % {
                    "code": code
                }
                delivery.send_text(
                    number, body, reference=reference, user_key=user_key, subject=challenge.user
                )
            else:
                delivery.place_call(
                    number,
                    extension=extension,
                    script=_call_script(proving),
                    reference=reference,
                    user_key=user_key,
                    language=language,
                    subject=challenge.user,
                )

    def check(self, challenge: Challenge, code: str) -> bool:
        return verification.sent_code_matches(challenge, code)

    def disown(self, challenge: Challenge) -> None:
        services.disown_pending(challenge)

    def registered_user_ids(self) -> QuerySet:
        return Phone.objects.exclude(number="").values("user_id")

    def kinds_for(self, user_ids: list[int]) -> dict[int, list[str]]:
        kinds: dict[int, list[str]] = {}
        rows = Phone.objects.filter(user_id__in=user_ids).exclude(number="").order_by("role")
        for user_id, role in rows.values_list("user_id", "role"):
            kinds.setdefault(user_id, []).append(str(PhoneRole(role).label))
        return kinds

    def notice_numbers(self, user_ids: QuerySet) -> QuerySet:
        """The proven authentication phone: the number the user relied on to sign in."""
        return (
            Phone.objects.filter(user_id__in=user_ids, role=PhoneRole.AUTHENTICATION)
            .exclude(number="")
            .values_list("user_id", "number")
        )

    def forget(self, user_ids: QuerySet) -> int:
        deleted, _detail = Phone.objects.filter(user_id__in=user_ids).delete()
        return deleted


def _call_script(proving: bool) -> str:
    if proving:
        return _(
            "This call checks your new phone number. Press the pound key to confirm it. "
            "If you did not ask for this, press zero and then pound to report fraud."
        )
    return _(
        "This is your sign-in verification call. Press the pound key to finish verifying. "
        "If you did not try to sign in, press zero and then pound to report fraud."
    )


def _in_force(user: User) -> list[Phone]:
    return [phone for phone in Phone.objects.filter(user=user) if phone.in_force]

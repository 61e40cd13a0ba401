"""The phones' part of the settings page's one form: the three numbers, how to contact the
authentication phone, and saving them with the rest of the page (methods/base.py,
``SettingsFields`` and ``SettingsChanges``).

Every field is checked before anything is written. Changes that need no proof are then
saved together; a new number that the preferred option relies on (or that would be the
user's only phone) is held as pending and proven by a text or a call first, while the
old number stays in force.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from django import forms
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from twofold.accounts.models import User
from twofold.audit.models import AuditResult
from twofold.audit.services import record
from twofold.core import languages, phones
from twofold.core.errors import InvalidInput, TwofoldError
from twofold.methods.base import SettingsChanges, SettingsFields, SettingsSaved
from twofold.methods.phone import actions as phone_actions
from twofold.methods.phone import kinds, services
from twofold.methods.phone.models import ContactMode, Phone, PhoneRole

_EXTENSION = re.compile(r"^\d{1,10}$")
_SUGGESTED = "text:authentication"  # for someone about to enter their first number


@dataclass(frozen=True)
class PhoneEntry:
    number: str = ""  # E.164, or "" for no phone in this role
    extension: str = ""


_ROLE_OF_OPTION = {
    "text:authentication": PhoneRole.AUTHENTICATION,
    "call:authentication": PhoneRole.AUTHENTICATION,
    "call:office": PhoneRole.OFFICE,
}
_FIELD = {
    PhoneRole.AUTHENTICATION: "authentication_number",
    PhoneRole.OFFICE: "office_number",
    PhoneRole.ALTERNATE: "alternate_number",
}


@dataclass(frozen=True)
class _Plan:
    direct: dict[str, PhoneEntry]  # roles to set now ("" number = remove)
    proven: tuple[str, PhoneEntry] | None  # the one role whose new number needs proof


def _differs(phone: Phone | None, entry: PhoneEntry) -> bool:
    if phone is None:
        return bool(entry.number)
    return (phone.number, phone.extension) != (entry.number, entry.extension)


@dataclass(frozen=True)
class PhoneChanges(SettingsChanges):
    """The three phones as the page has them now, and how to contact the first."""

    authentication: PhoneEntry = field(default_factory=PhoneEntry)
    authentication_mode: str = ContactMode.TEXT
    office: PhoneEntry = field(default_factory=PhoneEntry)
    alternate: PhoneEntry = field(default_factory=PhoneEntry)

    def entries(self) -> dict[str, PhoneEntry]:
        return {
            PhoneRole.AUTHENTICATION: self.authentication,
            PhoneRole.OFFICE: self.office,
            PhoneRole.ALTERNATE: self.alternate,
        }

    def offers(self, option_key: str) -> bool:
        return option_key in _ROLE_OF_OPTION

    def save(self, user: User, preferred_option: str) -> SettingsSaved:
        current = {
            phone.role: phone
            for phone in Phone.objects.select_for_update().filter(user=user)
            if phone.in_force
        }
        plan = self._plan(user, preferred_option, current)
        self._check(preferred_option)
        waiting = self._preferred_waiting(user, preferred_option, plan)
        changed = self._apply(user, plan, keep_waiting=bool(waiting))
        if plan.proven is None:
            return SettingsSaved(changed=changed)
        role, entry = plan.proven
        mode = self.authentication_mode if role == PhoneRole.AUTHENTICATION else ""
        challenge = services.request_change(
            user, role, entry.number, entry.extension, mode, waiting
        )
        return SettingsSaved(
            changed=True,
            proof=challenge,
            proof_url=reverse("verify-phone"),
            preferred_waits=bool(waiting),
        )

    def refused(self, user: User, error: Exception) -> None:
        reason = error.code if isinstance(error, TwofoldError) else "refused"
        record(
            phone_actions.CHANGE_PENDING,
            AuditResult.DENIED,
            actor=user,
            subject=user,
            reason=reason,
        )

    def _plan(self, user: User, preferred_option: str, current: dict[str, Phone]) -> _Plan:
        entries = self.entries()
        changed = {
            role: entry for role, entry in entries.items() if _differs(current.get(role), entry)
        }
        # Proof is needed for a number the preferred option relies on, before or after this
        # save (switching both at once must not skip it), for any new authentication number,
        # and for a number that would be the user's only phone.
        relied_on = {
            _ROLE_OF_OPTION.get(preferred_option),
            _ROLE_OF_OPTION.get(user.preferred_option),
            PhoneRole.AUTHENTICATION,
        }
        others_in_force = {
            role for role, entry in entries.items() if entry.number and role not in changed
        }
        needs_proof = [
            role
            for role, entry in changed.items()
            if entry.number and (role in relied_on or not others_in_force - {role})
        ]
        if len(needs_proof) > 1:
            raise InvalidInput(
                _("Change one phone number at a time, so that each new number can be verified."),
                field=_FIELD[needs_proof[1]],
            )
        proven = (needs_proof[0], changed.pop(needs_proof[0])) if needs_proof else None
        return _Plan(direct=changed, proven=proven)

    def _check(self, preferred_option: str) -> None:
        """Refuse what cannot be saved. A preferred option must stay usable, so the phone it
        relies on can't be removed, and the user always keeps at least that way to verify."""
        entries = self.entries()
        if entries[PhoneRole.ALTERNATE].number and not entries[PhoneRole.AUTHENTICATION].number:
            raise InvalidInput(
                _("Add an authentication phone before an alternate one."),
                field="alternate_number",
            )
        preferred_role = _ROLE_OF_OPTION.get(preferred_option)
        if preferred_role is not None and not entries[preferred_role].number:
            raise InvalidInput(
                _("Enter the phone number this option uses, or choose another option."),
                field="preferred_option",
            )

    @staticmethod
    def _preferred_waiting(user: User, preferred_option: str, plan: _Plan) -> str:
        """The new preferred option, if it relies on the number still to be proven: it waits
        for the proof (and is dropped with the number if the change is discarded)."""
        if plan.proven is None or preferred_option == user.preferred_option:
            return ""
        relies_on_proof = _ROLE_OF_OPTION.get(preferred_option) == plan.proven[0]
        return preferred_option if relies_on_proof else ""

    def _apply(self, user: User, plan: _Plan, *, keep_waiting: bool) -> bool:
        for role, entry in plan.direct.items():
            if entry.number:
                mode = self.authentication_mode if role == PhoneRole.AUTHENTICATION else ""
                services.set_number(user, role, entry.number, entry.extension, mode)
            else:
                services.remove(user, role)
        if PhoneRole.AUTHENTICATION not in plan.direct and self.authentication.number:
            services.set_mode(user, self.authentication_mode)
        if not keep_waiting:  # the page's newer choice wins over one waiting for a proof
            services.drop_waiting_preference(user)
        return bool(plan.direct)


def _country_choices() -> list[tuple[str, str]]:
    return [
        (country.code, country.label) for country in phones.countries(languages.geocoder_language())
    ]


def _phone_fields(prefix: str, label: str) -> dict[str, forms.Field]:
    return {
        f"{prefix}_country": forms.ChoiceField(label=gettext_lazy("Country or region"), choices=()),
        f"{prefix}_number": forms.CharField(
            label=label,
            required=False,
            max_length=30,
            widget=forms.TextInput(attrs={"type": "tel", "autocomplete": "tel-national"}),
        ),
    }


class PhoneSettingsFields(SettingsFields):
    """The phones' fields on the settings page, drawn by ``template_name``."""

    template_name = "phone/settings_fields.html"

    authentication_mode = forms.ChoiceField(
        label=gettext_lazy("How should we contact this phone?"),
        choices=ContactMode.choices,
        widget=forms.RadioSelect,
        initial=ContactMode.TEXT,
    )
    office_extension = forms.CharField(
        label=gettext_lazy("Extension"), required=False, max_length=10
    )
    alternate_enabled = forms.BooleanField(
        label=gettext_lazy("Alternate authentication phone"), required=False
    )

    def __init__(self, user: User, *args: object, **kwargs: object) -> None:
        kwargs.setdefault("initial", self.initial_for(user))
        super().__init__(*args, **kwargs)
        self.user = user
        for prefix, label in (
            ("authentication", gettext_lazy("Authentication phone")),
            ("office", gettext_lazy("Office phone")),
            ("alternate", gettext_lazy("Alternate authentication phone number")),
        ):
            self.fields.update(_phone_fields(prefix, label))
        countries = _country_choices()
        for prefix in ("authentication", "office", "alternate"):
            self.fields[f"{prefix}_country"].choices = countries
        # The alternate phone's advice shows until one is saved.
        self.has_alternate = bool(self.initial.get("alternate_enabled"))

    @staticmethod
    def initial_for(user: User) -> dict[str, object]:
        phones_by_role = {phone.role: phone for phone in Phone.objects.filter(user=user)}
        default_country = user.organisation.default_country
        initial: dict[str, object] = {}
        for role in PhoneRole.values:
            phone = phones_by_role.get(role)
            number = phone.number if phone else ""
            initial[f"{role}_country"] = phones.region_of(number) if number else default_country
            initial[f"{role}_number"] = phones.national(number) if number else ""
        office = phones_by_role.get(PhoneRole.OFFICE)
        initial["office_extension"] = office.extension if office else ""
        auth = phones_by_role.get(PhoneRole.AUTHENTICATION)
        initial["authentication_mode"] = auth.mode if auth else ContactMode.TEXT
        initial["alternate_enabled"] = bool(phones_by_role.get(PhoneRole.ALTERNATE))
        return initial

    def suggested_option(self) -> str:
        return _SUGGESTED if self.user.organisation.allows(kinds.TEXT) else ""

    def _number(self, prefix: str) -> str:
        raw = self.cleaned_data.get(f"{prefix}_number", "").strip()
        if not raw:
            return ""
        try:
            return phones.parse(raw, self.cleaned_data.get(f"{prefix}_country", ""))
        except InvalidInput as invalid:
            self.add_error(f"{prefix}_number", invalid.message)
            return ""

    def clean(self) -> dict[str, object]:
        cleaned = super().clean()
        extension = cleaned.get("office_extension", "").strip()
        if extension and not _EXTENSION.match(extension):
            self.add_error("office_extension", _("An extension is up to 10 digits."))
        cleaned["authentication"] = self._number("authentication")
        cleaned["office"] = self._number("office")
        alternate_on = cleaned.get("alternate_enabled")
        cleaned["alternate"] = self._number("alternate") if alternate_on else ""
        if alternate_on and not cleaned["alternate"] and "alternate_number" not in self.errors:
            self.add_error("alternate_number", _("Enter the alternate phone number."))
        if cleaned["office"] == "" and extension:
            self.add_error("office_extension", _("Enter the office phone number first."))
        return cleaned

    def changes(self) -> PhoneChanges:
        data = self.cleaned_data
        return PhoneChanges(
            authentication=PhoneEntry(data["authentication"]),
            authentication_mode=data["authentication_mode"],
            office=PhoneEntry(data["office"], data.get("office_extension", "").strip()),
            alternate=PhoneEntry(data["alternate"]),
        )

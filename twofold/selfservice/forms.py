"""The security verification page as one form: every field checked before anything is saved."""

from __future__ import annotations

import re

from django import forms
from django.utils.translation import gettext_lazy as _

from twofold.accounts.models import User
from twofold.core import languages, phones
from twofold.core.errors import InvalidInput
from twofold.methods import base
from twofold.methods.phone.models import ContactMode, Phone, PhoneRole
from twofold.selfservice.services import PhoneEntry, Settings

_EXTENSION = re.compile(r"^\d{1,10}$")


def _country_choices() -> list[tuple[str, str]]:
    return [
        (country.code, country.label) for country in phones.countries(languages.geocoder_language())
    ]


def _phone_fields(prefix: str, label: str) -> dict[str, forms.Field]:
    return {
        f"{prefix}_country": forms.ChoiceField(label=_("Country or region"), choices=()),
        f"{prefix}_number": forms.CharField(
            label=label,
            required=False,
            max_length=30,
            widget=forms.TextInput(attrs={"type": "tel", "autocomplete": "tel-national"}),
        ),
    }


class SecurityVerificationForm(forms.Form):
    preferred_option = forms.ChoiceField(label=_("What's your preferred option?"), choices=())
    authentication_mode = forms.ChoiceField(
        label=_("How should we contact this phone?"),
        choices=ContactMode.choices,
        widget=forms.RadioSelect,
        initial=ContactMode.TEXT,
    )
    office_extension = forms.CharField(label=_("Extension"), required=False, max_length=10)
    alternate_enabled = forms.BooleanField(
        label=_("Alternate authentication phone"), required=False
    )

    def __init__(self, user: User, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.user = user
        for prefix, label in (
            ("authentication", _("Authentication phone")),
            ("office", _("Office phone")),
            ("alternate", _("Alternate authentication phone number")),
        ):
            self.fields.update(_phone_fields(prefix, label))
        countries = _country_choices()
        for prefix in ("authentication", "office", "alternate"):
            self.fields[f"{prefix}_country"].choices = countries
        self.fields["preferred_option"].choices = base.catalogue_for(user)

    @classmethod
    def initial_for(cls, user: User) -> dict[str, object]:
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
        initial["preferred_option"] = cls._initial_preferred(user)
        return initial

    @staticmethod
    def _initial_preferred(user: User) -> str:
        """The stored choice while it can be used; else what sign-in would use; else, for
        someone registering their first method, a text to the phone they are about to enter."""
        usable = {option.key for option in base.options_for(user)}
        if user.preferred_option in usable:
            return user.preferred_option
        preferred = base.preferred_option(user)
        if preferred is not None:
            return preferred.key
        keys = [key for key, _label in base.catalogue_for(user)]
        return "text:authentication" if "text:authentication" in keys else (keys or [""])[0]

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

    def to_settings(self) -> Settings:
        data = self.cleaned_data
        return Settings(
            preferred_option=data["preferred_option"],
            authentication=PhoneEntry(data["authentication"]),
            authentication_mode=data["authentication_mode"],
            office=PhoneEntry(data["office"], data.get("office_extension", "").strip()),
            alternate=PhoneEntry(data["alternate"]),
        )

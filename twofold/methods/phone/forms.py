"""The phone's own form: a number to add, proven before it counts."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy

from twofold.accounts.models import User
from twofold.core import languages, phones
from twofold.core.errors import InvalidInput
from twofold.methods.phone import kinds
from twofold.methods.phone.models import ContactMode


class PhoneForm(forms.Form):
    country = forms.ChoiceField(label=gettext_lazy("Country or region"), choices=())
    number = forms.CharField(
        label=gettext_lazy("Phone number"),
        max_length=30,
        widget=forms.TextInput(attrs={"type": "tel", "autocomplete": "tel-national"}),
    )
    mode = forms.ChoiceField(
        label=gettext_lazy("How should we contact you?"),
        choices=(),
        widget=forms.RadioSelect,
    )

    def __init__(self, user: User, *args: object, **kwargs: object) -> None:
        kwargs.setdefault("initial", {"country": user.organisation.default_country})
        super().__init__(*args, **kwargs)
        self.fields["country"].choices = [
            (c.code, c.label) for c in phones.countries(languages.geocoder_language())
        ]
        organisation = user.organisation
        self.fields["mode"].choices = [
            (mode, label)
            for mode, label in ContactMode.choices
            if organisation.allows(kinds.TEXT if mode == ContactMode.TEXT else kinds.CALL)
        ]
        self.fields["mode"].initial = (
            self.fields["mode"].choices[0][0] if self.fields["mode"].choices else ""
        )

    def clean(self) -> dict[str, object]:
        cleaned = super().clean()
        if "number" in cleaned and "country" in cleaned:
            try:
                cleaned["e164"] = phones.parse(cleaned["number"], cleaned["country"])
            except InvalidInput as invalid:
                self.add_error("number", invalid.message)
        return cleaned

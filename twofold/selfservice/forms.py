"""The security verification page as one form: the page's own field (the preferred option)
and each method's fields (methods/base.py ``SettingsFields``), every one checked before
anything is saved."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from twofold.accounts.models import User
from twofold.methods import base


class SecurityVerificationForm(forms.Form):
    preferred_option = forms.ChoiceField(label=_("What's your preferred option?"), choices=())

    def __init__(
        self, user: User, parts: list[base.SettingsFields], *args: object, **kwargs: object
    ) -> None:
        kwargs.setdefault("initial", {"preferred_option": _initial_preferred(user, parts)})
        super().__init__(*args, **kwargs)
        self.user = user
        self.parts = parts
        self.fields["preferred_option"].choices = base.catalogue_for(user)

    def all_valid(self) -> bool:
        """This form and every method's part alike (each shows its own errors)."""
        return all([self.is_valid(), *(part.is_valid() for part in self.parts)])

    def add_refusal(self, field: str | None, message: str) -> None:
        """A service's refusal, beside the field it names, wherever that field is."""
        owner = next((form for form in (self, *self.parts) if field in form.fields), self)
        owner.add_error(field if field in owner.fields else None, message)


def _initial_preferred(user: User, parts: list[base.SettingsFields]) -> str:
    """The stored choice while it can be used; else what sign-in would use; else, for
    someone registering their first method, what a method suggests (a text to the phone
    they are about to enter)."""
    usable = {option.key for option in base.options_for(user)}
    if user.preferred_option in usable:
        return user.preferred_option
    preferred = base.preferred_option(user)
    if preferred is not None:
        return preferred.key
    keys = [key for key, _label in base.catalogue_for(user)]
    suggested = next((key for part in parts if (key := part.suggested_option()) in keys), "")
    return suggested or (keys or [""])[0]

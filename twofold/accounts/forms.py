from django import forms
from django.utils.translation import gettext_lazy as _

from twofold.core import languages


class UsernameForm(forms.Form):
    username = forms.CharField(
        label=_("User name"),
        max_length=254,
        widget=forms.TextInput(
            attrs={
                "autocomplete": "username",
                "autofocus": True,
                "placeholder": _("someone@example.com"),
                "inputmode": "email",
                "autocapitalize": "none",
                "spellcheck": "false",
            }
        ),
    )


class PasswordForm(forms.Form):
    password = forms.CharField(
        label=_("Password"),
        max_length=1024,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password", "autofocus": True}),
    )


class PreferencesForm(forms.Form):
    """My account's language and time zone; the service checks both again before saving."""

    language = forms.ChoiceField(label=_("Language"), required=False, choices=())
    time_zone = forms.ChoiceField(label=_("Time zone"), required=False, choices=())

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.fields["language"].choices = languages.user_choices()
        self.fields["time_zone"].choices = languages.time_zone_choices()

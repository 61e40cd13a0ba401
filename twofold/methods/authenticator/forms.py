from django import forms
from django.utils.translation import gettext_lazy as _

from twofold.methods.authenticator.models import DEFAULT_NAME


class DeviceForm(forms.Form):
    """Naming the new app and proving it with the code it shows."""

    name = forms.CharField(
        label=_("Name"),
        max_length=60,
        initial=DEFAULT_NAME,
        help_text=_("So you can tell your apps apart, for example “Work phone”."),
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    code = forms.CharField(
        label=_("Code from the app"),
        max_length=12,
        help_text=_("The 6-digit code the app shows for this account."),
        widget=forms.TextInput(
            attrs={
                "autocomplete": "one-time-code",
                "inputmode": "numeric",
                "spellcheck": "false",
            }
        ),
    )

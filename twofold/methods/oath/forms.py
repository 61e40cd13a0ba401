from django import forms
from django.utils.translation import gettext_lazy as _


class ActivationForm(forms.Form):
    """Proving a hardware token with the code it shows now."""

    code = forms.CharField(
        label=_("Code from the token"),
        max_length=12,
        help_text=_("Press the token's button and type the 6-digit code it shows."),
        widget=forms.TextInput(
            attrs={
                "autocomplete": "one-time-code",
                "inputmode": "numeric",
                "spellcheck": "false",
                "class": "code-input",
            }
        ),
    )

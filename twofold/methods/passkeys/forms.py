from django import forms
from django.utils.translation import gettext_lazy as _

from twofold.methods.passkeys.services import NAME_LENGTH

# What a browser's answer to a WebAuthn ceremony may weigh, at most (a large attestation
# with a certificate chain stays well below it).
RESPONSE_LENGTH = 64 * 1024


class NameForm(forms.Form):
    name = forms.CharField(
        label=_("Name"),
        max_length=NAME_LENGTH,
        help_text=_("So you can tell your passkeys apart, for example “Work laptop”."),
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )


class AddForm(NameForm):
    """Naming the new passkey; the page's script fills in the authenticator's answer."""

    response = forms.CharField(max_length=RESPONSE_LENGTH, widget=forms.HiddenInput)


class AssertionForm(forms.Form):
    response = forms.CharField(max_length=RESPONSE_LENGTH, widget=forms.HiddenInput)

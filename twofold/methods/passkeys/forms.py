import re

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from django import forms
from django.utils.translation import gettext_lazy as _

from twofold.methods.passkeys.models import Attestation, UserVerification
from twofold.methods.passkeys.services import NAME_LENGTH

_AAGUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")

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


class PolicyForm(forms.Form):
    """An organisation's passkey rules, on the admin portal's policy page."""

    user_verification = forms.ChoiceField(
        label=_("User verification"), choices=UserVerification.choices
    )
    attestation = forms.ChoiceField(label=_("Authenticator models"), choices=Attestation.choices)
    allowed_aaguids = forms.CharField(
        label=_("Allowed models (AAGUIDs, one per line)"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 4, "spellcheck": "false"}),
        help_text=_(
            "Used with direct attestation only, for example cb69481e-8ff7-4039-93ec-0a2729a154a8."
        ),
    )

    attestation_roots = forms.CharField(
        label=_("Attestation root certificates (PEM)"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 4, "spellcheck": "false"}),
        help_text=_(
            "Used with direct attestation only: the root certificates of the listed models' "
            "makers (from the FIDO Metadata Service or the maker). A passkey is accepted only "
            "when its attestation certificate leads to one of them."
        ),
    )

    def clean_attestation_roots(self) -> str:
        text = self.cleaned_data["attestation_roots"].strip()
        if not text:
            return ""
        try:
            roots = x509.load_pem_x509_certificates(text.encode())
        except ValueError:
            raise forms.ValidationError(
                _("The attestation roots are not PEM certificates.")
            ) from None
        return "".join(root.public_bytes(serialization.Encoding.PEM).decode() for root in roots)

    def clean_allowed_aaguids(self) -> list[str]:
        found = [line.strip().lower() for line in self.cleaned_data["allowed_aaguids"].split()]
        for aaguid in found:
            if not _AAGUID.match(aaguid):
                raise forms.ValidationError(
                    _("“%(value)s” is not an AAGUID (32 hexadecimal digits with dashes).")
                    % {"value": aaguid[:40]}
                )
        return sorted(set(found))

    def clean(self) -> dict:
        cleaned = super().clean()
        if cleaned.get("attestation") == Attestation.DIRECT and not cleaned.get("allowed_aaguids"):
            self.add_error(
                "allowed_aaguids", _("List at least one model, or accept any authenticator.")
            )
        if cleaned.get("attestation") == Attestation.DIRECT and not cleaned.get(
            "attestation_roots"
        ):
            self.add_error(
                "attestation_roots",
                _("Give the root certificates the listed models' attestations lead to."),
            )
        return cleaned

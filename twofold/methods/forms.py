"""Forms every verification page shares."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from twofold.methods.base import Interaction, Option

_NUMERIC = {"inputmode": "numeric", "pattern": "[0-9 ]*"}
_TEXT = {"inputmode": "text", "autocapitalize": "none", "spellcheck": "false"}


class CodeForm(forms.Form):
    """The answer to a challenge: a typed code, or what the browser posts by itself.

    ``option``: the challenge's, which says how the box looks (six digits, or text such
    as a recovery code) and how long an answer may be; a BROWSER option's answer is a
    hidden field its method's script fills (methods/base.py, ``prompt_template``).
    """

    code = forms.CharField(label=_("Verification code"), max_length=12)

    def __init__(self, *args: object, option: Option | None = None, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.fields["code"] = _code_field(option)


def _code_field(option: Option | None) -> forms.CharField:
    if option is not None and option.interaction == Interaction.BROWSER:
        return forms.CharField(max_length=option.code_max_length, widget=forms.HiddenInput)
    text = option is not None and option.code_inputmode == "text"
    attrs = {
        "autocomplete": "one-time-code",
        **(_TEXT if text else _NUMERIC),
        "autofocus": True,
        "class": "code-input",
    }
    return forms.CharField(
        label=_("Verification code"),
        max_length=option.code_max_length if option is not None else 12,
        widget=forms.TextInput(attrs=attrs),
    )

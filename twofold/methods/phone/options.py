"""The phone's options: every one it can offer (its catalogue, methods/base.py) and the
option that reaches one phone by text or call. Both the method and its services use them."""

from __future__ import annotations

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from twofold.methods.base import Interaction, Option, OptionSpec
from twofold.methods.phone import kinds
from twofold.methods.phone.models import ContactMode, Phone

KEY = "phone"  # the method's key (method.py)
_CALL = gettext_lazy("Call")
_TEXT = gettext_lazy("Text message")
# Every option phones can offer; the alternate phone is never the preferred option.
CATALOGUE = (
    OptionSpec(
        "call:authentication",
        kinds.CALL,
        gettext_lazy("Call my authentication phone"),
        amr=("tel",),
        admin_label=_CALL,
    ),
    OptionSpec(
        "text:authentication",
        kinds.TEXT,
        gettext_lazy("Text a code to my authentication phone"),
        amr=("sms",),
        admin_label=_TEXT,
    ),
    OptionSpec(
        "call:office",
        kinds.CALL,
        gettext_lazy("Call my office phone"),
        amr=("tel",),
        admin_label=_CALL,
    ),
    OptionSpec(
        "call:alternate",
        kinds.CALL,
        gettext_lazy("Call my alternate authentication phone"),
        amr=("tel",),
        admin_label=_CALL,
        preferable=False,
    ),
)
_LABELS = {spec.key: spec.label for spec in CATALOGUE}


def option_for(phone: Phone, mode: str, *, pending: bool = False) -> Option:
    """The option that reaches ``phone`` (its pending number if ``pending``) by ``mode``."""
    key = f"{mode}:{phone.role}"
    masked = phone.masked_pending if pending else phone.masked
    prompt = _("Text %(number)s") if mode == ContactMode.TEXT else _("Call %(number)s")
    return Option(
        key=key,
        method=KEY,
        policy_kind=kinds.TEXT if mode == ContactMode.TEXT else kinds.CALL,
        interaction=Interaction.CODE if mode == ContactMode.TEXT else Interaction.WAIT,
        label=str(_LABELS[key]),
        prompt=prompt % {"number": masked},
        target=masked,
    )

"""The kinds of verifying phones bring to an organisation's policy (methods/base.py)."""

from django.utils.translation import gettext_lazy as _

from twofold.methods.base import PolicyKind

CALL = "call"
TEXT = "text"

POLICY_KINDS = (
    PolicyKind(CALL, _("Call to phone")),
    PolicyKind(TEXT, _("Text message to phone")),
)

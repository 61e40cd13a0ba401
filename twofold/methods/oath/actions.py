"""What the audit log records of hardware tokens: their own actions, declared by the method."""

from django.utils.translation import gettext_lazy as _

IMPORTED = "hardware_tokens.imported"
CHANGED = "hardware_token.changed"
ACTIVATED = "hardware_token.activated"

#: The method's audit vocabulary (methods/base.py ``Method.audit_actions``): the stored
#: values are the ones the core list had, so older events still read.
AUDIT_ACTIONS = (
    (IMPORTED, _("Hardware tokens imported")),
    (CHANGED, _("Hardware token changed")),
    (ACTIVATED, _("Hardware token activated")),
)

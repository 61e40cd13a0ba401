"""What the audit log records of phones: their own actions, declared by the method."""

from django.utils.translation import gettext_lazy as _

CHANGED = "settings.phone"
CHANGE_PENDING = "settings.phone_pending"
CHANGE_CANCELLED = "settings.phone_cancelled"

#: The method's audit vocabulary (methods/base.py ``Method.audit_actions``): the stored
#: values are the ones the core list had, so older events still read.
AUDIT_ACTIONS = (
    (CHANGED, _("Phone number changed")),
    (CHANGE_PENDING, _("Phone number change waiting for verification")),
    (CHANGE_CANCELLED, _("Phone number change cancelled")),
)

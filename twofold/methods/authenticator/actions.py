"""What the audit log records of authenticator apps: their own actions, declared by the method."""

from django.utils.translation import gettext_lazy as _

ADDED = "authenticator.added"
DELETED = "authenticator.deleted"
ACTIVATION_ISSUED = "authenticator.activation"
REQUEST_REFUSED = "authenticator.refused"

#: The method's audit vocabulary (methods/base.py ``Method.audit_actions``): the stored
#: values are the ones the core list had, so older events still read.
AUDIT_ACTIONS = (
    (ADDED, _("Authenticator app added")),
    (DELETED, _("Authenticator app deleted")),
    (ACTIVATION_ISSUED, _("Authenticator app activation link issued")),
    (REQUEST_REFUSED, _("Authenticator app request refused (signature, time or replay)")),
)

"""What the audit log records of app passwords: their own actions, declared by the method."""

from django.utils.translation import gettext_lazy as _

CREATED = "app_password.created"
DELETED = "app_password.deleted"
USED = "app_password.used"

#: The method's audit vocabulary (methods/base.py ``Method.audit_actions``): the stored
#: values are the ones the core list had, so older events still read.
AUDIT_ACTIONS = (
    (CREATED, _("App password created")),
    (DELETED, _("App password deleted")),
    (USED, _("App password used")),
)

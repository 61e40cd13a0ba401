"""The kinds of verifying the authenticator app brings to an organisation's policy
(methods/base.py). Hardware tokens count as ``APP_CODE`` too: a code from a token or an app."""

from django.utils.translation import gettext_lazy as _

from twofold.methods.base import PolicyKind

APP_NOTIFICATION = "app_notification"
APP_CODE = "app_code"

POLICY_KINDS = (
    PolicyKind(APP_NOTIFICATION, _("Notification through the app")),
    PolicyKind(APP_CODE, _("Verification code from the app or a hardware token")),
)

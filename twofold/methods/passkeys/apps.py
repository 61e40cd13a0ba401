from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PasskeysConfig(AppConfig):
    name = "twofold.methods.passkeys"
    label = "passkeys"
    verbose_name = _("Passkeys")

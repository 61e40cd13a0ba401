from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OathConfig(AppConfig):
    name = "twofold.methods.oath"
    label = "oath"
    verbose_name = _("Hardware tokens")

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RecoveryConfig(AppConfig):
    name = "twofold.methods.recovery"
    label = "recovery"
    verbose_name = _("Recovery codes")

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SelfServiceConfig(AppConfig):
    name = "twofold.selfservice"
    label = "selfservice"
    verbose_name = _("Security verification settings")

    def ready(self) -> None:
        from twofold.methods import enrolment
        from twofold.selfservice.hosting import SettingsHost

        enrolment.add_host(SettingsHost())  # the settings page hosts enrolments

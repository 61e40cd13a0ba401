from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SigninConfig(AppConfig):
    name = "twofold.signin"
    label = "signin"
    verbose_name = _("Two-step sign-in")

    def ready(self) -> None:
        from twofold.methods import enrolment
        from twofold.signin.register import RegistrationHost

        enrolment.add_host(RegistrationHost())  # first-time registration hosts enrolments

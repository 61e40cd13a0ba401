from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PhoneConfig(AppConfig):
    name = "twofold.methods.phone"
    label = "phone"
    verbose_name = _("Phones")

    def ready(self) -> None:
        from twofold.delivery.base import call_answered, delivery_reported
        from twofold.methods.phone import receivers

        call_answered.connect(receivers.call_answered, dispatch_uid="phone-call-answered")
        delivery_reported.connect(
            receivers.delivery_reported, dispatch_uid="phone-delivery-reported"
        )

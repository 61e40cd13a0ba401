from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DeliveryConfig(AppConfig):
    name = "twofold.delivery"
    label = "delivery"
    verbose_name = _("Delivery of texts and calls")

    def ready(self) -> None:
        from twofold.delivery import checks  # noqa: F401 - registers the deploy check

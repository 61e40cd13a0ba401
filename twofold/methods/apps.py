from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MethodsConfig(AppConfig):
    name = "twofold.methods"
    label = "methods"
    verbose_name = _("Verification methods")

    def ready(self) -> None:
        # Imported here: the gauges read this app's models, loaded only by now.
        from twofold.core import metrics
        from twofold.methods.gauges import DatabaseGauges

        metrics.add_scraped(DatabaseGauges())

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MethodsConfig(AppConfig):
    name = "twofold.methods"
    label = "methods"
    verbose_name = _("Verification methods")

    def ready(self) -> None:
        from twofold.audit.models import add_method_actions
        from twofold.methods import base

        # The audit log's vocabulary grows with the methods' own actions (base.py).
        add_method_actions(base.audit_actions())

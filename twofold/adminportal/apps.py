from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AdminPortalConfig(AppConfig):
    name = "twofold.adminportal"
    label = "adminportal"
    verbose_name = _("Admin portal")

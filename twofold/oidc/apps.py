from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OidcConfig(AppConfig):
    name = "twofold.oidc"
    label = "oidc"
    verbose_name = _("OpenID Connect provider")

    def ready(self) -> None:
        from twofold.accounts.services import signed_out_everywhere
        from twofold.oidc.services import end_tokens_of

        signed_out_everywhere.connect(end_tokens_of, dispatch_uid="oidc-end-tokens")

"""Applications that sign people in through twofold, and how each sign-in was proven.

``Application`` is django-oauth-toolkit's application with the organisation it belongs
to and the scopes it may ask for (OAUTH2_PROVIDER_APPLICATION_MODEL). ``Authentication``
keeps what the ID token says about the sign-in (amr, acr, auth_time) from the moment the
user is sent back with a code until the last refresh of its tokens: the token endpoint
has no browser session to read it from.
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from oauth2_provider.models import AbstractApplication, ApplicationManager

from twofold.organisations.models import Organisation

SCOPES = ("openid", "profile", "email")
# https everywhere; Application.clean() lets http through for loopback addresses only.
REDIRECT_SCHEMES = ["https", "http"]


def default_scopes() -> list[str]:
    return list(SCOPES)


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class Application(AbstractApplication):
    """An organisation's web application (a relying party), registered in the admin portal."""

    organisation = models.ForeignKey(
        Organisation,
        on_delete=models.CASCADE,
        related_name="applications",
        verbose_name=_("organisation"),
    )
    allowed_scopes = models.JSONField(_("allowed scopes"), default=default_scopes)

    objects = ApplicationManager()

    class Meta(AbstractApplication.Meta):
        verbose_name = _("application")
        indexes = [models.Index(fields=["organisation", "name"], name="application_org_name")]

    def natural_key(self) -> tuple[str]:
        return (self.client_id,)

    def get_allowed_schemes(self) -> list[str]:
        return list(REDIRECT_SCHEMES)

    def clean(self) -> None:
        super().clean()
        errors: dict[str, list[ValidationError]] = {}
        for field in ("redirect_uris", "post_logout_redirect_uris"):
            for uri in getattr(self, field).split():
                parts = urlsplit(uri)
                if parts.scheme == "http" and not is_loopback(parts.hostname or ""):
                    errors.setdefault(field, []).append(
                        ValidationError(
                            _("%(uri)s must use https (plain http only to this machine)."),
                            params={"uri": uri},
                        )
                    )
                elif (
                    parts.scheme == "http"
                    and field == "post_logout_redirect_uris"
                    and self.client_type == self.CLIENT_PUBLIC
                ):
                    # django-oauth-toolkit's strict logout (on) sends a public application's
                    # users back over http nowhere, loopback or not: refuse it here, not then.
                    errors.setdefault(field, []).append(
                        ValidationError(
                            _(
                                "%(uri)s must use https: a public application signs users out "
                                "to https addresses only."
                            ),
                            params={"uri": uri},
                        )
                    )
        unknown = set(self.allowed_scopes) - set(SCOPES)
        if unknown or "openid" not in self.allowed_scopes:
            errors["allowed_scopes"] = [ValidationError(_("Choose scopes from the list."))]
        if errors:
            raise ValidationError(errors)


class Authentication(models.Model):
    """How the user proved who they were for one authorization (the ID token's amr and acr)."""

    application = models.ForeignKey(
        settings.OAUTH2_PROVIDER_APPLICATION_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    # Set while the code waits to be exchanged (the grant is deleted then) ...
    grant = models.OneToOneField(
        settings.OAUTH2_PROVIDER_GRANT_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        related_name="twofold_authentication",
    )
    # ... and from then on found through its refresh tokens, which keep one family id.
    token_family = models.UUIDField(null=True, db_index=True)
    # The code's SHA-256: a code presented again after its exchange finds the tokens
    # issued from it, to end them (RFC 6749 section 4.1.2).
    code_digest = models.CharField(max_length=64, blank=True, db_index=True)
    amr = models.JSONField(default=list)
    acr = models.CharField(max_length=40)
    auth_time = models.DateTimeField()
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"{self.acr} {' '.join(self.amr)} at {self.auth_time:%Y-%m-%d %H:%M:%S}"

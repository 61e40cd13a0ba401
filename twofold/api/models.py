"""API clients: an organisation's applications that call the REST API with a bearer token."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from twofold.organisations.models import Organisation


class ApiScope(models.TextChoices):
    """What a client may do; each operation names the one it needs."""

    VALIDATE = "validate", _("Check passwords and second factors")
    USERS_READ = "users:read", _("Read users")
    USERS_WRITE = "users:write", _("Create, change and delete users")
    ADMIN = "admin", _("Administrators' actions on users")


def validate_scopes(value: object) -> None:
    if not isinstance(value, list) or not value or not set(value) <= set(ApiScope.values):
        raise ValidationError(_("Choose at least one scope from the list."))


class ApiClient(models.Model):
    organisation = models.ForeignKey(
        Organisation,
        on_delete=models.CASCADE,
        related_name="api_clients",
        verbose_name=_("organisation"),
    )
    name = models.CharField(_("name"), max_length=80)
    scopes = models.JSONField(_("scopes"), default=list, validators=[validate_scopes])
    # The public part of the token ("tf_<prefix>_<secret>"): names the client in lists and
    # logs without revealing anything that authenticates.
    prefix = models.CharField(_("token prefix"), max_length=16, unique=True)
    # SHA-256 of the 256-bit random secret: high entropy, so a plain digest is enough and
    # a lookup by it is one indexed query. The secret is shown once and never kept.
    secret_digest = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("created by"),
    )
    # Whether the end user's address the client sends with a check (a VPN's or RADIUS
    # client's Calling-Station-Id) is believed: for trusted address ranges and per-address
    # limits. The client's own address never counts as a person's (docs/security.md 32).
    reports_person_address = models.BooleanField(
        _("may report the end user's address"), default=False
    )
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True)

    class Meta:
        verbose_name = _("API client")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.name

    @property
    def label(self) -> str:
        """How audit events name the client as their actor."""
        return f"api:{self.name}"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None

    def allows(self, scope: str) -> bool:
        return scope in self.scopes

    @property
    def integration_key(self) -> str:
        """The client's own bucket in the per-client ceiling."""
        return f"api-client:{self.pk}"

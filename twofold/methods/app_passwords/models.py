"""App passwords: random passwords for apps that cannot ask for a second factor (API only)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class AppPassword(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="app_passwords",
        verbose_name=_("user"),
    )
    name = models.CharField(_("name"), max_length=60)
    # A password-hasher string (Argon2id); the password itself is shown once and forgotten.
    password = models.CharField(_("password (hashed)"), max_length=256)
    # A keyed digest of the password (HMAC, core.crypto.keyed_digest), to find the one row
    # to verify: a check then costs one hash however many app passwords the user has.
    # Empty for app passwords made before it existed, until their first use.
    lookup = models.CharField(
        _("lookup digest"), max_length=64, blank=True, default="", editable=False
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True)

    class Meta:
        verbose_name = _("app password")
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["user", "lookup"], name="app_password_lookup")]

    def __str__(self) -> str:
        return self.name

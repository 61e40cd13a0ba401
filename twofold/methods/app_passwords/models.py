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
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True)

    class Meta:
        verbose_name = _("app password")
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return self.name

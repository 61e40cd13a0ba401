"""OATH TOTP hardware tokens: an organisation's stock, each assigned to at most one user.

A token counts as a method only once its user has proved it with a code from it
(``activated_at``). Its seed is encrypted at rest and never shown again after upload.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from twofold.methods.totp import TotpSeed
from twofold.organisations.models import Organisation


class HardwareToken(TotpSeed):
    organisation = models.ForeignKey(
        Organisation,
        on_delete=models.CASCADE,
        related_name="hardware_tokens",
        verbose_name=_("organisation"),
    )
    serial = models.CharField(_("serial number"), max_length=64)
    # The seed, its parameters and the last step spent: methods/totp.py. Six digits only
    # (the one verification path takes six-digit codes); the last step spent is kept
    # across reassignment, so a code seen by a former holder never works again.
    manufacturer = models.CharField(_("manufacturer"), max_length=100, blank=True)
    model = models.CharField(_("model"), max_length=100, blank=True)
    # Deleting a user puts the token back in stock; assigning it again resets activated_at.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="hardware_tokens",
        verbose_name=_("assigned to"),
    )
    activated_at = models.DateTimeField(_("activated"), null=True, blank=True)
    created_at = models.DateTimeField(_("uploaded"), default=timezone.now)

    class Meta:
        verbose_name = _("hardware token")
        ordering = ["organisation", "serial"]
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "serial"], name="hardware_token_serial_unique"
            ),
            models.CheckConstraint(
                condition=models.Q(period__in=(30, 60)), name="hardware_token_period_valid"
            ),
        ]

    def __str__(self) -> str:
        return self.serial

    @property
    def is_active(self) -> bool:
        """Assigned and proved by its user: it verifies sign-ins."""
        return self.user_id is not None and self.activated_at is not None

    @property
    def masked_serial(self) -> str:
        """The serial's last four characters, as sign-in prompts and audit events show it."""
        return f"…{self.serial[-4:]}"

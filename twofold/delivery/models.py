"""The outbox: where the default gateway keeps the texts and calls it would have sent.

A stand-in phone for demos and development (the dev outbox page shows it). Bodies hold
codes in clear, so rows are kept for a day only; a real deployment uses a real gateway.
"""

from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from twofold.core import phones
from twofold.delivery.base import DeliveryState


class OutboxKind(models.TextChoices):
    TEXT = "text", _("Text message")
    CALL = "call", _("Call")


class OutboxMessage(models.Model):
    kind = models.CharField(_("kind"), max_length=4, choices=OutboxKind)
    to = models.CharField(_("to"), max_length=16)  # E.164
    extension = models.CharField(_("extension"), max_length=20, blank=True)
    body = models.TextField(_("text or call script"))
    language = models.CharField(_("language"), max_length=16, blank=True)
    reference = models.CharField(_("reference"), max_length=100)
    state = models.CharField(
        _("state"), max_length=10, choices=DeliveryState, default=DeliveryState.QUEUED
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    answered_digits = models.CharField(_("keys pressed"), max_length=10, blank=True)
    answered_at = models.DateTimeField(_("answered"), null=True, blank=True)

    class Meta:
        verbose_name = _("outbox message")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["kind", "-created_at"], name="outbox_kind_time"),
            models.Index(fields=["created_at"], name="outbox_time"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.reference} {self.state}"

    @property
    def shown_to(self) -> str:
        """The number as a person reads it: this page is the developer's own phone."""
        return phones.international(self.to)

    @property
    def is_ringing(self) -> bool:
        return self.kind == OutboxKind.CALL and self.state == DeliveryState.QUEUED

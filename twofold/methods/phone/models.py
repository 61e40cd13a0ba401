"""The user's phones: the authentication phone, an alternate one and an office phone."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from twofold.core import phones


class PhoneRole(models.TextChoices):
    AUTHENTICATION = "authentication", _("Authentication phone")
    ALTERNATE = "alternate", _("Alternate authentication phone")
    OFFICE = "office", _("Office phone")


class ContactMode(models.TextChoices):
    TEXT = "text", _("Text message")
    CALL = "call", _("Call")


class Phone(models.Model):
    """One phone of one user, in one role.

    ``number`` is the proven number in force (empty while a first number is still being
    verified). ``pending_number`` holds a new number until its owner proves it: until
    then the old one keeps working.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="phones"
    )
    role = models.CharField(max_length=20, choices=PhoneRole)
    number = models.CharField(max_length=20, blank=True)  # E.164
    extension = models.CharField(max_length=10, blank=True)
    mode = models.CharField(max_length=4, choices=ContactMode, default=ContactMode.TEXT)
    pending_number = models.CharField(max_length=20, blank=True)
    pending_extension = models.CharField(max_length=10, blank=True)
    pending_since = models.DateTimeField(null=True, blank=True)
    # The preferred option the user chose with the pending number: it waits for the proof.
    pending_preferred_option = models.CharField(max_length=40, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "role"], name="phone_one_per_role"),
        ]

    def __str__(self) -> str:
        return f"{self.role} {self.masked}"

    @property
    def masked(self) -> str:
        return phones.mask(self.number) if self.number else ""

    @property
    def masked_pending(self) -> str:
        return phones.mask(self.pending_number) if self.pending_number else ""

    @property
    def in_force(self) -> bool:
        return bool(self.number)

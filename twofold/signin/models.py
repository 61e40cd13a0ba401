"""Trusted devices: browsers that ticked "don't ask again for N days"."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class TrustedDevice(models.Model):
    """One remembered browser of one user. Only a digest of its cookie is stored.

    It counts while it has not expired and both epochs still equal the user's and the
    organisation's current ones: moving either epoch forgets every such device at once,
    in one UPDATE of one row, whatever their number.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="trusted_devices"
    )
    token_digest = models.CharField(max_length=64, unique=True)
    user_epoch = models.PositiveIntegerField()
    organisation_epoch = models.PositiveIntegerField()
    label = models.CharField(max_length=120, blank=True)  # "Chrome on Windows"
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["user", "expires_at"], name="trusted_device_user")]

    def __str__(self) -> str:
        return f"{self.label or 'browser'} until {self.expires_at:%Y-%m-%d}"

"""RADIUS clients: an organisation's VPN concentrators, Wi-Fi controllers and network
devices that ask ``twofold radius`` to check their users (docs/radius.md)."""

from __future__ import annotations

import ipaddress

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from twofold.core.fields import EncryptedTextField
from twofold.organisations.models import Organisation


class RadiusClient(models.Model):
    organisation = models.ForeignKey(
        Organisation,
        on_delete=models.CASCADE,
        related_name="radius_clients",
        verbose_name=_("organisation"),
    )
    name = models.CharField(_("name"), max_length=80)
    # The address or network (CIDR) its packets come from, in its normalised form: a
    # packet is read with the secret of the one client whose network holds its source.
    network = models.CharField(_("source address or network"), max_length=64)
    # The shared secret (core.crypto.encrypt), shown once when the client is made.
    secret = EncryptedTextField(_("shared secret (encrypted)"))
    # Whether the end user's address it reports (Calling-Station-Id) is believed: for
    # trusted address ranges and per-address limits (docs/security.md 32).
    reports_person_address = models.BooleanField(
        _("may report the end user's address"), default=False
    )
    # Returned on Access-Accept, for the gateway's own policy (a group, a filter).
    reply_class = models.CharField(_("Class on accept"), max_length=200, blank=True)
    reply_filter_id = models.CharField(_("Filter-Id on accept"), max_length=200, blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("created by"),
    )

    class Meta:
        verbose_name = _("RADIUS client")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.name

    @property
    def label(self) -> str:
        """How audit events name the client as their actor."""
        return f"radius:{self.name}"

    @property
    def integration_key(self) -> str:
        """The client's own bucket in the per-client ceiling (as an API client's)."""
        return f"radius-client:{self.pk}"

    def ip_network(self) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
        return ipaddress.ip_network(self.network)

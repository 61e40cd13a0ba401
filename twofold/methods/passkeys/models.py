"""Passkeys (WebAuthn credentials), the random user handle they are bound to, and an
organisation's passkey policy."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class PasskeyAccount(models.Model):
    """The user handle authenticators store with a discoverable passkey (WebAuthn's
    ``user.id``): random, so that it tells nothing of the user (never the user's id or
    name), and the same for all of one user's passkeys, as the specification wants."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="passkey_account"
    )
    handle = models.CharField(max_length=64, unique=True)

    def __str__(self) -> str:
        return f"passkey account of user {self.user_id}"


class Passkey(models.Model):
    """One registered credential. Its public key is public: it is kept in clear."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="passkeys"
    )
    # base64url of the credential ID (up to 1023 bytes, WebAuthn level 3)
    credential_id = models.CharField(max_length=1400, unique=True)
    public_key = models.BinaryField()  # COSE-encoded
    sign_count = models.PositiveBigIntegerField(default=0)
    aaguid = models.CharField(max_length=36, blank=True)
    transports = models.JSONField(default=list)
    name = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    backed_up = models.BooleanField(default=False)  # synced (a "multi-device" credential)
    backup_eligible = models.BooleanField(default=False)
    discoverable = models.BooleanField(default=False)  # can sign in without a user name
    user_verified = models.BooleanField(default=False)  # at registration

    class Meta:
        ordering = ["created_at", "pk"]

    def __str__(self) -> str:
        return self.name


class UserVerification(models.TextChoices):
    REQUIRED = "required", _("Required (a PIN, fingerprint or face on the authenticator)")
    PREFERRED = "preferred", _("Preferred (asked for when the authenticator can)")


class Attestation(models.TextChoices):
    NONE = "none", _("Any authenticator (no attestation)")
    DIRECT = "direct", _("Only the authenticator models listed (direct attestation)")


class PasskeyPolicy(models.Model):
    """An organisation's passkey rules; an organisation without one has the defaults
    (user verification required, any authenticator)."""

    organisation = models.OneToOneField(
        "organisations.Organisation", on_delete=models.CASCADE, related_name="passkey_policy"
    )
    user_verification = models.CharField(
        _("user verification"),
        max_length=16,
        choices=UserVerification.choices,
        default=UserVerification.REQUIRED,
    )
    attestation = models.CharField(
        _("attestation"), max_length=16, choices=Attestation.choices, default=Attestation.NONE
    )
    # AAGUIDs (lower-case, with dashes) accepted under direct attestation
    allowed_aaguids = models.JSONField(_("allowed authenticator models"), default=list, blank=True)
    # PEM certificates: the attestation roots of the listed models' makers. Under direct
    # attestation a new passkey's certificate chain must lead to one of them, or its model
    # (AAGUID) is only its own claim.
    attestation_roots = models.TextField(_("attestation root certificates"), blank=True)

    def __str__(self) -> str:
        return f"passkey policy of organisation {self.organisation_id}"

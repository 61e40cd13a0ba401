"""Authenticator app devices: a TOTP secret (encrypted at rest) proven once at enrolment."""

from __future__ import annotations

import re
from functools import cache

from django.conf import settings
from django.db import models
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _

from twofold.core.fields import EncryptedTextField
from twofold.methods.totp import TotpSeed

#: The name an app gets when the person gives none (translated when shown).
DEFAULT_NAME = _("Authenticator app")
_NUMBERED = re.compile(r"^(?P<name>.*?)(?P<number> \(\d+\))?$")


@cache
def _default_names() -> frozenset[str]:
    """The default name in every language we speak: a stored one is shown in the reader's."""
    names = set()
    for code, _label in settings.LANGUAGES:
        with translation.override(code):
            names.add(str(DEFAULT_NAME).casefold())
    return frozenset(names)


class AuthenticatorDevice(TotpSeed):
    """One authenticator app (or hardware token) the user set up and proved with a code.

    Only proven devices are ever saved, so every row counts as a method.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="authenticator_devices",
        verbose_name=_("user"),
    )
    name = models.CharField(_("name"), max_length=60)
    # The seed, its parameters and the last step spent: methods/totp.py.
    created_at = models.DateTimeField(_("added"), default=timezone.now)
    # For the twofold Authenticator: the phone's platform and its P-256 public key (the
    # uncompressed point, encrypted like the seed: core.crypto.encrypt). Empty: codes only.
    platform = models.CharField(_("platform"), max_length=20, blank=True)
    public_key = EncryptedTextField(_("public key"), blank=True)

    class Meta:
        verbose_name = _("authenticator app")
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return self.name

    @property
    def shown_name(self) -> str:
        """The name as the reader sees it: a default name ("Authenticator app", "验证器应用",
        numbered "(2)" or not) in the reader's language, any other name as given."""
        found = _NUMBERED.match(self.name)
        if found and found["name"].casefold() in _default_names():
            return f"{DEFAULT_NAME}{found['number'] or ''}"
        return self.name


class ActivationCode(models.Model):
    """A one-time link that lets the twofold Authenticator app join the user's account.

    Only a keyed digest of the code is kept; it lasts ten minutes and is used once.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="activation_codes"
    )
    digest = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    device = models.ForeignKey(
        AuthenticatorDevice, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    def __str__(self) -> str:
        return f"activation for user {self.user_id}"


class PushNotice(models.Model):
    """What a push challenge shows: the number on the sign-in screen, and on the app the
    application and address asking. The app is never told the number."""

    challenge = models.OneToOneField(
        "methods.Challenge", on_delete=models.CASCADE, related_name="push_notice"
    )
    number = models.CharField(max_length=2)
    application = models.CharField(max_length=120)
    # Approved with another number than the one shown: the sign-in page says so.
    wrong_number = models.BooleanField(default=False)

    def __str__(self) -> str:
        return f"push for {self.challenge_id}"

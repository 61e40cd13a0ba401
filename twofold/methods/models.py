"""Challenges (one attempt to verify a user, whatever the method) and reset notices."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class ChallengePurpose(models.TextChoices):
    SIGNIN = "signin", _("Sign-in")
    STEP_UP = "step_up", _("Confirming it's you before a change")
    VERIFY_NUMBER = "verify_number", _("Verifying a new phone number")
    API = "api", _("Application check")


class ChallengeState(models.TextChoices):
    PENDING = "pending", _("Waiting")
    APPROVED = "approved", _("Approved")
    DENIED = "denied", _("Denied")
    EXPIRED = "expired", _("Expired")
    FRAUD = "fraud", _("Reported as fraud")
    UNREACHED = "unreached", _("Could not reach the phone")  # failed, busy, unanswered


class Challenge(models.Model):
    # The public reference: in URLs, gateway callbacks and API answers.
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="challenges"
    )
    method = models.CharField(max_length=30)  # the key of the methods.base.Method serving it
    option = models.CharField(max_length=40)  # methods.base.Option.key
    purpose = models.CharField(max_length=20, choices=ChallengePurpose)
    state = models.CharField(max_length=10, choices=ChallengeState, default=ChallengeState.PENDING)
    # For codes we send: a keyed digest bound to this challenge, never the code itself.
    code_digest = models.CharField(max_length=64, blank=True)
    # What the challenge is about when it is not the option's own target: for
    # VERIFY_NUMBER, the role of the phone whose pending number is being proven.
    subject = models.CharField(max_length=40, blank=True)
    # What the challenge's method keeps to check the response (a WebAuthn challenge),
    # never a secret in clear (methods/base.py).
    payload = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    completed_at = models.DateTimeField(null=True, blank=True)
    correlation_id = models.CharField(max_length=64)
    client_address = models.GenericIPAddressField(null=True)

    class Meta:
        indexes = [
            models.Index(fields=["user", "state", "purpose"], name="challenge_user_pending"),
            # The metrics' gauge of the last hour's challenges (core/metrics.py) at each scrape.
            models.Index(fields=["created_at"], name="challenge_created"),
        ]

    def __str__(self) -> str:
        return f"{self.option} {self.purpose} {self.state}"

    @property
    def is_open(self) -> bool:
        return self.state == ChallengeState.PENDING and self.expires_at > timezone.now()


class ResetNotice(models.Model):
    """A text still owed to a user whose methods an administrator reset (resets.py).

    Queued in the reset's own transaction, before the phone it names is deleted, and sent
    after the commit (reset_notices.py): a restart between the two loses nothing.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    number = models.CharField(max_length=20)  # E.164: the authentication phone the reset removed
    language = models.CharField(max_length=16)
    created_at = models.DateTimeField(default=timezone.now)
    not_before = models.DateTimeField(default=timezone.now)  # later after a refusal
    attempts = models.PositiveSmallIntegerField(default=0)  # gateway failures so far

    class Meta:
        indexes = [models.Index(fields=["not_before"], name="reset_notice_due")]

    def __str__(self) -> str:
        return f"reset notice {self.pk} attempt {self.attempts}"

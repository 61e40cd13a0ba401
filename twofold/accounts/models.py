"""A person in one organisation, signed in by user name (alice@contoso.example)."""

from __future__ import annotations

from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.db import models
from django.utils.translation import gettext_lazy as _

from twofold.core import crypto
from twofold.organisations.models import Organisation


def normalise_username(username: str) -> str:
    """User names compare case-insensitively and without surrounding space."""
    return username.strip().lower()


class MfaState(models.TextChoices):
    DISABLED = "disabled", _("Disabled")
    ENABLED = "enabled", _("Enabled")  # asked to register at the next sign-in
    ENFORCED = "enforced", _("Enforced")  # second factor required everywhere


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def get_by_natural_key(self, username: str | None) -> User:
        # With the organisation: every sign-in reads its policy next (one query, not two).
        return self.select_related("organisation").get(username=normalise_username(username or ""))


class User(AbstractBaseUser):
    organisation = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="users", verbose_name=_("organisation")
    )
    username = models.CharField(_("user name"), max_length=254, unique=True)
    display_name = models.CharField(_("display name"), max_length=150, blank=True)
    email = models.EmailField(_("e-mail address"), blank=True)
    mfa_state = models.CharField(
        _("two-step verification"), max_length=10, choices=MfaState, default=MfaState.DISABLED
    )
    is_admin = models.BooleanField(_("administrator of the organisation"), default=False)
    # The service's operator (a superuser): creates, lists and suspends organisations on
    # /operator/. Always an administrator too, with two-step verification enforced.
    is_operator = models.BooleanField(_("operator of the service"), default=False)
    is_active = models.BooleanField(_("active"), default=True)
    must_reregister = models.BooleanField(_("must provide contact methods again"), default=False)
    # After "provide contact methods again": until when the new registration may happen,
    # and the nonce its one-time access code derives from (the code itself is never kept).
    reregister_until = models.DateTimeField(null=True, blank=True)
    reregister_nonce = models.CharField(max_length=32, blank=True)
    # The key of a methods.base.Option: what sign-in asks for first.
    preferred_option = models.CharField(
        _("preferred verification option"), max_length=40, blank=True
    )
    # Bumping it forgets every browser this user trusted ("restore multi-factor authentication").
    trusted_device_epoch = models.PositiveIntegerField(default=0)
    # Bumping it ends every session of this user ("sign out everywhere"): it is part of the
    # session's auth hash (below), which Django checks on every request.
    session_epoch = models.PositiveIntegerField(default=0)
    mfa_locked_until = models.DateTimeField(_("second factor locked until"), null=True, blank=True)
    # A one-time bypass set by an administrator: the next sign-in before this time skips
    # the second factor once (and clears it).
    mfa_bypass_until = models.DateTimeField(_("one-time bypass until"), null=True, blank=True)
    is_blocked = models.BooleanField(_("blocked"), default=False)
    blocked_reason = models.CharField(_("reason for the block"), max_length=200, blank=True)
    # "" follows the organisation's default language, then the browser (see languages.py).
    language = models.CharField(_("language"), max_length=10, blank=True)
    # An IANA zone name such as "Asia/Shanghai"; "" shows times in UTC.
    time_zone = models.CharField(_("time zone"), max_length=64, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = UserManager()

    USERNAME_FIELD = "username"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    class Meta:
        verbose_name = _("user")
        indexes = [
            # The admin portal pages through an organisation's users in user-name order.
            models.Index(fields=["organisation", "username"], name="user_org_username"),
            # Its "blocked" and "locked out" filters: few users among a million, found
            # without reading the others.
            models.Index(
                fields=["organisation", "username"],
                name="user_org_username_blocked",
                condition=models.Q(is_blocked=True),
            ),
            models.Index(
                fields=["organisation", "username"],
                name="user_org_username_locked",
                condition=models.Q(mfa_locked_until__isnull=False),
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(mfa_state__in=MfaState.values), name="user_mfa_state_valid"
            ),
        ]

    def __str__(self) -> str:
        return self.username

    def _get_session_auth_hash(self, secret: str | None = None) -> str:
        """Django's HMAC of the password hash, and of the session epoch once it was raised
        (sessions from before the epoch existed stay valid at 0)."""
        keyed = super()._get_session_auth_hash(secret=secret)
        return crypto.digest(f"{keyed}:{self.session_epoch}") if self.session_epoch else keyed

    @property
    def shown_name(self) -> str:
        return self.display_name or self.username

    @property
    def can_sign_in(self) -> bool:
        """Active, not blocked, and their organisation not suspended."""
        return self.is_active and not self.is_blocked and not self.organisation.is_suspended

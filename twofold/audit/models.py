"""The audit log: append-only events with actor, subject, result, address and correlation ID.

Only ``twofold.audit.record`` writes events. Rows are never updated or deleted by the
application: the model refuses it, and a database trigger refuses UPDATE (and, on
PostgreSQL, DELETE) underneath the ORM as well.
"""

from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from twofold.core.fields import EncryptedTextField


class AuditAction(models.TextChoices):
    """The things the audit log records, besides the methods' own (``method_actions``)."""

    SIGNIN_PASSWORD = "signin.password", _("Password sign-in")
    SIGNIN_RATE_LIMITED = "signin.rate_limited", _("Sign-in refused: too many attempts")
    SIGNIN_COMPLETED = "signin.completed", _("Signed in")
    # After the password: asked for a second factor or not, and why (signin/why.py).
    SIGNIN_DECIDED = "signin.decided", _("Second step decided")
    SIGNOUT = "signout", _("Sign-out")
    SESSION_EXPIRED = "session.expired", _("Session ended by a timeout")
    PASSWORD_SET = "password.set", _("Password set")
    PREFERENCES_CHANGED = "user.preferences", _("Language or time zone changed")
    ACCESS_CODE_REFUSED = "signin.access_code", _("Registration access code refused")
    ORGANISATION_CREATED = "organisation.created", _("Organisation created")
    ORGANISATION_SUSPENDED = "organisation.suspended", _("Organisation suspended")
    ORGANISATION_RESUMED = "organisation.resumed", _("Organisation resumed")
    OPERATOR_ACCESS_DENIED = "operator.denied", _("Operator pages access refused")
    USER_CREATED = "user.created", _("User created")
    # Second factor.
    CHALLENGE_STARTED = "challenge.started", _("Verification started")
    CHALLENGE_VERIFIED = "challenge.verified", _("Verification checked")
    CHALLENGE_UNDELIVERED = "challenge.undelivered", _("Verification text or call not delivered")
    MFA_LOCKED = "mfa.locked", _("Second factor locked after failed attempts")
    FRAUD_REPORTED = "fraud.reported", _("Fraud reported")
    # Delivery.
    TEXT_SENT = "delivery.text", _("Text message sent")
    CALL_PLACED = "delivery.call", _("Call placed")
    CALLBACK_REJECTED = "delivery.callback_rejected", _("Gateway callback rejected")
    # The security verification settings page.
    PREFERRED_OPTION_CHANGED = "settings.preferred", _("Preferred option changed")
    TRUSTED_DEVICES_RESTORED = "trusted_devices.restored", _("Trusted devices forgotten")
    SESSIONS_ENDED = "sessions.ended", _("Signed out everywhere")
    # Administrators' actions on users.
    REREGISTRATION_REQUIRED = (
        "user.reregistration_required",
        _("Asked to provide contact methods again"),
    )
    MFA_STATE_CHANGED = "user.mfa_state", _("Two-step verification state changed")
    APP_PASSWORDS_DELETED_BY_ADMIN = "user.app_passwords_deleted", _("App passwords deleted")
    TRUSTED_DEVICES_FORGOTTEN = "user.trusted_devices_forgotten", _("Remembered devices forgotten")
    USER_UNBLOCKED = "user.unblocked", _("Unblocked")
    USER_UNLOCKED = "user.unlocked", _("Second factor unlocked")
    BYPASS_GRANTED = "user.bypass", _("One-time bypass granted")
    PASSWORD_LINK_ISSUED = "user.password_link", _("Set-password link issued")
    USER_UPDATED = "user.updated", _("User updated")
    USER_DELETED = "user.deleted", _("User deleted")
    USERS_IMPORTED = "users.imported", _("Users imported")
    POLICY_CHANGED = "organisation.policy", _("Organisation policy changed")
    ADMIN_ACCESS_DENIED = "admin.denied", _("Admin portal access refused")
    AUDIT_EXPORTED = "audit.exported", _("Audit log exported")
    SIEM_WEBHOOK_ADDED = "siem.webhook_added", _("SIEM webhook added")
    SIEM_WEBHOOK_REMOVED = "siem.webhook_removed", _("SIEM webhook removed")
    SIEM_SYSLOG_ADDED = "siem.syslog_added", _("SIEM syslog destination added")
    SIEM_SYSLOG_REMOVED = "siem.syslog_removed", _("SIEM syslog destination removed")
    # The installation's (no organisation: the installation's own chain).
    KEYS_ROTATED = "keys.rotated", _("Stored secrets re-encrypted under the first key")
    # An organisation's LDAP or Active Directory directory (twofold/directory/).
    DIRECTORY_CONFIGURED = "directory.configured", _("Directory configured")
    DIRECTORY_SYNCED = "directory.synced", _("Directory synchronised")
    USER_BLOCKED = "user.blocked", _("Blocked")
    # Applications: the REST API's clients and their calls.
    API_CLIENT_CREATED = "api_client.created", _("API client created")
    API_CLIENT_REVOKED = "api_client.revoked", _("API client revoked")
    API_CLIENT_CHANGED = "api_client.changed", _("API client changed")
    API_CALL = "api.call", _("API call")
    # Gateways that ask through RADIUS (twofold radius): their clients and their requests.
    RADIUS_CLIENT_CREATED = "radius_client.created", _("RADIUS client created")
    RADIUS_CLIENT_DELETED = "radius_client.deleted", _("RADIUS client deleted")
    RADIUS_REQUEST = "radius.request", _("RADIUS request")
    RADIUS_DROPPED = "radius.dropped", _("RADIUS packet dropped")
    # Applications that sign people in (OpenID Connect).
    TOKEN_REQUEST_REFUSED = "oidc.token_refused", _("Application's token request refused")


_CORE_ACTIONS = frozenset(AuditAction.values)
#: The methods' own actions, value -> lazy label: each method declares them in its
#: package (methods/base.py ``Method.audit_actions``), and the methods app adds them here
#: when it starts. The column has no database choices: the vocabulary grows with no
#: migration.
_METHOD_ACTIONS: dict[str, str] = {}


def add_method_actions(actions: dict[str, str]) -> None:
    """Let ``record`` accept these methods' actions; a core action can't be redefined."""
    clash = _CORE_ACTIONS.intersection(actions)
    if clash:
        raise ValueError(f"audit actions already defined: {sorted(clash)}")
    _METHOD_ACTIONS.update(actions)


def is_known_action(action: str) -> bool:
    return action in _CORE_ACTIONS or action in _METHOD_ACTIONS


def action_choices() -> list[tuple[str, str]]:
    """(value, label) of every action, core ones first: the audit log's filter."""
    return [*AuditAction.choices, *_METHOD_ACTIONS.items()]


def label_of(action: str) -> str:
    """An action's label; the value itself for one a later version no longer knows."""
    if action in _CORE_ACTIONS:
        return str(AuditAction(action).label)
    return str(_METHOD_ACTIONS.get(action, action))


#: Actions that, recorded without a subject, applied to every user of the organisation at
#: once (forgetting everyone's remembered devices by the organisation's epoch): one event
#: stands for each of its users, and their pages list it with their own.
ORGANISATION_WIDE_ACTIONS = (AuditAction.TRUSTED_DEVICES_FORGOTTEN,)


def organisation_wide() -> models.Q:
    """The events that applied to every user of their organisation."""
    return models.Q(
        subject__isnull=True, action__in=[action.value for action in ORGANISATION_WIDE_ACTIONS]
    )


class AuditResult(models.TextChoices):
    SUCCESS = "success", _("Success")
    FAILURE = "failure", _("Failure")
    DENIED = "denied", _("Denied")


class AppendOnlyError(Exception):
    """Something tried to change or remove an audit event."""


class AuditEventQuerySet(models.QuerySet):
    def update(self, **kwargs: object) -> int:
        raise AppendOnlyError("audit events are never updated")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise AppendOnlyError("audit events are never deleted")


class AuditEvent(models.Model):
    at = models.DateTimeField(_("time (UTC)"), default=timezone.now)
    # No database constraints and DO_NOTHING: an event outlives the user or organisation
    # it names, and deleting them never touches (or is blocked by) the log.
    organisation = models.ForeignKey(
        "organisations.Organisation",
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        null=True,
        related_name="+",
    )
    actor = models.ForeignKey(
        "accounts.User",
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        null=True,
        related_name="+",
    )
    actor_label = models.CharField(_("actor"), max_length=254, blank=True)
    subject = models.ForeignKey(
        "accounts.User",
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        null=True,
        related_name="+",
    )
    subject_label = models.CharField(_("subject"), max_length=254, blank=True)
    # No choices on the column: a new action is a line in AuditAction or in a method's
    # audit_actions, not a migration. record() only ever writes known actions.
    action = models.CharField(_("action"), max_length=40)
    result = models.CharField(_("result"), max_length=10, choices=AuditResult)
    client_address = models.GenericIPAddressField(_("client address"), null=True)
    user_agent = models.CharField(_("browser"), max_length=300, blank=True)
    correlation_id = models.CharField(_("correlation ID"), max_length=64)
    details = models.JSONField(_("details"), default=dict)
    # The hash chain (twofold.audit.chain): empty on events written before it began.
    previous_digest = models.CharField(_("previous digest"), max_length=64, blank=True)
    digest = models.CharField(_("digest"), max_length=64, blank=True)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        verbose_name = _("audit event")
        ordering = ["-at", "-id"]
        indexes = [
            models.Index(fields=["correlation_id"], name="audit_correlation_id"),
            models.Index(fields=["organisation", "-at"], name="audit_org_time"),
            models.Index(fields=["subject", "-at"], name="audit_subject_time"),
            # A user's page lists these with their own events: found without a scan.
            models.Index(
                fields=["organisation", "-at"],
                condition=organisation_wide(),
                name="audit_org_wide_time",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.action} {self.result}"

    def save(self, *args: object, **kwargs: object) -> None:
        if not self._state.adding:
            raise AppendOnlyError("audit events are never updated")
        super().save(*args, **kwargs)

    def delete(self, *args: object, **kwargs: object) -> tuple[int, dict[str, int]]:
        raise AppendOnlyError("audit events are never deleted")

    @property
    def is_organisation_wide(self) -> bool:
        return self.subject_id is None and self.action in ORGANISATION_WIDE_ACTIONS

    @property
    def action_label(self) -> str:
        return label_of(self.action)


class ChainHead(models.Model):
    """The end of one audit chain (an organisation's ID, or 0 for the installation's):
    the last event's digest, locked by every append so that appends queue; and what the
    last verification found."""

    chain = models.BigIntegerField(primary_key=True)
    digest = models.CharField(max_length=64, default="0" * 64)
    # Events up to this ID were written before the chain began: hashed in ID order from
    # the genesis digest they give ``anchor_digest``, where the chain starts.
    anchor_event_id = models.BigIntegerField(default=0)
    anchor_digest = models.CharField(max_length=64, default="0" * 64)
    verified_at = models.DateTimeField(null=True)
    verified_ok = models.BooleanField(null=True)
    verified_events = models.BigIntegerField(default=0)
    verified_broken_at = models.BigIntegerField(null=True)
    verified_reason = models.CharField(max_length=200, blank=True)

    def __str__(self) -> str:
        return f"audit chain {self.chain}"


class ForwardKind(models.TextChoices):
    SYSLOG = "syslog", _("Syslog (RFC 5424)")
    WEBHOOK = "webhook", _("Webhook (signed JSON)")


class ForwardDestination(models.Model):
    """A SIEM that receives audit events, and how far it has received them.

    No row per event: ``cursor`` is the ID of the last event delivered, and the sender
    (``twofold forward``) walks the audit log past it in ID order. Writing an event costs
    nothing more, and nothing is lost while the receiver is down (docs/security.md 23).
    """

    # None: the installation's (from the environment), receiving every organisation's events.
    organisation = models.ForeignKey(
        "organisations.Organisation", on_delete=models.CASCADE, null=True, related_name="+"
    )
    kind = models.CharField(_("kind"), max_length=10, choices=ForwardKind)
    url = models.CharField(_("address"), max_length=500)
    # The webhook's signing secret (core.crypto.encrypt); the installation's stays in the
    # environment and is not stored.
    secret = EncryptedTextField(blank=True)
    from_environment = models.BooleanField(default=False)
    cursor = models.BigIntegerField(default=0)
    failures = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True)
    last_error = models.CharField(max_length=200, blank=True)
    # Since when it has been failing (the first failure of the current run of them).
    failing_since = models.DateTimeField(null=True)
    # The last event of its own it received, and when: what its state says.
    delivered_event_id = models.BigIntegerField(null=True)
    delivered_at = models.DateTimeField(null=True)
    # The CA bundle (PEM) an organisation's administrator gave for a TLS destination whose
    # certificate is not signed by a public CA; empty: the system's CAs. Not a secret.
    ca_pem = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["kind"],
                condition=models.Q(from_environment=True),
                name="forward_one_per_kind_from_environment",
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.url}"

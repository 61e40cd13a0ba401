"""An organisation (tenant): its domains, its two-step verification policy and its branding."""

from __future__ import annotations

import ipaddress

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.utils.translation import gettext_lazy as _


def all_method_kinds() -> list[str]:
    """What a new organisation allows: the methods' policy kinds that are on by default
    (the policy's vocabulary comes from the methods' catalogue, methods/base.py, which
    imports nothing of twofold; imported here when called, as it sits a layer above)."""
    from twofold.methods import base

    return base.default_policy_kinds()


def validate_method_kinds(value: object) -> None:
    from twofold.methods import base  # see all_method_kinds

    known = {kind.value for kind in base.policy_kinds()}
    if not isinstance(value, list) or not all(item in known for item in value):
        raise ValidationError(_("Choose methods from the list."))


def validate_ip_ranges(value: object) -> None:
    if not isinstance(value, list):
        raise ValidationError(_("Enter a list of address ranges."))
    for item in value:
        try:
            ipaddress.ip_network(str(item), strict=False)
        except ValueError:
            raise ValidationError(
                _("%(range)s is not an IPv4 or IPv6 range in CIDR form."), params={"range": item}
            ) from None


hex_colour = RegexValidator(r"^#[0-9a-fA-F]{6}$", _("Enter a colour such as #0b5cad."))


class Organisation(models.Model):
    name = models.CharField(_("name"), max_length=120)
    slug = models.SlugField(_("short name"), max_length=60, unique=True)

    # Policy. Later issues act on these; their defaults are the product's defaults.
    require_mfa = models.BooleanField(
        _("require two-step verification for everyone"), default=False
    )
    allowed_methods = models.JSONField(
        _("allowed verification methods"),
        default=all_method_kinds,
        validators=[validate_method_kinds],
    )
    allow_app_passwords = models.BooleanField(_("allow app passwords"), default=False)
    remember_device_days = models.PositiveSmallIntegerField(
        _("days a device may be remembered"),
        default=14,
        validators=[MaxValueValidator(365)],
        help_text=_("0 turns “don't ask again” off."),
    )
    lockout_threshold = models.PositiveSmallIntegerField(
        _("failed attempts before lockout"),
        default=10,
        validators=[MinValueValidator(1), MaxValueValidator(100)],
    )
    lockout_window_minutes = models.PositiveSmallIntegerField(
        _("minutes over which failed attempts are counted"),
        default=15,
        validators=[MinValueValidator(1), MaxValueValidator(1440)],
    )
    lockout_duration_minutes = models.PositiveSmallIntegerField(
        _("minutes a lockout lasts"),
        default=15,
        validators=[MinValueValidator(1), MaxValueValidator(1440)],
    )
    fraud_report_enabled = models.BooleanField(_("let people report fraud"), default=True)
    fraud_report_blocks_user = models.BooleanField(
        _("block the user when fraud is reported"), default=True
    )
    trusted_ip_ranges = models.JSONField(
        _("trusted address ranges"), default=list, blank=True, validators=[validate_ip_ranges]
    )
    reregistration_grace_days = models.PositiveSmallIntegerField(
        _("days to re-register without an access code"),
        default=0,
        validators=[MaxValueValidator(30)],
        help_text=_("0 means a one-time access code from an administrator is always needed."),
    )
    session_idle_minutes = models.PositiveSmallIntegerField(
        _("minutes of inactivity before signing out"),
        default=30,
        validators=[MinValueValidator(5), MaxValueValidator(24 * 60)],
    )
    session_absolute_hours = models.PositiveSmallIntegerField(
        _("hours a session lasts at most"),
        default=12,
        validators=[MinValueValidator(1), MaxValueValidator(24 * 30)],
    )
    # Bumping it forgets every trusted device in the organisation at once.
    trusted_device_epoch = models.PositiveIntegerField(default=0, editable=False)

    # Branding and links shown to the organisation's people.
    display_name = models.CharField(_("display name"), max_length=120, blank=True)
    accent_colour = models.CharField(
        _("accent colour"), max_length=7, default="#0b5cad", validators=[hex_colour]
    )
    logo = models.BinaryField(_("logo"), null=True, blank=True, editable=True)
    logo_content_type = models.CharField(max_length=20, blank=True)  # image/png or image/svg+xml
    help_desk_url = models.URLField(_("help desk link"), blank=True)
    custom_settings_url = models.URLField(_("your organisation's own settings portal"), blank=True)
    # "" lets each person's browser choose; a person's own choice always comes first.
    default_language = models.CharField(
        _("default language"), max_length=10, blank=True, default=""
    )
    default_country = models.CharField(
        _("default country for phone numbers"), max_length=2, default="US"
    )

    created_at = models.DateTimeField(auto_now_add=True)
    # Set by the operator (operator/services.py): its people can't sign in, its API clients
    # and applications are refused; clearing it restores everything as it was.
    suspended_at = models.DateTimeField(_("suspended since"), null=True, blank=True)

    class Meta:
        verbose_name = _("organisation")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(remember_device_days__lte=365),
                name="organisation_remember_device_days_range",
            ),
            models.CheckConstraint(
                condition=models.Q(lockout_threshold__gte=1, lockout_threshold__lte=100),
                name="organisation_lockout_threshold_range",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def shown_name(self) -> str:
        return self.display_name or self.name

    @property
    def is_suspended(self) -> bool:
        return self.suspended_at is not None

    def allows(self, kind: str) -> bool:
        return kind in self.allowed_methods


class OrganisationDomain(models.Model):
    """A domain whose user names belong to an organisation (alice@contoso.example)."""

    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="domains")
    domain = models.CharField(_("domain"), max_length=253, unique=True)

    class Meta:
        verbose_name = _("domain")

    def __str__(self) -> str:
        return self.domain

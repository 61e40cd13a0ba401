"""The organisation's policy and branding, changed by its administrators (audited before/after)."""

from __future__ import annotations

import ipaddress

from django import forms
from django.contrib import messages
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from twofold.adminportal.access import admin_required
from twofold.audit.models import AuditAction, AuditResult
from twofold.audit.services import record, safe_text
from twofold.core import languages, phones
from twofold.core.errors import InvalidInput
from twofold.methods import base
from twofold.organisations import logos
from twofold.organisations.models import Organisation

POLICY_FIELDS = [
    "require_mfa",
    "allowed_methods",
    "allow_app_passwords",
    "remember_device_days",
    "lockout_threshold",
    "lockout_window_minutes",
    "lockout_duration_minutes",
    "fraud_report_enabled",
    "fraud_report_blocks_user",
    "trusted_ip_ranges",
    "reregistration_grace_days",
    "session_idle_minutes",
    "session_absolute_hours",
    "display_name",
    "accent_colour",
    "help_desk_url",
    "custom_settings_url",
    "default_language",
    "default_country",
]


class RangesField(forms.CharField):
    """One CIDR range per line (IPv4 or IPv6), stored as a list."""

    widget = forms.Textarea(
        attrs={
            "rows": 3,
            "spellcheck": "false",
            # An example of the format (documentation ranges), one per line.
            "placeholder": gettext_lazy("192.0.2.0/24\n2001:db8::/32"),
        }
    )

    def prepare_value(self, value: object) -> object:
        return "\n".join(value) if isinstance(value, list) else value

    def to_python(self, value: object) -> list[str]:
        ranges = [line.strip() for line in str(value or "").splitlines() if line.strip()]
        for item in ranges:
            try:
                ipaddress.ip_network(item, strict=False)
            except ValueError:
                raise forms.ValidationError(
                    _("%(range)s is not an IPv4 or IPv6 range such as 192.0.2.0/24."),
                    params={"range": item},
                ) from None
        return [str(ipaddress.ip_network(item, strict=False)) for item in ranges]


class PolicyForm(forms.ModelForm):
    """Every label is a whole sentence an administrator can read on its own."""

    allowed_methods = forms.MultipleChoiceField(
        label=gettext_lazy("People may verify with these methods:"),
        choices=base.policy_kind_choices,
        widget=forms.CheckboxSelectMultiple,
    )
    trusted_ip_ranges = RangesField(
        label=gettext_lazy("Sign-ins from these address ranges need no second factor."),
        help_text=gettext_lazy(
            "One range per line, in CIDR form, such as 192.0.2.0/24 or 2001:db8::/32. Only a "
            "person's own address counts: the address of a VPN, mail server or other "
            "integration never does. Its report of the person's address counts only if the "
            "API client is marked as trusted to report it."
        ),
        required=False,
    )
    # A link typed without a scheme is taken as https.
    help_desk_url = forms.URLField(
        label=gettext_lazy("People who need help are sent to this help desk link."),
        required=False,
        assume_scheme="https",
    )
    custom_settings_url = forms.URLField(
        label=gettext_lazy("Your organisation's own settings portal is at this link."),
        required=False,
        assume_scheme="https",
    )
    logo_file = forms.FileField(
        label=gettext_lazy("Upload a logo (PNG or SVG, up to 256 KB)."), required=False
    )
    remove_logo = forms.BooleanField(label=gettext_lazy("Remove the current logo."), required=False)

    class Meta:
        model = Organisation
        fields = POLICY_FIELDS
        widgets = {"accent_colour": forms.TextInput(attrs={"type": "color"})}
        labels = {
            "require_mfa": gettext_lazy(
                "Everyone must use two-step verification, whatever their own setting."
            ),
            "allow_app_passwords": gettext_lazy(
                "People may create app passwords for apps that cannot ask for a second factor."
            ),
            "remember_device_days": gettext_lazy(
                "How many days may a browser skip the second factor after “Don't ask again”?"
            ),
            "reregistration_grace_days": gettext_lazy(
                "How many days may people asked to register again do so without an access code?"
            ),
            "lockout_threshold": gettext_lazy(
                "How many wrong attempts lock a person's second factor?"
            ),
            "lockout_window_minutes": gettext_lazy(
                "Over how many minutes are wrong attempts counted?"
            ),
            "lockout_duration_minutes": gettext_lazy("How many minutes does a lockout last?"),
            "fraud_report_enabled": gettext_lazy(
                "People may report a verification they did not start as fraud."
            ),
            "fraud_report_blocks_user": gettext_lazy("A fraud report blocks the person's account."),
            "session_idle_minutes": gettext_lazy(
                "After how many minutes without activity is a person signed out?"
            ),
            "session_absolute_hours": gettext_lazy("How many hours may a session last at most?"),
            "display_name": gettext_lazy("The name people see on the sign-in pages."),
            "accent_colour": gettext_lazy("The colour of buttons and links."),
        }

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.fields["default_language"] = forms.ChoiceField(
            label=gettext_lazy("Pages use this language for people who have not chosen one."),
            choices=languages.organisation_choices(),
            required=False,
        )
        self.fields["default_country"] = forms.ChoiceField(
            label=gettext_lazy(
                "Phone numbers typed without a country code are taken to be in this country."
            ),
            choices=[
                (country.code, country.label)
                for country in phones.countries(languages.geocoder_language())
            ],
        )

    def clean_logo_file(self) -> tuple[bytes, str] | None:
        upload = self.cleaned_data.get("logo_file")
        if not upload:
            return None
        if upload.size > logos.MAX_BYTES:
            raise forms.ValidationError(_("A logo can be at most 256 KB."))
        data = upload.read(logos.MAX_BYTES + 1)
        try:
            return data, logos.check(data)
        except InvalidInput as refused:
            raise forms.ValidationError(refused.message) from None


def _changes(before: dict[str, object], after: dict[str, object]) -> dict[str, object]:
    def shown(value: object) -> object:
        return safe_text(str(value)) if isinstance(value, str | list) else value

    return {
        field: {"before": shown(before[field]), "after": shown(after[field])}
        for field in POLICY_FIELDS
        if before[field] != after[field]
    }


@transaction.atomic
def save_policy(organisation: Organisation, form: PolicyForm, *, actor) -> dict[str, object]:
    """Save the form's policy in one transaction, audited with what changed (before/after)."""
    locked = Organisation.objects.select_for_update().get(pk=organisation.pk)
    before = {field: getattr(locked, field) for field in POLICY_FIELDS}
    updated = form.save(commit=False)
    logo = form.cleaned_data.get("logo_file")
    if logo:
        updated.logo, updated.logo_content_type = logo
    elif form.cleaned_data.get("remove_logo"):
        updated.logo, updated.logo_content_type = None, ""
    updated.save()
    changes = _changes(before, {field: getattr(updated, field) for field in POLICY_FIELDS})
    if logo or form.cleaned_data.get("remove_logo"):
        changes["logo"] = {"before": "", "after": "replaced" if logo else "removed"}
    if changes:
        record(
            AuditAction.POLICY_CHANGED,
            AuditResult.SUCCESS,
            organisation=updated,
            actor=actor,
            changes=changes,
        )
    return changes


@never_cache
@admin_required
@require_http_methods(["GET", "POST"])
def policy(request: HttpRequest) -> HttpResponse:
    organisation = request.user.organisation
    form = PolicyForm(request.POST or None, request.FILES or None, instance=organisation)
    if request.method == "POST" and form.is_valid():
        changes = save_policy(organisation, form, actor=request.user)
        messages.success(
            request,
            _("Policy saved.") if changes else _("Nothing changed."),
        )
        return redirect("admin-policy")
    context = {
        "form": form,
        "organisation": organisation,
        "method_panels": base.policy_panels(request, organisation),  # methods' own rules
    }
    return render(request, "adminportal/policy.html", context)

"""The admin portal's directory page: the organisation's LDAP or Active Directory
connection, its group mappings, "test connection" (the first users found and how each
attribute maps) and "synchronise now" (docs/directory.md).

The service account's password is never shown back: left empty, the stored one stays."""

from __future__ import annotations

from django import forms
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from twofold.adminportal.access import admin_required
from twofold.core.errors import DependencyUnavailable, InvalidInput
from twofold.directory import services, sync
from twofold.directory.models import Directory, Effect, Preset

_ATTRIBUTES = ("username", "display_name", "email", "phone", "office_phone")


class DirectoryForm(forms.Form):
    preset = forms.ChoiceField(label=gettext_lazy("Preset"), choices=Preset.choices)
    urls = forms.CharField(
        label=gettext_lazy("Directory addresses"),
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=gettext_lazy("One a line, tried in order: ldaps://host or ldap://host."),
    )
    start_tls = forms.BooleanField(
        label=gettext_lazy("StartTLS on ldap:// addresses"), required=False, initial=True
    )
    ca_bundle = forms.CharField(
        label=gettext_lazy("CA certificates (PEM)"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=gettext_lazy("Empty: the system's certificate authorities."),
    )
    bind_dn = forms.CharField(label=gettext_lazy("Bind DN"), max_length=500)
    bind_password = forms.CharField(
        label=gettext_lazy("Bind password"),
        required=False,
        widget=forms.PasswordInput,
        help_text=gettext_lazy("Leave empty to keep the stored one."),
    )
    base_dn = forms.CharField(label=gettext_lazy("Base DN"), max_length=500)
    user_filter = forms.CharField(
        label=gettext_lazy("User filter"),
        max_length=500,
        required=False,
        help_text=gettext_lazy("Empty: the preset's."),
    )
    attr_username = forms.CharField(label=gettext_lazy("User name attribute"), required=False)
    attr_display_name = forms.CharField(
        label=gettext_lazy("Display name attribute"), required=False
    )
    attr_email = forms.CharField(label=gettext_lazy("E-mail attribute"), required=False)
    attr_phone = forms.CharField(
        label=gettext_lazy("Authentication phone attribute"), required=False
    )
    attr_office_phone = forms.CharField(
        label=gettext_lazy("Office phone attribute"), required=False
    )
    groups = forms.CharField(
        label=gettext_lazy("Group mappings"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=gettext_lazy(
            "One a line: enforced, enabled, disabled or admin, then = and the group's DN."
        ),
    )


def _initial(directory: Directory | None) -> dict[str, object]:
    if directory is None:
        return {"preset": Preset.ACTIVE_DIRECTORY, "start_tls": True}
    values: dict[str, object] = {
        name: getattr(directory, name)
        for name in ("preset", "urls", "start_tls", "ca_bundle", "bind_dn", "base_dn")
    }
    values["user_filter"] = directory.user_filter
    for name in _ATTRIBUTES:
        values[f"attr_{name}"] = getattr(directory, f"attr_{name}")
    values["groups"] = "\n".join(
        f"{mapping.effect}={mapping.group_dn}" for mapping in directory.groups.order_by("pk")
    )
    return values


def _page(request: HttpRequest, form: DirectoryForm, status: int = 200, **extra) -> HttpResponse:
    directory = Directory.objects.filter(organisation=request.user.organisation).first()
    context = {"form": form, "directory": directory, "effects": Effect.values, **extra}
    return render(request, "adminportal/directory.html", context, status=status)


@never_cache
@admin_required
@require_GET
def directory_page(request: HttpRequest) -> HttpResponse:
    directory = Directory.objects.filter(organisation=request.user.organisation).first()
    return _page(request, DirectoryForm(initial=_initial(directory)))


@never_cache
@admin_required
@require_POST
def save(request: HttpRequest) -> HttpResponse:
    form = DirectoryForm(request.POST)
    if not form.is_valid():
        return _page(request, form)
    data = form.cleaned_data
    try:
        mappings = _mappings(data["groups"])
        directory = services.configure(
            request.user.organisation,
            urls=data["urls"].splitlines(),
            bind_dn=data["bind_dn"],
            base_dn=data["base_dn"],
            preset=data["preset"],
            bind_password=data["bind_password"] or None,
            start_tls=data["start_tls"],
            ca_bundle=data["ca_bundle"],
            actor=request.user,
            user_filter=data["user_filter"],
            **{f"attr_{name}": data[f"attr_{name}"] for name in _ATTRIBUTES},
        )
        services.set_groups(directory, mappings)
    except InvalidInput as refused:
        form.add_error(refused.field if refused.field in form.fields else None, refused.message)
        return _page(request, form)
    return _page(
        request, DirectoryForm(initial=_initial(directory)), saved=_("The directory is saved.")
    )


def _mappings(text: str) -> list[tuple[str, str]]:
    pairs = []
    for line in text.splitlines():
        if not line.strip():
            continue
        effect, sep, dn = line.partition("=")
        if not sep or effect.strip() not in Effect.values or not dn.strip():
            raise InvalidInput(
                _("Write each mapping as enforced, enabled, disabled or admin, = and a DN."),
                field="groups",
            )
        pairs.append((effect.strip(), dn.strip()))
    return pairs


def _configured(request: HttpRequest) -> Directory | None:
    return Directory.objects.filter(organisation=request.user.organisation).first()


@never_cache
@admin_required
@require_POST
def test(request: HttpRequest) -> HttpResponse:
    """Bind and show the first users found: which address answered and what maps where."""
    directory = _configured(request)
    form = DirectoryForm(initial=_initial(directory))
    if directory is None:
        return _page(request, form, problem=_("Save the directory first."))
    try:
        url, samples = services.check_connection(directory)
    except DependencyUnavailable as down:
        return _page(request, form, status=503, problem=down.message)
    except InvalidInput as refused:
        return _page(request, form, problem=refused.message)
    return _page(request, form, answered=url, samples=samples)


@never_cache
@admin_required
@require_POST
def synchronise(request: HttpRequest) -> HttpResponse:
    """Synchronise now, as the command does, and show the report."""
    directory = _configured(request)
    form = DirectoryForm(initial=_initial(directory))
    if directory is None:
        return _page(request, form, problem=_("Save the directory first."))
    try:
        report = sync.synchronise(directory, dry_run="dry_run" in request.POST, actor=request.user)
    except DependencyUnavailable as down:
        return _page(request, form, status=503, problem=down.message)
    except InvalidInput as refused:
        return _page(request, form, problem=refused.message)
    return _page(request, form, report=report)

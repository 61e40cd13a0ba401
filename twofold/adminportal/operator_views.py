"""The operator's pages, under /operator/: organisations are made, listed and suspended in
the product, as ``twofold createorg`` and ``twofold createuser`` do on the command line.

Views are thin: ``operations`` and ``organisations.services`` hold the rules and the audit.
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from twofold.adminportal import operations
from twofold.adminportal.access import operator_required
from twofold.audit import forwarding
from twofold.core.errors import InvalidInput
from twofold.organisations import services as organisations
from twofold.organisations.models import Organisation


class OrganisationForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("Name"), max_length=120)
    domain = forms.CharField(
        label=gettext_lazy("Domain"),
        max_length=253,
        help_text=gettext_lazy("Its people's user names end with it, such as fabrikam.example."),
    )
    admin_username = forms.CharField(
        label=gettext_lazy("First administrator's user name"),
        max_length=254,
        help_text=gettext_lazy("Such as admin@fabrikam.example."),
    )
    admin_display_name = forms.CharField(
        label=gettext_lazy("First administrator's name"), max_length=150, required=False
    )


FIELDS = {"domain": "domain", "admin_username": "admin_username", "name": "name", "slug": "name"}


@never_cache
@operator_required
@require_GET
def organisation_list(request: HttpRequest) -> HttpResponse:
    context = {
        "organisations": list(operations.overview()),
        # The installation's own SIEM destinations (from the environment) and their state.
        "siem_states": forwarding.states_of(None),
    }
    return render(request, "adminportal/operator_organisations.html", context)


@never_cache
@operator_required
@require_http_methods(["GET", "POST"])
def organisation_create(request: HttpRequest) -> HttpResponse:
    """Make an organisation and its first administrator; show their set-password link once."""
    form = OrganisationForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            opened = operations.open_organisation(
                name=data["name"],
                domain=data["domain"],
                admin_username=data["admin_username"],
                admin_display_name=data["admin_display_name"],
                actor=request.user,
            )
        except InvalidInput as refused:
            form.add_error(FIELDS.get(refused.field or ""), refused.message)
        else:
            return render(request, "adminportal/operator_created.html", {"opened": opened})
    return render(request, "adminportal/operator_create.html", {"form": form})


def _organisation_or_404(organisation_id: int) -> Organisation:
    found = Organisation.objects.filter(pk=organisation_id).first()
    if found is None:
        raise Http404
    return found


@never_cache
@operator_required
@require_POST
def organisation_suspend(request: HttpRequest, organisation_id: int) -> HttpResponse:
    """Ask first; then its people, API clients and applications are refused until resumed."""
    organisation = _organisation_or_404(organisation_id)
    resume = request.POST.get("resume") == "on"
    if request.POST.get("confirmed") != "on":
        context = {"organisation": organisation, "resume": resume}
        return render(request, "adminportal/operator_confirm.html", context)
    try:
        if resume:
            organisations.resume(organisation, actor=request.user)
            messages.success(request, _("%(name)s is active again.") % {"name": organisation.name})
        else:
            organisations.suspend(organisation, actor=request.user)
            messages.success(request, _("%(name)s is suspended.") % {"name": organisation.name})
    except InvalidInput as refused:
        messages.error(request, refused.message)
    return redirect("operator-organisations")

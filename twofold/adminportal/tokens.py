"""The admin portal's hardware tokens: the organisation's stock, uploads and assignment.

Everything is scoped to the administrator's organisation: a token of another one is
"not found", exactly like a token that doesn't exist, and the attempt is audited.
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

from twofold.accounts.models import User
from twofold.adminportal import uploads
from twofold.adminportal.access import admin_required
from twofold.audit.models import AuditAction, AuditResult
from twofold.audit.services import record
from twofold.core.errors import InvalidInput, NotFound
from twofold.methods.oath import importing, services
from twofold.methods.oath.models import HardwareToken

#: How many rows of each kind the import report lists (the counts are always complete).
REPORT_ROWS_SHOWN = 500


class UploadForm(forms.Form):
    file = forms.FileField(
        label=gettext_lazy("CSV file"),
        help_text=gettext_lazy(
            "UTF-8, at most 5 MB, with a header row. Columns: user name, serial number, "
            "secret key (hex or Base32), time interval (30 or 60), manufacturer, model. "
            "Leave the user name empty to keep a token in stock."
        ),
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,text/csv"}),
    )


class AssignForm(forms.Form):
    username = forms.CharField(
        label=gettext_lazy("User name"),
        max_length=254,
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )


def token_or_404(admin: User, token_id: int) -> HardwareToken:
    """A token of the administrator's organisation; anyone else's is "not found" (and audited)."""
    token = HardwareToken.objects.select_related("user", "organisation").filter(pk=token_id).first()
    if token is None:
        raise Http404
    if token.organisation_id != admin.organisation_id:
        record(
            AuditAction.ADMIN_ACCESS_DENIED,
            AuditResult.DENIED,
            actor=admin,
            reason="hardware token of another organisation",
        )
        raise Http404
    return token


def _list_page(request: HttpRequest, upload_form: UploadForm, status: int = 200) -> HttpResponse:
    admin = request.user
    query = request.GET.get("q", "")[:64]
    page = services.page_of(
        services.stock(admin.organisation, query),
        after=request.GET.get("after", "")[:64],
        before=request.GET.get("before", "")[:64],
    )
    context = {"page": page, "q": query, "upload_form": upload_form}
    return render(request, "adminportal/tokens.html", context, status=status)


@never_cache
@admin_required
@require_GET
def token_list(request: HttpRequest) -> HttpResponse:
    return _list_page(request, UploadForm())


def _too_large(request: HttpRequest) -> HttpResponse:
    form = uploads.refused_form(UploadForm, "file", importing.too_large_message())
    return _list_page(request, form, status=413)


@never_cache
@admin_required
@require_POST
@uploads.refuse_large_uploads(lambda: importing.MAX_BYTES, _too_large)
def upload(request: HttpRequest) -> HttpResponse:
    """Import a vendor's CSV file; show which rows were added and why others were refused."""
    form = UploadForm(request.POST, request.FILES)
    if not form.is_valid():
        return _list_page(request, form)
    # Read one byte past the limit, no more: the service refuses the file as too large.
    data = form.cleaned_data["file"].read(importing.MAX_BYTES + 1)
    try:
        report = importing.import_tokens(request.user.organisation, data, request.user)
    except importing.ImportRefused as refused:
        form.add_error("file", refused.message)
        return _list_page(request, form)
    context = {
        "report": report,
        "imported": report.imported[:REPORT_ROWS_SHOWN],
        "refused": report.refused[:REPORT_ROWS_SHOWN],
        "limit": REPORT_ROWS_SHOWN,
    }
    return render(request, "adminportal/tokens_import.html", context)


def _detail_page(request: HttpRequest, token: HardwareToken, form: AssignForm) -> HttpResponse:
    return render(request, "adminportal/tokens_detail.html", {"token": token, "form": form})


@never_cache
@admin_required
@require_GET
def token_detail(request: HttpRequest, token_id: int) -> HttpResponse:
    return _detail_page(request, token_or_404(request.user, token_id), AssignForm())


@never_cache
@admin_required
@require_POST
def assign(request: HttpRequest, token_id: int) -> HttpResponse:
    """Give the token to one of the organisation's users, by user name."""
    token = token_or_404(request.user, token_id)
    form = AssignForm(request.POST)
    if form.is_valid():
        try:
            token = services.assign(token, form.cleaned_data["username"], actor=request.user)
        except NotFound:
            raise Http404 from None
        except InvalidInput as refused:
            if refused.field != "username":
                messages.error(request, refused.message)
                return redirect("admin-hardware-token", token_id=token.pk)
            form.add_error("username", refused.message)
        else:
            messages.success(
                request,
                _("The token is assigned to %(name)s. It counts once they activate it.")
                % {"name": token.user.username},
            )
            return redirect("admin-hardware-token", token_id=token.pk)
    return _detail_page(request, token, form)


@never_cache
@admin_required
@require_http_methods(["GET", "POST"])
def unassign(request: HttpRequest, token_id: int) -> HttpResponse:
    """Ask, then take the token back from its user into the stock."""
    token = token_or_404(request.user, token_id)
    if request.method == "GET":
        if token.user is None:
            return redirect("admin-hardware-token", token_id=token.pk)
        return render(request, "adminportal/tokens_unassign.html", {"token": token})
    try:
        services.unassign(token, actor=request.user)
    except NotFound:
        raise Http404 from None
    except InvalidInput as refused:
        messages.error(request, refused.message)
    else:
        messages.success(request, _("The token is back in stock. Its codes no longer work."))
    return redirect("admin-hardware-token", token_id=token.pk)


@never_cache
@admin_required
@require_http_methods(["GET", "POST"])
def delete(request: HttpRequest, token_id: int) -> HttpResponse:
    """Ask, then delete the token from the stock."""
    token = token_or_404(request.user, token_id)
    if request.method == "POST":
        try:
            services.delete(token, actor=request.user)
        except NotFound:
            raise Http404 from None
        messages.success(request, _("The token %(serial)s is deleted.") % {"serial": token.serial})
        return redirect("admin-hardware-tokens")
    return render(request, "adminportal/tokens_delete.html", {"token": token})

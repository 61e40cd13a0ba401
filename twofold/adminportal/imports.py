"""The admin portal's user import: upload a CSV file, read the report, take the links once.

The set-password links are never stored: they exist only in the answer to the upload,
either on the result page or, when the administrator asks for it (or the import is too
big for a page), in a CSV file downloaded as that answer. If that answer is lost (the
upload interrupted after some batches committed), uploading the file again gives the
users created without a password a new link and voids the old (see importing.py).
"""

from __future__ import annotations

import io

from django import forms
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from twofold.administration import importing
from twofold.adminportal import uploads
from twofold.adminportal.access import admin_required

MAX_LINKS_ON_PAGE = 500  # more created users than this: the results always download
MAX_REFUSALS_ON_PAGE = 1000


class ImportForm(forms.Form):
    file = forms.FileField(
        label=gettext_lazy("CSV file"),
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,text/csv"}),
    )
    download = forms.BooleanField(
        required=False,
        label=gettext_lazy(
            "Download the results as a CSV file (each person's set-password link, and why "
            "any row was refused) instead of showing them on the page"
        ),
    )

    def clean_file(self) -> object:
        upload = self.cleaned_data["file"]
        if upload.size > importing.MAX_BYTES:
            raise forms.ValidationError(importing.too_large_message())
        return upload


def _too_large(request: HttpRequest) -> HttpResponse:
    form = uploads.refused_form(ImportForm, "file", importing.too_large_message())
    return _form_page(request, form, status=413)


@never_cache
@admin_required
@require_http_methods(["GET", "POST"])
@uploads.refuse_large_uploads(lambda: importing.MAX_BYTES, _too_large)
def import_users(request: HttpRequest) -> HttpResponse:
    """Import into the administrator's own organisation, and hand over the links once."""
    if request.method == "GET":
        return _form_page(request, ImportForm())
    form = ImportForm(request.POST, request.FILES)
    if not form.is_valid():
        return _form_page(request, form, status=400)
    try:
        report = importing.import_users(
            request.user.organisation, form.cleaned_data["file"], actor=request.user
        )
    except importing.ImportFileError as refused:
        form.add_error("file", refused.message)
        return _form_page(request, form, status=400)
    if form.cleaned_data["download"] or len(report.links) > MAX_LINKS_ON_PAGE:
        return _results_csv(report)
    context = {
        "report": report,
        "refused": report.refused[:MAX_REFUSALS_ON_PAGE],
        "refused_not_shown": max(0, len(report.refused) - MAX_REFUSALS_ON_PAGE),
        "link_days": _link_days(),
    }
    return render(request, "adminportal/import_result.html", context)


def _form_page(request: HttpRequest, form: ImportForm, status: int = 200) -> HttpResponse:
    context = {
        "form": form,
        "columns": importing.COLUMNS,
        "max_megabytes": importing.MAX_BYTES // (1024 * 1024),
        "max_rows": importing.MAX_ROWS,
        "max_links_on_page": MAX_LINKS_ON_PAGE,
        "link_days": _link_days(),
    }
    return render(request, "adminportal/import.html", context, status=status)


def _results_csv(report: importing.ImportReport) -> HttpResponse:
    out = io.StringIO()
    importing.write_results_csv(report, out)
    response = HttpResponse(out.getvalue(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="import-results.csv"'
    return response


def _link_days() -> int:
    return settings.PASSWORD_RESET_TIMEOUT // (24 * 3600)

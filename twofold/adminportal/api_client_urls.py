"""Placeholder: filled in by its feature."""

from django.http import HttpResponse
from django.urls import path

from twofold.adminportal.access import admin_required


@admin_required
def _not_yet(request):
    return HttpResponse("Coming soon")


urlpatterns = [
    path("", _not_yet, name="admin-api-clients"),
]

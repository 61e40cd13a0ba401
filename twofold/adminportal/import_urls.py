"""Importing users from a CSV file, under /admin-portal/import/."""

from django.urls import path

from twofold.adminportal import imports

urlpatterns = [
    path("", imports.import_users, name="admin-import"),
]

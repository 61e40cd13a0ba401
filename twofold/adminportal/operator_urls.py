"""The operator's pages, under /operator/ (see operator_views)."""

from django.urls import path

from twofold.adminportal import operator_views

urlpatterns = [
    path("", operator_views.organisation_list, name="operator-organisations"),
    path(
        "organisations/new", operator_views.organisation_create, name="operator-organisation-create"
    ),
    path(
        "organisations/<int:organisation_id>/suspension",
        operator_views.organisation_suspend,
        name="operator-organisation-suspend",
    ),
]

"""The admin portal's API clients, under /admin-portal/api-clients/."""

from django.urls import path

from twofold.adminportal import api_clients

urlpatterns = [
    path("", api_clients.client_list, name="admin-api-clients"),
    path("new", api_clients.create, name="admin-api-client-create"),
    path("<int:client_id>/revoke", api_clients.revoke, name="admin-api-client-revoke"),
    path("<int:client_id>/reporting", api_clients.reporting, name="admin-api-client-reporting"),
]

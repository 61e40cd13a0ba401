"""The admin portal's RADIUS clients, under /admin-portal/radius-clients/."""

from django.urls import path

from twofold.adminportal import radius_clients

urlpatterns = [
    path("", radius_clients.client_list, name="admin-radius-clients"),
    path("new", radius_clients.create, name="admin-radius-client-create"),
    path("<int:client_id>/delete", radius_clients.delete, name="admin-radius-client-delete"),
]

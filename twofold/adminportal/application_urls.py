"""The admin portal's applications (OpenID Connect sign-in), under /admin-portal/applications/."""

from django.urls import path

from twofold.adminportal import applications

urlpatterns = [
    path("", applications.application_list, name="admin-applications"),
    path("new", applications.register, name="admin-application-new"),
    path("<int:application_id>", applications.detail, name="admin-application"),
    path("<int:application_id>/edit", applications.edit, name="admin-application-edit"),
    path("<int:application_id>/secret", applications.new_secret, name="admin-application-secret"),
    path("<int:application_id>/delete", applications.delete, name="admin-application-delete"),
]

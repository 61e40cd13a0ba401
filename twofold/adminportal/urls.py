"""The admin portal, under /admin-portal/."""

from django.urls import include, path
from django.views.generic import RedirectView

from twofold.adminportal import auditlog, directory, policy, siem, views
from twofold.adminportal.access import admin_required

urlpatterns = [
    # Every page, this redirect included, passes the administrators' check (admin_required).
    path(
        "",
        admin_required(RedirectView.as_view(pattern_name="admin-users")),
        name="admin-home",
    ),
    path("users", views.user_list, name="admin-users"),
    path("users/bulk", views.bulk, name="admin-users-bulk"),
    path("users/<int:user_id>", views.user_detail, name="admin-user"),
    path("users/<int:user_id>/<slug:action>", views.user_action, name="admin-user-action"),
    path(
        "users/<int:user_id>/remove/<slug:method>/<int:item_id>",
        views.user_remove,
        name="admin-user-remove",
    ),
    path("policy", policy.policy, name="admin-policy"),
    path("audit", auditlog.audit_log, name="admin-audit"),
    path("audit.csv", auditlog.audit_csv, name="admin-audit-csv"),
    path("siem", siem.siem, name="admin-siem"),
    path("siem/new", siem.add, name="admin-siem-add"),
    path("siem/syslog/new", siem.add_syslog, name="admin-siem-add-syslog"),
    path("siem/<int:webhook_id>/remove", siem.remove, name="admin-siem-remove"),
    path("directory", directory.directory_page, name="admin-directory"),
    path("directory/save", directory.save, name="admin-directory-save"),
    path("directory/test", directory.test, name="admin-directory-test"),
    path("directory/sync", directory.synchronise, name="admin-directory-sync"),
    path("hardware-tokens/", include("twofold.adminportal.token_urls")),
    path("import/", include("twofold.adminportal.import_urls")),
    path("api-clients/", include("twofold.adminportal.api_client_urls")),
    path("radius-clients/", include("twofold.adminportal.radius_client_urls")),
    path("applications/", include("twofold.adminportal.application_urls")),
]

"""Passkeys' pages: added, renamed and deleted from the settings page; passwordless
sign-in from the first sign-in page."""

from django.urls import path

from twofold.methods.passkeys import views

urlpatterns = [
    path("add", views.add, name="passkeys-add"),
    path("add/options", views.add_options, name="passkeys-add-options"),
    path("<int:passkey_id>/rename", views.rename, name="passkeys-rename"),
    path("<int:passkey_id>/delete", views.delete, name="passkeys-delete"),
    path(
        "admin/users/<int:user_id>/<int:passkey_id>/remove",
        views.admin_remove,
        name="passkeys-admin-remove",
    ),
    path("admin/policy", views.admin_policy, name="passkeys-admin-policy"),
    path("signin/options", views.signin_options, name="passkeys-signin-options"),
    path("signin", views.signin, name="passkeys-signin"),
]

"""Passkeys' pages: added, renamed and deleted from the settings page; passwordless
sign-in from the first sign-in page."""

from django.urls import path

from twofold.methods.passkeys import views

urlpatterns = [
    path("add", views.add, name="passkeys-add"),
    path("add/options", views.add_options, name="passkeys-add-options"),
    path("<int:passkey_id>/rename", views.rename, name="passkeys-rename"),
    path("<int:passkey_id>/delete", views.delete, name="passkeys-delete"),
    path("signin/options", views.signin_options, name="passkeys-signin-options"),
    path("signin", views.signin, name="passkeys-signin"),
]

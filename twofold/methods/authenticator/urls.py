"""The authenticator app's pages, under /account/security-verification/authenticator/:
setting up an app and activating the twofold Authenticator (from either host,
methods/enrolment.py), and deleting an app."""

from django.urls import path

from twofold.methods.authenticator import views

urlpatterns = [
    path("setup", views.setup, name="authenticator-setup"),
    path("setup/restart", views.restart, name="authenticator-restart"),
    path("activate", views.activate, name="authenticator-activate"),
    path("activate/status", views.activation_status, name="authenticator-activation-status"),
    path("activate/complete", views.activation_complete, name="authenticator-activation-complete"),
    path("<int:device_id>/delete", views.delete, name="authenticator-delete"),
]

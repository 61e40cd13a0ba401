from django.urls import path

from twofold.methods.authenticator import views

urlpatterns = [
    path("setup", views.setup, name="authenticator-setup"),
    path("setup/restart", views.restart, name="authenticator-restart"),
    path("activate", views.activate, name="authenticator-activate"),
    path("activate/status", views.activation_status, name="authenticator-activation-status"),
    path("<int:device_id>/delete", views.delete, name="authenticator-delete"),
]

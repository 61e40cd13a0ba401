from django.urls import path

from twofold.methods.authenticator import views

urlpatterns = [
    path("setup", views.setup, name="authenticator-setup"),
    path("setup/restart", views.restart, name="authenticator-restart"),
    path("<int:device_id>/delete", views.delete, name="authenticator-delete"),
]

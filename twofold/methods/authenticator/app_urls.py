"""The twofold Authenticator app under /authenticator/: its page, manifest, worker and API."""

from django.urls import path

from twofold.methods.authenticator import app_views

urlpatterns = [
    path("", app_views.app, name="authenticator-app"),
    path("manifest.webmanifest", app_views.manifest, name="authenticator-manifest"),
    path("sw.js", app_views.service_worker, name="authenticator-sw"),
    path("api/activate", app_views.activate, name="authenticator-api-activate"),
    path("api/pending", app_views.pending, name="authenticator-api-pending"),
    path("api/decisions", app_views.decide, name="authenticator-api-decide"),
]

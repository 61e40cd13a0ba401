"""The settings page's own steps, under /account/security-verification/."""

from django.urls import path

from twofold.selfservice import views

urlpatterns = [
    path(
        "restore-trusted-devices",
        views.restore_trusted_devices,
        name="restore-trusted-devices",
    ),
    path("sign-out-everywhere", views.sign_out_everywhere, name="sign-out-everywhere"),
]

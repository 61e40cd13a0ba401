"""The settings page's own steps, under /account/security-verification/."""

from django.urls import path

from twofold.selfservice import views

urlpatterns = [
    path("verify-phone", views.verify_phone, name="verify-phone"),
    path("verify-phone/complete", views.verify_phone_complete, name="verify-phone-complete"),
    path("verify-phone/resend", views.verify_phone_resend, name="verify-phone-resend"),
    path("verify-phone/cancel", views.cancel_phone_change, name="verify-phone-cancel"),
    path(
        "restore-trusted-devices",
        views.restore_trusted_devices,
        name="restore-trusted-devices",
    ),
    path("sign-out-everywhere", views.sign_out_everywhere, name="sign-out-everywhere"),
]

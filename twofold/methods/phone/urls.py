"""The phone's pages, under /account/security-verification/: adding an authentication
phone (from either host, methods/enrolment.py) and proving a saved new number."""

from django.urls import path

from twofold.methods.phone import views

urlpatterns = [
    path("phone/add", views.enrol, name="phone-enrol"),
    path("phone/add/verify", views.enrol_verify, name="phone-enrol-verify"),
    path("phone/add/complete", views.enrol_complete, name="phone-enrol-complete"),
    path("verify-phone", views.verify_phone, name="verify-phone"),
    path("verify-phone/complete", views.verify_phone_complete, name="verify-phone-complete"),
    path("verify-phone/resend", views.verify_phone_resend, name="verify-phone-resend"),
    path("verify-phone/cancel", views.cancel_phone_change, name="verify-phone-cancel"),
]

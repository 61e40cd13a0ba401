"""The second step of signing in, under /signin/."""

from django.urls import path

from twofold.signin import register, views

urlpatterns = [
    path("verify", views.signin_verify, name="signin-verify"),
    path("verify/start", views.signin_verify_start, name="signin-verify-start"),
    path("verify/complete", views.signin_verify_complete, name="signin-verify-complete"),
    path("register", register.register, name="signin-register"),
]

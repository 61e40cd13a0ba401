"""The second step of signing in, under /signin/."""

from django.urls import path

from twofold.signin import register, views

urlpatterns = [
    path("verify", views.signin_verify, name="signin-verify"),
    path("verify/start", views.signin_verify_start, name="signin-verify-start"),
    path("verify/complete", views.signin_verify_complete, name="signin-verify-complete"),
    path("register", register.register, name="signin-register"),
    path("register/app", register.register_app, name="signin-register-app"),
    path("register/app/restart", register.register_app_restart, name="signin-register-app-restart"),
    path("register/push", register.register_push, name="signin-register-push"),
    path(
        "register/push/complete",
        register.register_push_complete,
        name="signin-register-push-complete",
    ),
    path("register/push/status", register.register_push_status, name="signin-register-push-status"),
]

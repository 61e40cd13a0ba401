"""The whole URL map, top to bottom."""

from django.urls import include, path

from twofold.accounts import views as accounts
from twofold.selfservice import views as selfservice
from twofold.signin import views as signin
from twofold.web import views as web

urlpatterns = [
    path("", web.home, name="home"),
    # Password sign-in: user name, then password.
    path("signin", accounts.signin_username, name="signin"),
    path("signin/password", accounts.signin_password, name="signin-password"),
    path("language", accounts.choose_language, name="choose-language"),
    path("signin/another-account", accounts.forget_username, name="signin-another-account"),
    path("signin/", include("twofold.signin.urls")),
    path("signout", accounts.signout, name="signout"),
    path("account", accounts.my_account, name="my-account"),
    path("set-password/<uidb64>/<token>", accounts.SetPassword.as_view(), name="set-password"),
    path("set-password/done", accounts.set_password_done, name="set-password-done"),
    # Confirming it's the user (a recent second factor) before a change; challenge polling.
    path("account/verify", signin.step_up, name="step-up"),
    path("account/verify/start", signin.step_up_start, name="step-up-start"),
    path("account/verify/complete", signin.step_up_complete, name="step-up-complete"),
    path("challenges/<uuid:challenge_id>/status", signin.challenge_status, name="challenge-status"),
    # The security verification settings page and each method's own pages.
    path("mfasetup", selfservice.mfasetup, name="mfasetup"),
    path(
        "account/security-verification",
        selfservice.security_verification,
        name="security-verification",
    ),
    path("account/security-verification/", include("twofold.selfservice.urls")),
    path("account/security-verification/", include("twofold.methods.phone.urls")),
    path(
        "account/security-verification/authenticator/",
        include("twofold.methods.authenticator.urls"),
    ),
    path(
        "account/security-verification/hardware-token/",
        include("twofold.methods.oath.urls"),
    ),
    path(
        "account/security-verification/app-passwords/",
        include("twofold.methods.app_passwords.urls"),
    ),
    path("passkeys/", include("twofold.methods.passkeys.urls")),
    path("account/security-verification/recovery-codes/", include("twofold.methods.recovery.urls")),
    # The twofold Authenticator: the phone app for notifications and codes, and its API.
    path("authenticator/", include("twofold.methods.authenticator.app_urls")),
    # For applications: the REST API and the OpenID Connect provider.
    path("api/v1/", include("twofold.api.urls")),
    path("", include("twofold.oidc.urls")),
    # Organisation administrators.
    path("admin-portal/", include("twofold.adminportal.urls")),
    # The service's operator: organisations made, listed and suspended.
    path("operator/", include("twofold.adminportal.operator_urls")),
    # Texts and calls: gateway callbacks, and the development outbox.
    path("", include("twofold.delivery.urls")),
    # Operations.
    path("healthz", web.healthz, name="healthz"),
    path("readyz", web.readyz, name="readyz"),
    path("metrics", web.metrics_page, name="metrics"),
    path("branding/<slug:slug>.css", web.branding_css, name="branding-css"),
    path("branding/<slug:slug>/logo", web.branding_logo, name="branding-logo"),
]

handler400 = web.bad_request
handler403 = web.permission_denied
handler404 = web.page_not_found
handler500 = web.server_error

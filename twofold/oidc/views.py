"""The provider's endpoints where twofold adds to django-oauth-toolkit.

- Authorize: sign-in goes through twofold's own pages; an application of another
  organisation is refused with an error page; a demand for a second factor or a fresh
  sign-in (acr_values, max_age, prompt=login) sends the user to confirm it's them first.
- Every redirect back to the application (the code, and every error, whoever found it:
  twofold, django-oauth-toolkit or oauthlib) carries ``iss`` (RFC 9207), in
  AuthorizeView.redirect, the one way out to the client.
- "Continue": where the sign-in and step-up pages send the user back to. A form's answer
  that redirects (302) on to an application's redirect_uri is blocked by the browsers'
  CSP ``form-action 'self'``, which also governs the redirects that follow a form. So
  after a form the user lands on this page of ours (200), which moves on to the
  authorize endpoint by a meta refresh: a new navigation, not the form's.
- Discovery publishes the acr values, claims and the one flow twofold supports.
- Logout ends the twofold session (audited); its confirmation page's CSP lets its form
  lead to the application's registered post_logout_redirect_uri.
- Token and revocation: refused requests are audited (a bounded number per address);
  the token endpoint has no device flow (server.py wires the code flow only).
"""

from __future__ import annotations

import json
from urllib.parse import parse_qsl, urlsplit, urlunsplit

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.db import transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.decorators import method_decorator
from django.utils.http import urlencode
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from django.views.generic.base import TemplateResponseMixin
from oauth2_provider import views as toolkit
from oauth2_provider.exceptions import OAuthToolkitError
from oauth2_provider.http import OAuth2ResponseRedirect
from oauth2_provider.settings import oauth2_settings
from oauth2_provider.views import ConnectDiscoveryInfoView, RPInitiatedLogoutView
from oauth2_provider.views.base import BaseAuthorizationView
from oauthlib.common import add_params_to_uri

from twofold.accounts import services as accounts
from twofold.core.middleware import CONTENT_SECURITY_POLICY
from twofold.methods import base
from twofold.oidc import authn, claims, explanations, services
from twofold.oidc.models import REDIRECT_SCHEMES, Application
from twofold.signin import services as signin


def continue_url(request: HttpRequest) -> str:
    """Our page that resumes this authorization request once a form is done."""
    return f"{reverse('oidc-continue')}?{request.META.get('QUERY_STRING', '')}"


@method_decorator(never_cache, name="dispatch")
class AuthorizeView(TemplateResponseMixin, BaseAuthorizationView):
    template_name = "oidc/error.html"  # for requests too broken to answer the client
    http_method_names = ["get"]

    def render_to_response(self, context: dict, **kwargs: object) -> HttpResponse:
        """The error page: the code explained in the reader's language."""
        code = getattr(context.get("error"), "error", "")
        context = {**context, "explanation": explanations.explain(code)}
        return super().render_to_response(context, **kwargs)

    def redirect(self, redirect_to: str, application: Application | None) -> HttpResponse:
        """Every answer sent back to the client passes here: the code and every error,
        whether twofold, django-oauth-toolkit or oauthlib found it. So here it gets
        ``iss`` (RFC 9207), which discovery promises, against mix-up attacks."""
        # Only ever to a registered redirect_uri (oauthlib checked it), even for an error
        # found before the application was loaded: registration vetted its scheme.
        if oauth2_settings.COMPLIANT_BCP_RFC9700_AUTHZ_RESPONSE_ISS:
            issuer = oauth2_settings.oauth2_authorization_server_issuer(self.request)
            redirect_to = with_issuer(redirect_to, issuer)
        return OAuth2ResponseRedirect(redirect_to, REDIRECT_SCHEMES)

    def handle_no_permission(self) -> HttpResponse:
        """Not signed in: through twofold's sign-in (prompt=none answers login_required)."""
        if "none" in self.request.GET.get("prompt", "").split():
            try:
                _scopes, credentials = self.validate_authorization_request(self.request)
            except OAuthToolkitError as error:
                return self.error_response(error, application=None)
            return self._to_client(credentials, "login_required", "The user is not signed in.")
        authn.note_sent(self.request)  # a sign-in from here on is fresh for max_age
        return redirect_to_login(continue_url(self.request), settings.LOGIN_URL)

    def get(self, request: HttpRequest, *args: object, **kwargs: object) -> HttpResponse:
        try:
            scopes, credentials = self.validate_authorization_request(request)
        except OAuthToolkitError as error:
            return self.error_response(error, application=None)
        application = Application.objects.select_related("organisation").get(
            client_id=credentials["client_id"]
        )
        if request.user.organisation_id != application.organisation_id:
            return self._refused(request, application)
        if application.organisation.is_suspended:  # its users are signed out already
            return self._refused(request, application, "organisation suspended")
        unsupported = _unsupported_request_object(request)
        if unsupported is not None:
            return self._to_client(credentials, *unsupported)
        demand = _demand(request, credentials)
        if demand is None:
            return self._to_client(credentials, "invalid_request", "max_age must be a number.")
        authn.take_step_up(request)
        state = authn.of_session(request)
        lacking = authn.unmet(request, state, demand)
        if lacking is not None:
            return self._prove(request, credentials, lacking)
        credentials["twofold_authentication"] = state.as_record()
        if isinstance(credentials.get("ui_locales"), list):
            credentials["ui_locales"] = " ".join(credentials["ui_locales"])
        try:
            uri, _headers, _body, _status = self.create_authorization_response(
                request=request, scopes=" ".join(scopes), credentials=credentials, allow=True
            )
        except OAuthToolkitError as error:
            return self.error_response(error, application)
        request.session.pop(authn.SENT, None)
        services.record_sign_in(request.user, application)
        return self.redirect(uri, application)

    def _prove(self, request: HttpRequest, credentials: dict, lacking: str) -> HttpResponse:
        """Send the user to prove who they are again, or tell the client why not."""
        if "none" in request.GET.get("prompt", "").split():
            error = "interaction_required" if lacking in ("mfa", "phr") else "login_required"
            return self._to_client(credentials, error, "The user must confirm it's them.")
        options = base.options_for(request.user)
        if lacking == "phr":  # only a phishing-resistant option (a passkey) will do
            options = [option for option in options if signin.phishing_resistant(option.key)]
            if not options:
                return self._to_client(
                    credentials,
                    "unmet_authentication_requirements",
                    "The user has no phishing-resistant method (a passkey) to confirm it's them.",
                )
        if options:
            authn.note_sent(request)
            query = {"next": continue_url(request), "for": "application"}
            if lacking == "phr":
                query["only"] = "phishing_resistant"
            return redirect(f"{reverse('step-up')}?{urlencode(query)}")
        if lacking == "max_age" or request.user.must_reregister:
            # Nothing to verify with: the password again. One whom an administrator asked
            # to register again does so at sign-in (with the access code), and that proof
            # is this sign-in's second factor: the application gets its answer after it.
            accounts.sign_out(request)
            authn.note_sent(request)
            return redirect_to_login(continue_url(request), settings.LOGIN_URL)
        return self._to_client(
            credentials,
            "unmet_authentication_requirements",
            "The user has no two-step verification method to confirm it's them with.",
        )

    def _to_client(self, credentials: dict, error: str, description: str) -> HttpResponse:
        """An error answer at the client's (already validated) redirect_uri."""
        params = [("error", error), ("error_description", description)]
        if credentials.get("state"):
            params.append(("state", credentials["state"]))
        application = Application.objects.get(client_id=credentials["client_id"])
        return self.redirect(add_params_to_uri(credentials["redirect_uri"], params), application)

    def _refused(
        self,
        request: HttpRequest,
        application: Application,
        reason: str = "application of another organisation",
    ) -> HttpResponse:
        services.record_refusal(request.user, application, reason)
        context = {
            "suspended": application.organisation.is_suspended,
            "status": 403,
            "correlation_id": getattr(request, "correlation_id", ""),
            "utc_time": timezone.now(),
            "application": application,
        }
        return render(request, "oidc/refused.html", context, status=403)


def with_issuer(uri: str, issuer: str) -> str:
    """``uri`` with one ``iss`` equal to ``issuer``: in the fragment if the answer's
    parameters are there (response_mode=fragment), else in the query. One taken from the
    registered redirect_uri, or put there by the toolkit on success, is replaced."""
    parts = urlsplit(uri)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "iss"]
    fragment = [(k, v) for k, v in parse_qsl(parts.fragment, keep_blank_values=True) if k != "iss"]
    (fragment if fragment else query).append(("iss", issuer))
    return urlunsplit(parts._replace(query=urlencode(query), fragment=urlencode(fragment)))


def _unsupported_request_object(request: HttpRequest) -> tuple[str, str] | None:
    """A request object (OpenID Connect Core 6) is not supported: its parameters must be
    refused, never ignored, or the client would believe what it put there was honoured."""
    if "request" in request.GET:
        return "request_not_supported", "Request objects are not supported."
    if "request_uri" in request.GET:
        return "request_uri_not_supported", "request_uri is not supported."
    return None


def _demand(request: HttpRequest, credentials: dict) -> authn.Demand | None:
    """What the client asks for beyond a signed-in user (None: a malformed max_age)."""
    wanted = request.GET.get("acr_values", "").split()
    acr_claim = (credentials.get("claims") or {}).get("id_token", {}) or {}
    acr_claim = acr_claim.get("acr") or {}
    if isinstance(acr_claim, dict) and acr_claim.get("essential"):
        wanted += acr_claim.get("values") or [acr_claim.get("value")]
    raw_max_age = request.GET.get("max_age", "").strip()
    max_age = None
    if raw_max_age:
        if not raw_max_age.isdigit():
            return None
        max_age = int(raw_max_age)
    if "login" in request.GET.get("prompt", "").split():
        max_age = 0
    # acr_values lists what the client accepts: phr is demanded when nothing weaker is.
    phishing_resistant = claims.ACR_PHR in wanted and claims.ACR_MFA not in wanted
    return authn.Demand(
        mfa=claims.ACR_MFA in wanted, max_age=max_age, phishing_resistant=phishing_resistant
    )


@never_cache
@require_GET
def continue_authorization(request: HttpRequest) -> HttpResponse:
    """Back from a form (sign-in, confirm it's you): on to the authorize endpoint."""
    target = f"{reverse('oauth2_provider:authorize')}?{request.META.get('QUERY_STRING', '')}"
    return render(request, "oidc/continue.html", {"target": target})


class DiscoveryView(ConnectDiscoveryInfoView):
    """django-oauth-toolkit's discovery document, with what twofold adds and supports."""

    def get(self, request: HttpRequest, *args: object, **kwargs: object) -> HttpResponse:
        data = json.loads(super().get(request, *args, **kwargs).content)
        data.update(
            acr_values_supported=list(claims.ACR_VALUES),
            claims_supported=sorted(
                {"sub", "iss", "aud", "exp", "iat", "nonce", "at_hash", "auth_time"}
                | set(claims.SIGN_IN_CLAIMS)
                | set(claims.CLAIM_SCOPES)
            ),
            grant_types_supported=["authorization_code", "refresh_token"],
            response_modes_supported=["query"],
            request_parameter_supported=False,
            request_uri_parameter_supported=False,
            id_token_signing_alg_values_supported=["RS256"],
            revocation_endpoint=self._get_endpoint_url(request, "revoke-token", required=True),
        )
        response = JsonResponse(data)
        response["Access-Control-Allow-Origin"] = "*"
        return response


class _AuditsRefusals:
    """A refused request (4xx) is audited, at most so often per address (services)."""

    kind = ""

    def audit_refusal(self, request: HttpRequest, response: HttpResponse) -> HttpResponse:
        if 400 <= response.status_code < 500:
            services.record_refused_token_request(
                services.client_id_from(
                    request.POST.get("client_id"), request.headers.get("Authorization")
                ),
                self.kind or request.POST.get("grant_type", ""),
                response.content,
            )
        return response


class TokenView(_AuditsRefusals, toolkit.TokenView):
    def post(self, request: HttpRequest, *args: object, **kwargs: object) -> HttpResponse:
        # The toolkit's own branch for the device flow is skipped: every grant type goes
        # to the server, which knows only the code flow's. One transaction: a code's grant
        # is locked from its check to its deletion (validators.validate_code).
        with transaction.atomic():
            response = self.authorization_flow_token_response(request)
        return self.audit_refusal(request, response)


class RevokeTokenView(_AuditsRefusals, toolkit.RevokeTokenView):
    kind = "revocation"

    def post(self, request: HttpRequest, *args: object, **kwargs: object) -> HttpResponse:
        return self.audit_refusal(request, super().post(request, *args, **kwargs))


class UserInfoView(toolkit.UserInfoView):
    def _create_userinfo_response(self, request: HttpRequest) -> HttpResponse:
        # RFC 9700 §4.3.2: never in the URL, where logs and histories keep it. (The
        # toolkit's gate for this covers protected resources, not this endpoint.)
        if "access_token" in request.GET:
            error = {"error": "invalid_request", "error_description": "Send the access token "
                     "in the Authorization header."}  # fmt: skip
            return JsonResponse(error, status=400)
        return super()._create_userinfo_response(request)


class LogoutView(RPInitiatedLogoutView):
    template_name = "oidc/logout_confirm.html"

    def get(self, request: HttpRequest, *args: object, **kwargs: object) -> HttpResponse:
        response = super().get(request, *args, **kwargs)
        target = request.GET.get("post_logout_redirect_uri")
        if response.status_code == 200 and target:
            # The confirmation form: its answer redirects to this (validated) address.
            response["Content-Security-Policy"] = csp_with_form_action_to(target)
        return response

    def do_logout(
        self, application=None, post_logout_redirect_uri=None, state=None, token_user=None
    ):
        signed_in = self.request.user if self.request.user.is_authenticated else None
        if signed_in is not None:
            accounts.sign_out(self.request)  # audited; the session ends here
        if not post_logout_redirect_uri:
            # Nowhere to go back to: twofold's start page. (The toolkit's own fallback
            # allows https only: on an http address, such as make run's, the user, already
            # signed out, got a 400 page.) Our schemes come from the model, not the instance.
            post_logout_redirect_uri = self.request.build_absolute_uri(reverse("home"))
            application, state = application or Application(), None
        return super().do_logout(
            application, post_logout_redirect_uri, state, token_user or signed_in
        )


def csp_with_form_action_to(url: str) -> str:
    """The site's CSP, with a form's answer also allowed to lead to ``url``'s origin."""
    parts = urlsplit(url)
    origin = f"{parts.scheme}://{parts.netloc}"
    return CONTENT_SECURITY_POLICY.replace("form-action 'self'", f"form-action 'self' {origin}")

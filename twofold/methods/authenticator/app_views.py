"""The twofold Authenticator web app (/authenticator/) and the small JSON API it talks to.

The API uses no cookies: activation is authorised by its one-time code, polling and
decisions by the device key's signature. So it needs no CSRF token and may be called
from an Authenticator served by another twofold server (CORS, without credentials).

The app follows the phone's language (issue 10): its page, manifest and API answers are
in the language of the request's Accept-Language only. A language cookie or a signed-in
person's setting from the settings pages, in the same browser, does not change it, so
the page Django renders agrees with the catalogue the app's JavaScript picks from
``navigator.languages`` (which is what browsers send as Accept-Language).
"""

from __future__ import annotations

import base64
import functools
import json
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.templatetags.static import static
from django.urls import reverse
from django.utils import translation
from django.utils.cache import patch_vary_headers
from django.utils.translation import gettext as _
from django.utils.translation.trans_real import parse_accept_lang_header
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET

from twofold.core import dependencies
from twofold.core.errors import DependencyUnavailable, InvalidInput, RateLimited, TwofoldError
from twofold.methods.authenticator import activation, push

_MAX_BODY = 4096
_CORS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Methods": "GET, POST, OPTIONS",
    "Access-Control-Allow-Headers": "Accept-Language, Content-Type, X-Twofold-Device, "
    "X-Twofold-Time, X-Twofold-Nonce, X-Twofold-Signature",
    "Access-Control-Max-Age": "600",
}


# --- The phone's language ---------------------------------------------------------------


def phone_language(request: HttpRequest) -> str:
    """The first supported language of the request's Accept-Language, else the default."""
    for code, _quality in parse_accept_lang_header(request.headers.get("Accept-Language", "")):
        if code == "*":
            break
        try:
            return translation.get_supported_language_variant(code)
        except LookupError:
            continue
    return settings.LANGUAGE_CODE


def _in_phone_language(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: object, **kwargs: object) -> HttpResponse:
        language = phone_language(request)
        request.LANGUAGE_CODE = language
        with translation.override(language):
            response = view(request, *args, **kwargs)
        response["Content-Language"] = language
        patch_vary_headers(response, ("Accept-Language",))
        return response

    return wrapper


# --- The app itself ----------------------------------------------------------------------


@require_GET
@_in_phone_language
def app(request: HttpRequest) -> HttpResponse:
    """The app's one page; everything else happens in its JavaScript."""
    return render(request, "authenticator/app/index.html")


@require_GET
@_in_phone_language
def manifest(request: HttpRequest) -> HttpResponse:
    """Built here rather than from a template: its texts are translated and JSON-escaped."""
    home = reverse("authenticator-app")
    icon = static("authenticator/icon.svg")
    body = {
        "name": _("twofold Authenticator"),
        "short_name": _("Authenticator"),
        "description": _("Approve sign-ins and show verification codes."),
        "lang": translation.get_language(),
        "start_url": home,
        "scope": home,
        "display": "standalone",
        "orientation": "portrait",
        "background_color": "#f3f5f8",
        "theme_color": "#0b5cad",
        "icons": [
            {"src": icon, "sizes": "any", "type": "image/svg+xml", "purpose": purpose}
            for purpose in ("any", "maskable")
        ],
    }
    return JsonResponse(
        body, content_type="application/manifest+json", json_dumps_params={"ensure_ascii": False}
    )


@require_GET
def service_worker(request: HttpRequest) -> HttpResponse:
    """Served from /authenticator/ so that its scope is the app's (not /static/)."""
    response = render(request, "authenticator/app/sw.js", content_type="text/javascript")
    response["Cache-Control"] = "no-cache"
    return response


# --- Its API ------------------------------------------------------------------------------


def _json_api(view: Callable[[HttpRequest], dict]) -> Callable[[HttpRequest], HttpResponse]:
    """CORS, no caching, and every refusal as ``{"error", "message"}`` with its status."""

    @csrf_exempt
    @never_cache
    @_in_phone_language
    def wrapper(request: HttpRequest) -> HttpResponse:
        if request.method == "OPTIONS":
            response = HttpResponse(status=204)
        else:
            try:
                response = JsonResponse(view(request))
            except (TwofoldError, *dependencies.ERRORS) as failed:
                refused = _refusal(request, failed)
                response = JsonResponse(
                    {"error": refused.code, "message": refused.message, "server_time": push.now()},
                    status=refused.status,
                )
                if isinstance(refused, RateLimited | DependencyUnavailable):
                    response["Retry-After"] = str(refused.retry_after)
        for header, value in _CORS.items():
            response[header] = value
        return response

    wrapper.__name__ = view.__name__
    wrapper.__doc__ = view.__doc__
    return wrapper


def _refusal(request: HttpRequest, failed: Exception) -> TwofoldError:
    """A service's refusal as it is; a database or cache that is down as a 503."""
    if isinstance(failed, TwofoldError):
        if isinstance(failed, DependencyUnavailable):  # the encryption keys
            dependencies.report_request(request, failed, failed.__cause__)
        return failed
    down = dependencies.unavailable(failed)
    dependencies.report_request(request, down, failed)
    return down


def _body(request: HttpRequest, method: str = "POST") -> dict:
    if request.method != method:
        raise InvalidInput(_("Send this request with %(method)s.") % {"method": method})
    if len(request.body) > _MAX_BODY:
        raise InvalidInput(_("The request is too large."))
    try:
        body = json.loads(request.body or b"{}")
    except (ValueError, UnicodeDecodeError):
        raise InvalidInput(_("Send a JSON object.")) from None
    if not isinstance(body, dict):
        raise InvalidInput(_("Send a JSON object."))
    return body


def _text(body: dict, key: str) -> str:
    value = body.get(key, "")
    if not isinstance(value, str):
        raise InvalidInput(_("The value of %(name)s must be text.") % {"name": key}, field=key)
    return value


@_json_api
def activate(request: HttpRequest) -> dict:
    """A new app: its activation code and public key in, its account and TOTP seed out."""
    body = _body(request)
    device, secret = activation.activate(
        _text(body, "code"), _text(body, "public_key"), _text(body, "name"), _text(body, "platform")
    )
    user = device.user
    return {
        "device": device.pk,
        "name": device.name,
        "organisation": user.organisation.shown_name,
        "user": user.username,
        "totp": {
            "secret": base64.urlsafe_b64encode(secret).decode("ascii").rstrip("="),
            "digits": device.digits,
            "period": device.period,
            "algorithm": device.algorithm.upper(),
        },
        "server_time": push.now(),
    }


def _integer(value: object, name: str) -> int:
    try:
        return int(str(value))
    except ValueError:
        raise InvalidInput(
            _("The value of %(name)s must be a whole number.") % {"name": name}, field=name
        ) from None


@_json_api
def pending(request: HttpRequest) -> dict:
    """The sign-in requests waiting for this device's answer (a signed GET)."""
    if request.method != "GET":
        raise InvalidInput(_("Send this request with %(method)s.") % {"method": "GET"})
    headers = request.headers
    device = push.authenticate_poll(
        _integer(headers.get("X-Twofold-Device", ""), "device"),
        "GET",
        request.path,
        _integer(headers.get("X-Twofold-Time", ""), "time"),
        headers.get("X-Twofold-Nonce", ""),
        headers.get("X-Twofold-Signature", ""),
    )
    return {"requests": push.pending_for(device), "server_time": push.now()}


@_json_api
def decide(request: HttpRequest) -> dict:
    """Approve (with the number typed), deny, or report fraud: signed by the device key."""
    body = _body(request)
    challenge = push.decide(
        body.get("device"),
        _text(body, "challenge"),
        _text(body, "decision"),
        _text(body, "number"),
        body.get("time"),
        _text(body, "signature"),
    )
    return {"state": challenge.state}

"""The twofold Authenticator web app (/authenticator/) and the small JSON API it talks to.

The API uses no cookies: activation is authorised by its one-time code, polling and
decisions by the device key's signature. So it needs no CSRF token and may be called
from an Authenticator served by another twofold server (CORS, without credentials).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET

from twofold.core.errors import InvalidInput, RateLimited, TwofoldError
from twofold.methods.authenticator import activation, push

_MAX_BODY = 4096
_CORS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Methods": "GET, POST, OPTIONS",
    "Access-Control-Allow-Headers": "Content-Type, X-Twofold-Device, X-Twofold-Time, "
    "X-Twofold-Nonce, X-Twofold-Signature",
    "Access-Control-Max-Age": "600",
}


# --- The app itself ----------------------------------------------------------------------


@require_GET
def app(request: HttpRequest) -> HttpResponse:
    """The app's one page; everything else happens in its JavaScript."""
    return render(request, "authenticator/app/index.html")


@require_GET
def manifest(request: HttpRequest) -> HttpResponse:
    return render(
        request, "authenticator/app/manifest.webmanifest", content_type="application/manifest+json"
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
    def wrapper(request: HttpRequest) -> HttpResponse:
        if request.method == "OPTIONS":
            response = HttpResponse(status=204)
        else:
            try:
                response = JsonResponse(view(request))
            except TwofoldError as refused:
                response = JsonResponse(
                    {"error": refused.code, "message": refused.message, "server_time": push.now()},
                    status=refused.status,
                )
                if isinstance(refused, RateLimited):
                    response["Retry-After"] = str(refused.retry_after)
        for header, value in _CORS.items():
            response[header] = value
        return response

    wrapper.__name__ = view.__name__
    wrapper.__doc__ = view.__doc__
    return wrapper


def _body(request: HttpRequest, method: str = "POST") -> dict:
    if request.method != method:
        raise InvalidInput(f"Use {method}.")
    if len(request.body) > _MAX_BODY:
        raise InvalidInput("The request is too large.")
    try:
        body = json.loads(request.body or b"{}")
    except (ValueError, UnicodeDecodeError):
        raise InvalidInput("Send a JSON object.") from None
    if not isinstance(body, dict):
        raise InvalidInput("Send a JSON object.")
    return body


def _text(body: dict, key: str) -> str:
    value = body.get(key, "")
    if not isinstance(value, str):
        raise InvalidInput(f"{key} must be text.", field=key)
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
        raise InvalidInput(f"{name} must be a whole number.", field=name) from None


@_json_api
def pending(request: HttpRequest) -> dict:
    """The sign-in requests waiting for this device's answer (a signed GET)."""
    if request.method != "GET":
        raise InvalidInput("Use GET.")
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

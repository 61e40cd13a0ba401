"""Every failure of the REST API as one JSON shape, in one place.

    {"error": "<code>", "message": "<for people>", "correlation_id": "<id>"}

Services raise ``TwofoldError`` subclasses (their ``status`` and ``code`` are the answer);
django-ninja's own failures (unparsable JSON, schema validation, a missing token) and
Django's (an unknown path, a wrong method, a body too large) are turned into the same
shape here, so no bad input ever reaches Django's HTML error pages or a 500. A database or
cache that does not answer is a 503 with Retry-After (``core.dependencies``).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.core.exceptions import RequestDataTooBig
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.utils.translation import gettext as _
from ninja import NinjaAPI, Schema
from ninja.errors import AuthenticationError, HttpError, ValidationError

from twofold.api.invalid import sentence
from twofold.core import context, dependencies
from twofold.core.errors import DependencyUnavailable, RateLimited, TwofoldError

log = logging.getLogger(__name__)

#: Request bodies larger than this are refused with 413 before anything reads them.
MAX_BODY_BYTES = 64 * 1024
#: Every status an operation can answer with besides its success: 400 for input that is
#: not valid (fields missing or of the wrong type, values refused, a NUL character), 422
#: for a body that is not a JSON object at all.
ERROR_STATUSES = frozenset({400, 401, 403, 404, 413, 422, 429, 503})
_CODES = {
    400: "invalid_input",
    401: "unauthenticated",
    403: "not_allowed",
    404: "not_found",
    405: "method_not_allowed",
    409: "already_exists",
    413: "too_large",
    422: "invalid_body",
    429: "rate_limited",
}


class ErrorOut(Schema):
    error: str
    message: str
    correlation_id: str


def error_response(
    request: HttpRequest, status: int, code: str, message: str, **headers: str
) -> JsonResponse:
    correlation_id = getattr(request, "correlation_id", "") or context.current().correlation_id
    call = getattr(request, "auth", None)
    if hasattr(call, "error"):
        call.error = code  # the call's audit event says why it failed
    response = JsonResponse(
        {"error": code, "message": str(message), "correlation_id": correlation_id},
        status=status,
    )
    for name, value in headers.items():
        response[name.replace("_", "-")] = value
    return response


def _twofold_error(request: HttpRequest, exc: TwofoldError) -> HttpResponse:
    if isinstance(exc, DependencyUnavailable):  # raised as such: a directory, the keys
        dependencies.report_request(request, exc, exc.__cause__)
    return _refused(request, exc)


def _refused(request: HttpRequest, exc: TwofoldError) -> HttpResponse:
    if isinstance(exc, RateLimited | DependencyUnavailable):
        return error_response(
            request, exc.status, exc.code, exc.message, Retry_After=str(exc.retry_after)
        )
    return error_response(request, exc.status, exc.code, exc.message)


def _where(location: tuple[Any, ...]) -> str:
    # ("body", "body", "minutes") for a body parameter named body: keep what a client sent.
    parts = [str(part) for part in location]
    if len(parts) > 1 and parts[0] == parts[1] == "body":
        parts = parts[1:]
    return ".".join(parts)


def _validation_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    problems = [f"{_where(error.get('loc', ()))}: {sentence(error)}" for error in exc.errors]
    message = "; ".join(problems[:5]) or _("The request is not valid.")
    return error_response(request, 400, "invalid_input", message)


def _http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    if isinstance(exc, AuthenticationError):
        return error_response(
            request,
            401,
            "unauthenticated",
            _("Send a valid API client token: Authorization: Bearer tf_…"),
            WWW_Authenticate='Bearer realm="twofold"',
        )
    if exc.status_code == 400:
        return error_response(request, 400, "invalid_json", _("The body is not valid JSON."))
    code = _CODES.get(exc.status_code, "error")
    return error_response(request, exc.status_code, code, str(exc))


def _not_found(request: HttpRequest, exc: Exception) -> HttpResponse:
    return error_response(request, 404, "not_found", _("Not found."))


def _too_large(request: HttpRequest, exc: Exception) -> HttpResponse:
    return too_large(request)


def _unexpected(request: HttpRequest, exc: Exception) -> HttpResponse:
    down = dependencies.unavailable(exc)  # the database or the cache does not answer: 503
    if down is not None:
        dependencies.report_request(request, down, exc)
        return _refused(request, down)  # reported once, with the error it stands for
    log.exception("API call failed", exc_info=exc)
    return error_response(
        request,
        500,
        "server_error",
        _("Something went wrong on our side. Quote the correlation ID to your help desk."),
    )


def install(api: NinjaAPI) -> None:
    """Answer every exception an operation raises with the JSON error shape."""
    api.add_exception_handler(TwofoldError, _twofold_error)
    api.add_exception_handler(ValidationError, _validation_error)
    api.add_exception_handler(HttpError, _http_error)
    api.add_exception_handler(Http404, _not_found)
    api.add_exception_handler(RequestDataTooBig, _too_large)
    api.add_exception_handler(Exception, _unexpected)


def too_large(request: HttpRequest) -> JsonResponse:
    return error_response(
        request,
        413,
        "too_large",
        _("The request body is larger than %(size)d KB.") % {"size": MAX_BODY_BYTES // 1024},
    )


def _declared_length(request: HttpRequest) -> int:
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return 0  # Django reads no body at all for a length it cannot parse


def guarded(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Wrap an API view: refuse large bodies unread, and answer a wrong method in JSON."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if _declared_length(request) > MAX_BODY_BYTES:
            return too_large(request)
        if _holds_nul(request):
            return error_response(
                request,
                400,
                "invalid_input",
                _("Text may not contain NUL characters."),
            )
        if _not_an_object(request.body):
            return error_response(
                request, 422, "invalid_body", _("The body must be a JSON object: {…}.")
            )
        response = view(request, *args, **kwargs)
        if response.status_code == 405:
            return error_response(
                request,
                405,
                "method_not_allowed",
                _("This method is not allowed here."),
                Allow=response.get("Allow", ""),
            )
        return response

    wrapper.csrf_exempt = True  # type: ignore[attr-defined]  # bearer tokens, no cookies
    return wrapper


def _holds_nul(request: HttpRequest) -> bool:
    """A NUL character anywhere in the path, the query or the body (raw or as a JSON
    escape): no field takes one, and PostgreSQL refuses it in text."""
    query = (value for _key, values in request.GET.lists() for value in values)
    if "\x00" in request.path or any("\x00" in value for value in query):
        return True
    body = request.body
    return b"\x00" in body or b"\\u0000" in body.lower()


def _not_an_object(body: bytes) -> bool:
    """A body that is JSON but not an object (``[]``, ``1``, ``null``, ``"x"``): no
    operation takes one. Unparsable JSON is left to the operation (400 invalid_json)."""
    if not body.strip():
        return False
    try:
        return not isinstance(json.loads(body), dict)
    except (ValueError, RecursionError):  # not JSON (or nested too deep): invalid_json
        return False


def unknown_path(request: HttpRequest, *args: Any, **kwargs: Any) -> JsonResponse:
    """Anything under /api/v1/ that is not an operation."""
    if _declared_length(request) > MAX_BODY_BYTES:
        return too_large(request)
    return error_response(request, 404, "not_found", _("There is no such API operation."))


unknown_path.csrf_exempt = True  # type: ignore[attr-defined]

"""Request-wide middleware: correlation IDs, the Content-Security-Policy and the request log."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from django.core.exceptions import BadRequest
from django.http import HttpRequest, HttpResponse, QueryDict

from twofold.core import context

CORRELATION_HEADER = "X-Correlation-ID"

# No inline script or style anywhere: everything comes from our own static files.
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)

request_log = logging.getLogger("twofold.request")


class CorrelationIdMiddleware:
    """Give every request a correlation ID, expose it in a header and in the request context."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request_context = context.from_request(request)
        request.correlation_id = request_context.correlation_id
        request.client_address = request_context.client_address
        token = context.activate(request_context)
        try:
            response = self.get_response(request)
        finally:
            context.deactivate(token)
        response[CORRELATION_HEADER] = request_context.correlation_id
        return response


class ContentSecurityPolicyMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        response.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        return response


class RequestLogMiddleware:
    """One structured line per request: the route pattern, never the raw path or query.

    Paths can hold one-time tokens (set-password links, activation codes), so the log
    names the matched URL pattern instead.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        response = self.get_response(request)
        match = getattr(request, "resolver_match", None)
        request_log.info(
            "request",
            extra={
                "method": request.method,
                "route": match.route if match else None,
                "status": response.status_code,
                "duration_ms": round((time.perf_counter() - started) * 1000, 1),
                "client_address": getattr(request, "client_address", None),
            },
        )
        return response


class RefuseNulMiddleware:
    """A NUL character in a page's path, query or form is a 400, before any view runs.

    No field takes one, forms already refuse them, and PostgreSQL refuses NUL in text, so
    a raw query parameter (a search, a paging cursor) holding one would otherwise end in a
    database error. The REST API answers the same in its own JSON shape (api.errors).
    A view marked ``reads_body_late`` (an upload that first refuses an over-size body from
    its Content-Length) calls ``refuse_nul_in_form`` itself, after that check.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not request.path.startswith("/api/") and _holds_nul(request.path, request.GET):
            raise BadRequest("a NUL character in the request")
        return self.get_response(request)

    def process_view(
        self, request: HttpRequest, view: Callable[..., HttpResponse], *args: object
    ) -> None:
        if not request.path.startswith("/api/") and not getattr(view, "reads_body_late", False):
            refuse_nul_in_form(request)


def refuse_nul_in_form(request: HttpRequest) -> None:
    """BadRequest if a posted form field holds a NUL (this reads, and parses, the body)."""
    posted = request.method == "POST" and request.content_type in _FORM_TYPES
    if posted and _holds_nul("", request.POST):
        raise BadRequest("a NUL character in the request")


def _holds_nul(path: str, data: QueryDict) -> bool:
    return "\x00" in path or any(
        "\x00" in value for _key, values in data.lists() for value in values
    )


_FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")

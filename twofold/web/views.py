"""Pages that belong to no feature: home, health checks, branding CSS, and the error pages."""

from __future__ import annotations

from django.db import connection
from django.db.utils import DatabaseError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template import loader
from django.utils import timezone
from django.views.decorators.cache import cache_control, never_cache
from django.views.decorators.http import require_GET

from twofold.core.errors import RateLimited
from twofold.organisations import services as organisations
from twofold.organisations.models import Organisation


def home(request: HttpRequest) -> HttpResponse:
    return redirect("my-account" if request.user.is_authenticated else "signin")


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """The process is alive (no dependency is touched)."""
    return JsonResponse({"status": "ok"})


@never_cache
@require_GET
def readyz(request: HttpRequest) -> JsonResponse:
    """The process can serve: its database answers."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError:
        return JsonResponse({"status": "unavailable", "database": "down"}, status=503)
    return JsonResponse({"status": "ok", "database": "ok"})


@require_GET
@cache_control(max_age=300)
def branding_css(request: HttpRequest, slug: str) -> HttpResponse:
    """The organisation's accent colour as a stylesheet (the CSP forbids inline styles)."""
    organisation = get_object_or_404(Organisation, slug=slug)
    css = f":root {{ --accent: {organisation.accent_colour}; }}\n"
    return HttpResponse(css, content_type="text/css; charset=utf-8")


@require_GET
@cache_control(max_age=300)
def branding_logo(request: HttpRequest, slug: str) -> HttpResponse:
    """The organisation's logo, sandboxed: even an SVG can run nothing here."""
    organisation = get_object_or_404(Organisation, slug=slug)
    if not organisation.logo:
        raise Http404
    response = HttpResponse(bytes(organisation.logo), content_type=organisation.logo_content_type)
    response["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'; sandbox"
    response["X-Content-Type-Options"] = "nosniff"
    return response


def _error(request: HttpRequest, status: int, template: str, **extra: object) -> HttpResponse:
    context = {
        "status": status,
        "correlation_id": getattr(request, "correlation_id", ""),
        "utc_time": timezone.now(),
        # Halfway through a sign-in the organisation is known: keep its branding and
        # help-desk link on the error page too.
        "organisation": organisations.of_session(request),
        **extra,
    }
    return render(request, template, context, status=status)


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return _error(request, 400, "400.html")


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return _error(request, 403, "403.html")


def page_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return _error(request, 404, "404.html")


def server_error(request: HttpRequest) -> HttpResponse:
    # Rendered without context processors: the failure may be the database they would query.
    context = {
        "status": 500,
        "correlation_id": getattr(request, "correlation_id", ""),
        "utc_time": timezone.now(),
        "viewer_organisation": None,
    }
    return HttpResponse(loader.render_to_string("500.html", context), status=500)


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    return _error(request, 403, "403_csrf.html")


def too_many_requests(request: HttpRequest, limited: RateLimited) -> HttpResponse:
    """A full-page refusal, for where no page of a flow can say it inline (the message is
    shown once: a queued message saying the same is left out)."""
    response = _error(request, 429, "429.html", message=limited.message, shown=limited.message)
    response["Retry-After"] = str(limited.retry_after)
    return response

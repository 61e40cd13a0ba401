"""Pages that belong to no feature: home, health checks, branding CSS, and the error pages."""

from __future__ import annotations

import logging
import sys

from django.db.utils import DatabaseError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template import loader
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import cache_control, never_cache
from django.views.decorators.http import require_GET

from twofold.core import context, dependencies, metrics
from twofold.core.errors import DependencyUnavailable, RateLimited
from twofold.organisations import services as organisations
from twofold.organisations.models import Organisation

log = logging.getLogger(__name__)


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
    """The process can serve: its database and its cache answer, and its encryption keys
    open what the database stores (503 names the one down, so that a load balancer stops
    sending people to a server that would fail them)."""
    states = dependencies.readiness()
    ready = all(state == "ok" for state in states.values())
    return JsonResponse(
        {"status": "ok" if ready else "unavailable", **states}, status=200 if ready else 503
    )


_PLAIN = "text/plain; charset=utf-8"


@never_cache
@require_GET
def metrics_page(request: HttpRequest) -> HttpResponse:
    """Prometheus metrics, for the callers TWOFOLD_METRICS_TOKEN or _ALLOWED let in."""
    status = metrics.access(
        request.headers.get("Authorization", ""), context.current().client_address
    )
    if status == 404:
        raise Http404
    if status == 401:
        response = HttpResponse(_("A valid metrics token is needed."), _PLAIN, status=401)
        response["WWW-Authenticate"] = 'Bearer realm="twofold metrics"'
        return response
    if status == 403:
        return HttpResponse(_("Metrics are not open to this address."), _PLAIN, status=403)
    body, content_type = metrics.exposition(request.headers.get("Accept", ""))
    return HttpResponse(body, content_type=content_type)


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
    # A session that could not be saved because the database is down reaches here as
    # SessionInterrupted (a BadRequest): that is a 503 too.
    down = dependencies.unavailable(exception)
    if down is not None:
        return service_unavailable(request, down, exception)
    return _error(request, 400, "400.html")


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return _error(request, 403, "403.html")


def page_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return _error(request, 404, "404.html")


def server_error(request: HttpRequest) -> HttpResponse:
    """The 500 page, or the 503 page when the failure is a dependency that is down."""
    failure = sys.exception()  # Django calls this handler while handling the exception
    down = dependencies.unavailable(failure)
    if down is not None:
        return service_unavailable(request, down, failure)
    _report_failure(request, failure)
    # Rendered without context processors: the failure may be the database they would query.
    context = {
        "status": 500,
        "correlation_id": getattr(request, "correlation_id", ""),
        "utc_time": timezone.now(),
        "viewer_organisation": None,
    }
    response = HttpResponse(loader.render_to_string("500.html", context), status=500)
    response._has_been_logged = True  # Django's own line would print the raw path
    return response


def _report_failure(request: HttpRequest, failure: BaseException | None) -> None:
    """The error line of a page that failed: the method and the route pattern with the
    traceback, never the raw path or query (they can hold one-time tokens), as the
    request log does (core/middleware.RequestLogMiddleware)."""
    match = getattr(request, "resolver_match", None)
    log.error(
        "page failed",
        exc_info=failure,
        extra={"method": request.method, "route": match.route if match else None},
    )


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    return _error(request, 403, "403_csrf.html")


def too_many_requests(request: HttpRequest, limited: RateLimited) -> HttpResponse:
    """A full-page refusal, for where no page of a flow can say it inline (the message is
    shown once: a queued message saying the same is left out)."""
    response = _error(request, 429, "429.html", message=limited.message, shown=limited.message)
    response["Retry-After"] = str(limited.retry_after)
    return response


# Where programs, not browsers, call: the REST API, and the OpenID Connect provider's
# token, userinfo and revocation endpoints and discovery documents, whose clients read an
# error from JSON (RFC 6749 section 5.2). The authorize and logout pages are a browser's.
_JSON_PATHS = ("/api/", "/oauth2/token", "/oauth2/userinfo", "/oauth2/revoke", "/.well-known/")


def service_unavailable(
    request: HttpRequest, down: DependencyUnavailable, failure: BaseException | None = None
) -> HttpResponse:
    """503 with Retry-After: the page (in the organisation's branding when it is known),
    or, where programs call (``_JSON_PATHS``), the API's JSON error shape."""
    dependencies.report_request(request, down, failure)
    correlation_id = getattr(request, "correlation_id", "")
    if request.path.startswith(_JSON_PATHS):  # the API: failed outside its handler (api.errors)
        body = {"error": down.code, "message": down.message, "correlation_id": correlation_id}
        response: HttpResponse = JsonResponse(body, status=503)
    else:
        # Without context processors (they would ask the database and the session).
        context = {
            "status": 503,
            "message": down.message,
            "correlation_id": correlation_id,
            "utc_time": timezone.now(),
            "organisation": _known_organisation(request, down),
            "viewer_organisation": None,
        }
        response = HttpResponse(loader.render_to_string("503.html", context), status=503)
    response["Retry-After"] = str(down.retry_after)
    response._has_been_logged = True  # reported above, without the raw path (it may hold tokens)
    return response


def _known_organisation(request: HttpRequest, down: DependencyUnavailable) -> Organisation | None:
    """The organisation a view named (``request.organisation``) or the signed-in user's,
    when the database still answers; else None (the page falls back to twofold's look)."""
    organisation = getattr(request, "organisation", None)
    if isinstance(organisation, Organisation) or down.dependency == "database":
        return organisation
    user = getattr(request, "_cached_user", None)  # only a user already loaded: no new query
    if user is None or not user.is_authenticated:
        return None
    try:
        return user.organisation
    except DatabaseError:  # the branding is a nicety: the 503 page must render regardless
        return None

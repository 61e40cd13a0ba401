import io
import json
import logging
import re
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from django.test import Client, override_settings
from django.urls import path

import twofold.urls
from twofold.audit.models import AuditAction, AuditEvent, AuditResult
from twofold.audit.services import record
from twofold.core.logging import CorrelationIdFilter, JsonFormatter


def _boom(request, **kwargs):
    raise RuntimeError("deliberate failure for the test")


def _log_and_record(request):
    from django.http import HttpResponse

    logging.getLogger("twofold.test").info("inside the view")
    record(AuditAction.SIGNOUT, AuditResult.SUCCESS, actor_label="test")
    return HttpResponse("ok")


urlpatterns = [
    path("boom", _boom),
    path("boom/<str:token>", _boom),
    path("log", _log_and_record),
    *twofold.urls.urlpatterns,
]
handler500 = "twofold.web.views.server_error"


@pytest.fixture
def log_lines():
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(CorrelationIdFilter())
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    finally:
        root.removeHandler(handler)


def test_every_response_carries_a_correlation_id_header(client) -> None:
    response = client.get("/healthz")
    uuid.UUID(response["X-Correlation-ID"])
    assert response["X-Correlation-ID"] != client.get("/healthz")["X-Correlation-ID"]


@pytest.mark.django_db
@override_settings(ROOT_URLCONF=__name__)
def test_log_lines_and_audit_events_carry_the_requests_correlation_id(client, log_lines) -> None:
    response = client.get("/log")
    correlation_id = response["X-Correlation-ID"]
    lines = [line for line in log_lines() if line["message"] == "inside the view"]
    assert lines[0]["correlation_id"] == correlation_id
    assert AuditEvent.objects.get().correlation_id == correlation_id


@pytest.mark.django_db
def test_the_request_log_line_names_the_route_not_the_path(client, log_lines) -> None:
    client.get("/branding/secret-looking-slug.css?token=abc")
    request_lines = [line for line in log_lines() if line["logger"] == "twofold.request"]
    assert request_lines[-1]["route"] == "branding/<slug:slug>.css"
    assert "secret-looking-slug" not in json.dumps(request_lines)
    assert "token=abc" not in json.dumps(request_lines)


def shown_utc_time(body: str) -> datetime:
    """The time an error page shows for the help desk, read as UTC."""
    found = re.search(r'data-testid="utc-time"[^>]*>([^<]+)<', body)
    assert found, "the page shows no time"
    return datetime.strptime(found.group(1), "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)


def assert_shows_the_utc_time_now(body: str) -> None:
    assert "Time (UTC)" in body
    assert abs(shown_utc_time(body) - datetime.now(UTC)) < timedelta(minutes=1)


def _assert_error_page(response, status: int) -> None:
    assert response.status_code == status
    body = response.content.decode()
    assert response["X-Correlation-ID"] in body
    assert_shows_the_utc_time_now(body)


@pytest.mark.django_db
def test_the_404_page_shows_the_correlation_id_and_utc_time(client) -> None:
    _assert_error_page(client.get("/no-such-page"), 404)


@pytest.mark.django_db
@override_settings(ROOT_URLCONF=__name__)
def test_the_500_page_shows_the_correlation_id_and_utc_time() -> None:
    client = Client(raise_request_exception=False)
    _assert_error_page(client.get("/boom"), 500)


@pytest.mark.django_db
@override_settings(ROOT_URLCONF=__name__)
def test_a_failed_page_is_logged_by_its_route_never_its_raw_path(log_lines) -> None:
    # A path can hold a one-time token (a set-password link): the error line names the
    # route pattern and keeps the traceback, and Django's own line (which prints the raw
    # path) is not written.
    client = Client(raise_request_exception=False)
    assert client.get("/boom/set-password-token-5f2a?next=/secret-query").status_code == 500
    lines = log_lines()
    assert not [line for line in lines if "set-password-token-5f2a" in json.dumps(line)]
    assert not [line for line in lines if "secret-query" in json.dumps(line)]
    failed = [line for line in lines if line.get("message") == "page failed"]
    assert len(failed) == 1
    assert failed[0]["route"] == "boom/<str:token>"
    assert "deliberate failure for the test" in failed[0]["exception"]


@pytest.mark.django_db
def test_the_csrf_failure_page_shows_the_correlation_id() -> None:
    client = Client(enforce_csrf_checks=True)
    _assert_error_page(client.post("/signin", {"username": "alice@contoso.example"}), 403)


@pytest.mark.django_db
def test_the_400_page_shows_the_correlation_id(client) -> None:
    # A Host header outside ALLOWED_HOSTS is Django's canonical bad request.
    _assert_error_page(client.get("/signin", HTTP_HOST="evil.example"), 400)


@pytest.mark.django_db
def test_the_403_page_shows_the_correlation_id(rf) -> None:
    from twofold.web.views import permission_denied

    request = rf.get("/")
    request.correlation_id = "cid-403"
    response = permission_denied(request)
    assert response.status_code == 403
    assert b"cid-403" in response.content
    assert_shows_the_utc_time_now(response.content.decode())


@pytest.mark.django_db
def test_the_429_page_shows_the_correlation_id_and_utc_time(rf) -> None:
    from twofold.core.errors import RateLimited
    from twofold.web.views import too_many_requests

    request = rf.get("/")
    request.correlation_id = "cid-429"
    response = too_many_requests(request, RateLimited(retry_after=90))
    assert (response.status_code, response["Retry-After"]) == (429, "90")
    assert b"cid-429" in response.content
    assert_shows_the_utc_time_now(response.content.decode())


@pytest.mark.django_db
def test_the_error_pages_show_utc_even_in_another_time_zone(rf) -> None:
    from django.utils import timezone

    from twofold.web.views import permission_denied

    with timezone.override("Asia/Shanghai"):  # UTC+8 all year
        response = permission_denied(rf.get("/"))
    assert_shows_the_utc_time_now(response.content.decode())

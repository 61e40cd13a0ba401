"""Prometheus metrics: /metrics is closed unless opened, and each counter moves where the
event it counts happens (the audit record path, the verification path, the 503 path)."""

from __future__ import annotations

import pytest
from django.test import RequestFactory
from prometheus_client import REGISTRY

from conftest import AUTH_NUMBER, OFFICE_NUMBER, STRONG_PASSWORD
from twofold.audit.models import AuditAction, AuditResult
from twofold.audit.services import record
from twofold.config import ConfigurationError, load
from twofold.core import context, crypto, dependencies, metrics
from twofold.core.errors import DependencyUnavailable, InvalidInput, RateLimited
from twofold.delivery.base import call_answered
from twofold.methods import verification
from twofold.methods.models import ChallengePurpose, ResetNotice
from twofold.methods.phone import services as phone_services

pytestmark = pytest.mark.django_db
TOKEN = "metrics-token-0123456789abcdef"
SIGNIN = ChallengePurpose.SIGNIN


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


@pytest.fixture
def metrics_token(settings):
    settings.TWOFOLD = {**settings.TWOFOLD, "metrics_token": TOKEN, "metrics_allowed": ()}


@pytest.fixture
def metrics_allowed(settings):
    def allow(*networks: str) -> None:
        settings.TWOFOLD = {**settings.TWOFOLD, "metrics_token": "", "metrics_allowed": networks}

    return allow


@pytest.fixture
def with_phone(user):
    phone_services.set_number(user, "authentication", AUTH_NUMBER, mode="text")
    return user


# --- Access --------------------------------------------------------------------------------


def test_metrics_are_off_by_default_and_answer_not_found(client, settings) -> None:
    settings.TWOFOLD = {**settings.TWOFOLD, "metrics_token": "", "metrics_allowed": ()}
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer anything").status_code == 404


def test_the_defaults_leave_metrics_off() -> None:
    config = load({"TWOFOLD_DATA_DIR": "/tmp/twofold-metrics-config"})
    assert (config.metrics_token, config.metrics_allowed) == ("", ())


def test_a_caller_without_the_token_is_asked_for_it(client, metrics_token) -> None:
    response = client.get("/metrics")
    assert (response.status_code, response["WWW-Authenticate"]) == (
        401,
        'Bearer realm="twofold metrics"',
    )


def test_a_wrong_token_is_refused(client, metrics_token) -> None:
    response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}x")
    assert response.status_code == 401


def test_a_token_sent_another_way_than_bearer_is_refused(client, metrics_token) -> None:
    response = client.get("/metrics", HTTP_AUTHORIZATION=f"Basic {TOKEN}")
    assert response.status_code == 401


def test_the_right_token_reads_the_metrics_in_the_prometheus_format(client, metrics_token):
    response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain; version=")
    assert b"# TYPE twofold_signins_total counter" in response.content


def test_the_token_is_compared_through_core_crypto(client, metrics_token, monkeypatch) -> None:
    compared = []

    def spy(a: str, b: str) -> bool:
        compared.append((a, b))
        return original(a, b)

    original = crypto.constant_time_equals
    monkeypatch.setattr(crypto, "constant_time_equals", spy)
    client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert compared == [(TOKEN, TOKEN)]


def test_an_allowed_network_reads_the_metrics_without_a_token(client, metrics_allowed) -> None:
    metrics_allowed("127.0.0.0/8")
    assert client.get("/metrics", REMOTE_ADDR="127.0.0.5").status_code == 200


def test_an_address_outside_the_allowed_networks_is_forbidden(client, metrics_allowed) -> None:
    metrics_allowed("10.0.0.0/8", "::1/128")
    assert client.get("/metrics", REMOTE_ADDR="127.0.0.1").status_code == 403


def test_an_ipv4_address_seen_through_ipv6_is_matched_as_itself(client, metrics_allowed) -> None:
    metrics_allowed("10.0.0.0/8")
    assert client.get("/metrics", REMOTE_ADDR="::ffff:10.0.0.7").status_code == 200


def test_a_forged_forwarded_address_does_not_open_the_metrics(client, metrics_allowed) -> None:
    metrics_allowed("10.0.0.0/8")
    response = client.get("/metrics", REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="10.0.0.1")
    assert response.status_code == 403


def test_allowed_networks_that_are_not_networks_are_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="TWOFOLD_METRICS_ALLOWED"):
        load({"TWOFOLD_DATA_DIR": "/tmp/twofold-metrics-config", "TWOFOLD_METRICS_ALLOWED": "x"})


def test_a_short_metrics_token_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="TWOFOLD_METRICS_TOKEN"):
        load({"TWOFOLD_DATA_DIR": "/tmp/twofold-metrics-config", "TWOFOLD_METRICS_TOKEN": "abc"})


# --- Each metric moves --------------------------------------------------------------------


def _signin_request():
    request = RequestFactory().post("/signin/password", REMOTE_ADDR="127.0.0.1")
    request.session = {}
    return request


def test_a_wrong_password_counts_a_failed_password_step_on_the_pages(user) -> None:
    from twofold.accounts.services import check_password

    before = sample("twofold_signins_total", step="password", result="failure", channel="pages")
    with pytest.raises(InvalidInput):
        check_password(_signin_request(), user.username, "not the password")
    after = sample("twofold_signins_total", step="password", result="failure", channel="pages")
    assert after == before + 1


def test_a_right_password_counts_a_successful_password_step(user) -> None:
    from twofold.accounts.services import check_password

    before = sample("twofold_signins_total", step="password", result="success", channel="pages")
    check_password(_signin_request(), user.username, STRONG_PASSWORD)
    after = sample("twofold_signins_total", step="password", result="success", channel="pages")
    assert after == before + 1


def test_a_sign_in_to_an_application_counts_on_the_oidc_channel(user) -> None:
    labels = {"step": "completed", "result": "success", "channel": "oidc"}
    before = sample("twofold_signins_total", **labels)
    with context.for_application("Example App"):
        record(AuditAction.SIGNIN_COMPLETED, AuditResult.SUCCESS, actor=user, subject=user)
    assert sample("twofold_signins_total", **labels) == before + 1


def test_a_sign_in_refused_by_its_limit_counts_as_rate_limited(user, settings) -> None:
    from twofold.accounts.services import check_password

    settings.TWOFOLD = {**settings.TWOFOLD, "signin_attempts_per_user": 1}
    before = sample("twofold_rate_limited_total", action="signin.rate_limited")
    with pytest.raises(InvalidInput):
        check_password(_signin_request(), user.username, "not the password")
    with pytest.raises(RateLimited):
        check_password(_signin_request(), user.username, "not the password")
    assert sample("twofold_rate_limited_total", action="signin.rate_limited") == before + 1


def test_an_integrations_check_counts_on_the_api_channel(with_phone, outbox) -> None:
    labels = {"result": "failure", "method": "text", "purpose": "api", "channel": "api"}
    before = sample("twofold_second_factor_checks_total", **labels)
    with context.for_integration("api-client:1", None):
        challenge = verification.start_challenge(with_phone, "text:authentication", "api")
        with pytest.raises(verification.WrongCode):
            verification.verify_code(with_phone, challenge.pk, outbox.wrong_code())
    assert sample("twofold_second_factor_checks_total", **labels) == before + 1


def test_a_radius_clients_request_counts_on_the_radius_channel(user) -> None:
    labels = {"step": "password", "result": "success", "channel": "radius"}
    before = sample("twofold_signins_total", **labels)
    with context.for_application("VPN"), context.for_integration("radius-client:1", None):
        record(AuditAction.SIGNIN_PASSWORD, AuditResult.SUCCESS, actor=user, subject=user)
    assert sample("twofold_signins_total", **labels) == before + 1


def test_a_started_challenge_is_counted_by_method_and_purpose(with_phone) -> None:
    labels = {"result": "success", "method": "text", "purpose": "signin", "channel": "pages"}
    before = sample("twofold_challenges_started_total", **labels)
    verification.start_challenge(with_phone, "text:authentication", SIGNIN)
    assert sample("twofold_challenges_started_total", **labels) == before + 1


def test_a_right_code_counts_a_successful_check(with_phone, outbox) -> None:
    labels = {"result": "success", "method": "text", "purpose": "signin", "channel": "pages"}
    before = sample("twofold_second_factor_checks_total", **labels)
    challenge = verification.start_challenge(with_phone, "text:authentication", SIGNIN)
    verification.verify_code(with_phone, challenge.pk, outbox.last_code())
    assert sample("twofold_second_factor_checks_total", **labels) == before + 1


def test_each_check_of_a_typed_code_is_timed_by_method(with_phone, outbox) -> None:
    before = sample("twofold_second_factor_check_seconds_count", method="text")
    challenge = verification.start_challenge(with_phone, "text:authentication", SIGNIN)
    with pytest.raises(verification.WrongCode):
        verification.verify_code(with_phone, challenge.pk, outbox.wrong_code())
    verification.verify_code(with_phone, challenge.pk, outbox.last_code())
    assert sample("twofold_second_factor_check_seconds_count", method="text") == before + 2


def test_reaching_the_threshold_counts_one_lockout(with_phone, outbox) -> None:
    before = sample("twofold_lockouts_total")
    challenge = verification.start_challenge(with_phone, "text:authentication", SIGNIN)
    for _attempt in range(with_phone.organisation.lockout_threshold):
        with pytest.raises((verification.WrongCode, verification.SecondFactorLocked)):
            verification.verify_code(with_phone, challenge.pk, outbox.wrong_code())
    assert sample("twofold_lockouts_total") == before + 1


def test_a_check_refused_while_locked_counts_as_rate_limited(with_phone, outbox) -> None:
    challenge = verification.start_challenge(with_phone, "text:authentication", SIGNIN)
    for _attempt in range(with_phone.organisation.lockout_threshold):
        with pytest.raises((verification.WrongCode, verification.SecondFactorLocked)):
            verification.verify_code(with_phone, challenge.pk, outbox.wrong_code())
    before = sample("twofold_rate_limited_total", action="challenge.verified")
    with pytest.raises(verification.SecondFactorLocked):
        verification.verify_code(with_phone, challenge.pk, outbox.last_code())
    assert sample("twofold_rate_limited_total", action="challenge.verified") == before + 1


def test_a_sent_text_is_counted_by_gateway_and_outcome(with_phone) -> None:
    labels = {"kind": "text", "gateway": "outbox", "outcome": "sent"}
    before = sample("twofold_deliveries_total", **labels)
    verification.start_challenge(with_phone, "text:authentication", SIGNIN)
    assert sample("twofold_deliveries_total", **labels) == before + 1


def test_a_text_over_a_cap_is_counted_refused(with_phone, settings) -> None:
    settings.TWOFOLD = {**settings.TWOFOLD, "resend_cooldown_seconds": 600}
    labels = {"kind": "text", "gateway": "outbox", "outcome": "refused"}
    before = sample("twofold_deliveries_total", **labels)
    verification.start_challenge(with_phone, "text:authentication", SIGNIN)
    with pytest.raises(RateLimited):
        verification.start_challenge(with_phone, "text:authentication", SIGNIN)
    assert sample("twofold_deliveries_total", **labels) == before + 1


def test_a_fraud_report_is_counted(user) -> None:
    phone_services.set_number(user, "office", OFFICE_NUMBER, "1234")
    challenge = verification.start_challenge(user, "call:office", SIGNIN)
    before = sample("twofold_fraud_reports_total")
    call_answered.send(sender=None, reference=str(challenge.pk), digits="0#")
    assert sample("twofold_fraud_reports_total") == before + 1


def test_every_audit_event_is_counted_by_action_and_result(user) -> None:
    labels = {"action": "signout", "result": "success"}
    before = sample("twofold_audit_events_total", **labels)
    record(AuditAction.SIGNOUT, AuditResult.SUCCESS, actor=user, subject=user)
    assert sample("twofold_audit_events_total", **labels) == before + 1


def test_an_unknown_method_key_is_labelled_other_never_itself(user) -> None:
    labels = {"result": "success", "method": "other", "purpose": "other", "channel": "pages"}
    before = sample("twofold_challenges_started_total", **labels)
    record(AuditAction.CHALLENGE_STARTED, AuditResult.SUCCESS, method="bob", via="whatever")
    assert sample("twofold_challenges_started_total", **labels) == before + 1


def test_a_dependency_answered_503_is_counted_by_dependency() -> None:
    before = sample("twofold_dependency_errors_total", dependency="cache")
    dependencies.report(DependencyUnavailable(dependency="cache"), None, "signin")
    assert sample("twofold_dependency_errors_total", dependency="cache") == before + 1


def _gauges() -> dict[tuple[str, tuple], float]:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in metrics.registry().collect()
        for sample in family.samples
    }


def test_challenges_are_gauged_by_their_state(with_phone) -> None:
    verification.start_challenge(with_phone, "text:authentication", SIGNIN)
    assert _gauges()[("twofold_challenges", (("state", "pending"),))] == 1


def test_queued_notices_are_gauged(user) -> None:
    ResetNotice.objects.create(user=user, number=AUTH_NUMBER, language="en")
    assert _gauges()[("twofold_queued_notices", ())] == 1


def test_the_grafana_dashboard_uses_only_the_metrics_twofold_exposes() -> None:
    import json
    import re
    from pathlib import Path

    dashboard = Path(__file__).resolve().parents[3] / "deploy" / "grafana" / "twofold.json"
    text = json.loads(dashboard.read_text())
    expressions = " ".join(t["expr"] for p in text["panels"] for t in p["targets"])
    used = set(re.findall(r"\btwofold_[a-z_]+", expressions))
    suffixes = {"counter": ("_total",), "histogram": ("_bucket", "_count", "_sum")}
    exposed = {
        family.name + suffix
        for family in metrics.registry().collect()
        for suffix in suffixes.get(family.type, ("",))
    }
    assert used - exposed == set()

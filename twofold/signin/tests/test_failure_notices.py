"""Failure notices on the second step carry what the help desk asks for: a correlation ID
and the time in UTC, as the error pages do (expired, declined, fraud, too many attempts,
account blocked). A challenge's notice shows the challenge's own ID and when it ended."""

import re
from datetime import UTC, timedelta

import pytest
from django.test import Client
from django.utils import timezone

from twofold.delivery import outbox as outbox_gateway
from twofold.delivery.base import call_answered
from twofold.methods.models import Challenge, ChallengeState
from twofold.methods.phone import services as phone_services

from .conftest import OFFICE_NUMBER, password_step

pytestmark = pytest.mark.django_db
_UTC_TIME = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$")


def support_details(page: str) -> tuple[str, str]:
    """The (correlation ID, UTC time) a page shows for the help desk."""
    found = re.search(
        r'data-testid="correlation-id">([^<]*)</dd>.*?'
        r'data-testid="utc-time" data-utc-time>([^<]*)<',
        page,
        re.DOTALL,
    )
    assert found, "no help-desk details on the page"
    return found.group(1), found.group(2)


def utc(moment) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")


@pytest.fixture
def calling(client, alice, outbox) -> Challenge:
    """A sign-in waiting for its call to the office phone to be answered."""
    phone_services.set_number(alice, "office", OFFICE_NUMBER)
    password_step(client)
    client.post("/signin/verify/start", {"option": "call:office"})
    return Challenge.objects.get(option="call:office", state=ChallengeState.PENDING)


def _ended_notice(client, challenge: Challenge) -> tuple[str, str]:
    page = client.get("/signin/verify").content.decode()
    assert 'data-testid="challenge-ended"' in page
    challenge.refresh_from_db()
    return support_details(page)


def test_an_expired_verification_shows_its_correlation_id_and_when_it_ended(
    client, calling
) -> None:
    Challenge.objects.filter(pk=calling.pk).update(expires_at=timezone.now())
    correlation_id, time = _ended_notice(client, calling)
    assert (correlation_id, time) == (calling.correlation_id, utc(calling.completed_at))


def test_a_declined_verification_shows_its_correlation_id_and_when_it_ended(
    client, calling, outbox
) -> None:
    outbox_gateway.answer_call(outbox.calls()[0].pk, outbox_gateway.Answer.DECLINE)
    correlation_id, time = _ended_notice(client, calling)
    assert calling.state == ChallengeState.DENIED
    assert (correlation_id, time) == (calling.correlation_id, utc(calling.completed_at))


def test_a_fraud_report_shows_its_correlation_id_and_when_it_ended(client, calling, alice) -> None:
    organisation = alice.organisation
    organisation.fraud_report_blocks_user = False  # so the session may still see the page
    organisation.save()
    call_answered.send(sender=None, reference=str(calling.pk), digits="0#")
    correlation_id, time = _ended_notice(client, calling)
    assert calling.state == ChallengeState.FRAUD
    assert (correlation_id, time) == (calling.correlation_id, utc(calling.completed_at))


def test_the_waiting_page_holds_the_details_for_its_notice_hidden(client, calling) -> None:
    page = client.get("/signin/verify").content.decode()
    assert "data-support-details hidden" in page
    assert support_details(page) == (calling.correlation_id, "")


def test_the_polled_state_of_a_failed_verification_says_when_it_ended(
    client, calling, outbox
) -> None:
    outbox_gateway.answer_call(outbox.calls()[0].pk, outbox_gateway.Answer.DECLINE)
    calling.refresh_from_db()
    answer = client.get(f"/challenges/{calling.pk}/status").json()
    assert answer == {"state": "denied", "ended_at": utc(calling.completed_at)}


def test_too_many_attempts_shows_the_correlation_id_and_the_time(client, alice, outbox) -> None:
    organisation = alice.organisation
    organisation.lockout_threshold = 1
    organisation.save()
    password_step(client)
    before = timezone.now().replace(microsecond=0)
    response = client.post("/signin/verify", {"code": outbox.wrong_code()})
    assert response.status_code == 429
    correlation_id, time = support_details(response.content.decode())
    assert correlation_id == response["X-Correlation-ID"]
    assert utc(before) <= time <= utc(timezone.now())


def test_the_account_blocked_notice_shows_the_correlation_id_and_the_time(client, calling) -> None:
    call_answered.send(sender=None, reference=str(calling.pk), digits="0#")  # blocks alice
    before = timezone.now().replace(microsecond=0)
    response = client.get("/signin/verify", follow=True)
    page = response.content.decode()
    assert "your account is blocked" in page
    correlation_id, time = support_details(page)
    assert correlation_id == response["X-Correlation-ID"]
    assert _UTC_TIME.match(time)
    assert utc(before) <= time <= utc(timezone.now() + timedelta(seconds=1))


def test_the_sign_in_took_too_long_notice_is_not_a_failure_notice(client, alice) -> None:
    page = Client().get("/signin/verify", follow=True).content.decode()
    assert 'data-testid="support-details"' not in page

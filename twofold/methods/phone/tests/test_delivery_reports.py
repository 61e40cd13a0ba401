"""A delivery report that the call or text never reached the person ends its challenge."""

import time

import pytest

from conftest import STRONG_PASSWORD
from twofold.audit.models import AuditAction, AuditEvent
from twofold.delivery.tests.conftest import AUTH_TOKEN, BASE_URL, post_signed
from twofold.methods import verification, waits
from twofold.methods.models import Challenge, ChallengePurpose, ChallengeState
from twofold.methods.phone import services as phone_services
from twofold.methods.stepup import VERIFIED_AT

from .conftest import OFFICE_NUMBER

pytestmark = pytest.mark.django_db
SIGNIN = ChallengePurpose.SIGNIN


def report(client, challenge: Challenge, params: dict[str, str]) -> Challenge:
    """Twilio's status callback for ``challenge``, signed by the twilio package itself."""
    response = post_signed(client, f"/delivery/twilio/status/{challenge.pk}", params)
    assert response.status_code == 204
    challenge.refresh_from_db()
    return challenge


@pytest.fixture
def twilio_settings(settings) -> None:
    """Texts and calls go to the outbox; Twilio's callbacks are checked under AUTH_TOKEN."""
    settings.TWOFOLD_BASE_URL = BASE_URL
    twilio = {**settings.TWOFOLD["twilio"], "auth_token": AUTH_TOKEN}
    settings.TWOFOLD = {**settings.TWOFOLD, "gateway": "outbox", "twilio": twilio}


@pytest.fixture
def office_call(with_phone, outbox):
    phone_services.set_number(with_phone, "office", OFFICE_NUMBER)
    return verification.start_challenge(with_phone, "call:office", SIGNIN)


@pytest.mark.parametrize("status", ["busy", "no-answer", "failed", "canceled"])
def test_a_call_that_did_not_get_through_ends_its_challenge(
    client, twilio_settings, office_call, status
) -> None:
    assert report(client, office_call, {"CallStatus": status}).state == ChallengeState.UNREACHED


def test_an_undelivered_text_ends_its_challenge(client, twilio_settings, with_phone, outbox):
    challenge = verification.start_challenge(with_phone, "text:authentication", SIGNIN)
    reported = report(client, challenge, {"MessageStatus": "undelivered"})
    assert reported.state == ChallengeState.UNREACHED


@pytest.mark.parametrize("params", [{"CallStatus": "ringing"}, {"CallStatus": "completed"}])
def test_a_call_on_its_way_or_completed_keeps_its_challenge_open(
    client, twilio_settings, office_call, params
) -> None:
    assert report(client, office_call, params).state == ChallengeState.PENDING


def test_a_late_report_does_not_undo_an_approved_call(client, twilio_settings, office_call):
    waits.resolve_wait(office_call.pk, approved=True)
    assert report(client, office_call, {"CallStatus": "busy"}).state == ChallengeState.APPROVED


def test_an_unreached_phone_is_audited(client, twilio_settings, office_call) -> None:
    report(client, office_call, {"CallStatus": "no-answer"})
    event = AuditEvent.objects.get(action=AuditAction.CHALLENGE_UNDELIVERED)
    assert (event.result, event.details["reason"]) == ("failure", "undelivered")
    assert event.details["method"] == "call:office"


def test_a_forged_report_changes_nothing(client, twilio_settings, office_call) -> None:
    path = f"/delivery/twilio/status/{office_call.pk}"
    assert client.post(path, {"CallStatus": "busy"}).status_code == 403
    office_call.refresh_from_db()
    assert office_call.state == ChallengeState.PENDING


def test_the_waiting_page_polls_the_unreached_state_and_explains_it(
    client, twilio_settings, signed_in_waiting
) -> None:
    client, challenge = signed_in_waiting
    page = client.get("/account/security-verification/verify-phone").content.decode()
    assert 'data-state="unreached"' in page
    assert "could not be completed" in page
    post_signed(client, f"/delivery/twilio/status/{challenge.pk}", {"CallStatus": "busy"})
    assert client.get(f"/challenges/{challenge.pk}/status").json()["state"] == "unreached"


@pytest.fixture
def signed_in_waiting(client, with_phone, outbox):
    """Signed in, proving a new office phone by a call from the settings page."""
    client.post("/signin", {"username": with_phone.username})
    client.post("/signin/password", {"password": STRONG_PASSWORD})
    session = client.session
    session[VERIFIED_AT] = int(time.time())
    session.save()
    client.post(
        "/account/security-verification",
        {
            "preferred_option": "call:office",
            "authentication_country": "US",
            "authentication_number": "425 555 0134",
            "authentication_mode": "text",
            "office_country": "US",
            "office_number": "425 555 0199",
            "office_extension": "",
            "alternate_country": "US",
            "alternate_number": "",
        },
    )
    return client, Challenge.objects.get(purpose=ChallengePurpose.VERIFY_NUMBER)

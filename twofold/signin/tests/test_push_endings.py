"""How a push that ended is said on the sign-in page: a wrong number is not "denied"."""

import pytest
from django.test import Client

from twofold.accounts.models import User
from twofold.methods.authenticator import activation, push
from twofold.methods.authenticator.tests.phone_app import PhoneApp
from twofold.methods.models import Challenge, ChallengeState

from .conftest import password_step

pytestmark = pytest.mark.django_db


class TestAPushApprovedWithTheWrongNumber:
    @pytest.fixture
    def pushed(self, client, alice):
        """Alice's sign-in waiting for her twofold Authenticator, and her phone."""
        app = PhoneApp()
        _issued, code = activation.issue(alice)
        app.activate(Client(), code)
        User.objects.filter(pk=alice.pk).update(preferred_option=push.APP_NOTIFICATION)
        password_step(client)
        challenge = Challenge.objects.get(user=alice, option=push.APP_NOTIFICATION)
        shown = push.number_for(challenge)
        app.decide(Client(), challenge.pk, "approve", "10" if shown != "10" else "11")
        return challenge

    def test_the_polled_state_says_the_number_did_not_match(self, client, pushed) -> None:
        answer = client.get(f"/challenges/{pushed.pk}/status").json()
        assert (answer["state"], answer["reason"]) == ("denied", "wrong_number")

    def test_the_page_says_the_number_did_not_match_not_that_it_was_denied(
        self, client, pushed
    ) -> None:
        page = client.get("/signin/verify").content.decode()
        assert "didn't match the one on this screen" in page
        assert "declined" not in page

    def test_the_page_offers_to_send_a_new_notification(self, client, pushed) -> None:
        page = client.get("/signin/verify").content.decode()
        assert f'data-testid="start-{push.APP_NOTIFICATION}"' in page
        assert 'data-testid="push-number"' not in page

    def test_a_new_notification_can_be_sent(self, client, pushed) -> None:
        client.post("/signin/verify/start", {"option": push.APP_NOTIFICATION})
        assert Challenge.objects.filter(
            option=push.APP_NOTIFICATION, state=ChallengeState.PENDING
        ).exists()

    def test_the_waiting_page_holds_the_message_for_its_script(self, client, alice) -> None:
        app = PhoneApp()
        app.activate(Client(), activation.issue(alice)[1])
        User.objects.filter(pk=alice.pk).update(preferred_option=push.APP_NOTIFICATION)
        password_step(client)
        page = client.get("/signin/verify").content.decode()
        assert 'data-state="wrong_number"' in page
        assert "data-retry hidden" in page


class TestAWaitReplacedByANewerOne:
    """A call replaced by a newer one (another tab, "Call again") ended early: its page
    must not say that nobody answered in time."""

    @pytest.fixture
    def replaced(self, client, alice, outbox, settings) -> Challenge:
        from twofold.methods.phone import services as phone_services

        from .conftest import OFFICE_NUMBER

        settings.TWOFOLD = {**settings.TWOFOLD, "resend_cooldown_seconds": 0}
        phone_services.set_number(alice, "office", OFFICE_NUMBER)
        password_step(client)
        client.post("/signin/verify/start", {"option": "call:office"})
        first = Challenge.objects.get(option="call:office", state=ChallengeState.PENDING)
        client.post("/signin/verify/start", {"option": "call:office"})
        return first

    def test_the_polled_state_says_a_newer_one_replaced_it(self, client, replaced) -> None:
        assert Challenge.objects.filter(option="call:office").count() == 2
        answer = client.get(f"/challenges/{replaced.pk}/status").json()
        assert (answer["state"], answer["reason"]) == ("expired", "stopped")

    def test_one_that_ran_out_of_time_is_expired_without_a_reason(self, client, replaced) -> None:
        from django.utils import timezone

        newest = Challenge.objects.filter(option="call:office").latest("created_at")
        Challenge.objects.filter(pk=newest.pk).update(expires_at=timezone.now())
        answer = client.get(f"/challenges/{newest.pk}/status").json()
        assert answer["state"] == "expired"
        assert "reason" not in answer

"""No dead ends and no untrue messages: a limit met halfway through signing in or
registering is said on the page the person is on, with when to try again and the ways
still open; what a page says matches what happened."""

from datetime import timedelta
from functools import partial

import pytest
from django.test import Client
from django.utils import timezone

from conftest import after_first_method
from twofold.accounts.models import MfaState, User
from twofold.methods.authenticator import services as authenticator
from twofold.methods.phone import services as phone_services
from twofold.methods.testing import prove_with_previous_step
from twofold.organisations.models import Organisation

from .conftest import OFFICE_NUMBER, password_step

pytestmark = pytest.mark.django_db

DEAD_END = "Go to the start page"


def caps(settings, **changes) -> None:
    settings.TWOFOLD = {**settings.TWOFOLD, **changes}


def add_app(user: User) -> None:
    secret = authenticator.new_secret()
    prove_with_previous_step(
        secret, partial(authenticator.add_device, user, "Alice's phone", secret)
    )


def signed_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


class TestLimitsAreSaidInline:
    def test_a_call_asked_for_within_the_cooldown_is_refused_on_the_verify_page(
        self, settings, client, alice, outbox
    ) -> None:
        caps(settings, resend_cooldown_seconds=30)
        phone_services.set_number(alice, "office", OFFICE_NUMBER)
        password_step(client)  # the automatic text to the authentication phone
        response = client.post("/signin/verify/start", {"option": "call:authentication"})
        page = response.content.decode()
        assert response.status_code == 429
        assert 'data-testid="refusal"' in page
        assert "before asking for another text" in page
        assert "Verify your identity" in page
        assert DEAD_END not in page

    def test_the_cooldown_refusal_still_offers_the_texted_code_and_the_other_ways(
        self, settings, client, alice, outbox
    ) -> None:
        caps(settings, resend_cooldown_seconds=30)
        phone_services.set_number(alice, "office", OFFICE_NUMBER)
        password_step(client)
        page = client.post("/signin/verify/start", {"option": "call:authentication"})
        page = page.content.decode()
        assert 'name="code"' in page  # the text already sent still works
        assert 'data-testid="option-call:office"' in page

    def test_the_cooldown_says_how_many_seconds_are_left(
        self, settings, client, alice, outbox
    ) -> None:
        caps(settings, resend_cooldown_seconds=30)
        password_step(client)
        response = client.post("/signin/verify/start", {"option": "call:authentication"})
        left = int(response["Retry-After"])
        assert 0 < left <= 30
        assert f"Wait {left} seconds" in response.content.decode()

    def test_the_hourly_cap_is_said_on_the_verify_page_with_the_time_it_lifts(
        self, settings, client, alice, outbox
    ) -> None:
        caps(settings, texts_per_user_per_hour=1)
        password_step(client)  # the one text this hour
        response = client.post("/signin/verify/start", {"option": "call:authentication"})
        page = response.content.decode()
        assert response.status_code == 429
        assert "too many texts and calls in the last hour. Try again after" in page
        assert DEAD_END not in page

    def test_a_phone_registration_over_the_cap_is_said_on_the_phone_step(
        self, settings, client, make_user
    ) -> None:
        caps(settings, texts_per_number_per_hour=0)
        make_user("carol@contoso.example", mfa_state=MfaState.ENABLED)
        password_step(client, "carol@contoso.example")
        response = client.post(
            "/account/security-verification/phone/add",
            {"country": "US", "number": "425 555 0134", "mode": "text"},
        )
        page = response.content.decode()
        assert response.status_code == 429
        assert "Add your authentication phone" in page
        assert "Try again after" in page
        assert DEAD_END not in page

    def test_too_many_wrong_access_codes_are_said_next_to_the_field(self, client, alice) -> None:
        from twofold.methods.resets import require_reregistration

        require_reregistration(User.objects.filter(pk=alice.pk), actor=None)
        password_step(client)
        for _attempt in range(10):
            client.post("/signin/register", {"code": "00000000"})
        response = client.post("/signin/register", {"code": "00000000"})
        page = response.content.decode()
        assert response.status_code == 429
        assert "Too many wrong access codes. Try again after" in page
        assert DEAD_END not in page


class TestLockout:
    def lock(self, user: User) -> None:
        until = timezone.now() + timedelta(minutes=10)
        User.objects.filter(pk=user.pk).update(mfa_locked_until=until)

    def test_signing_in_while_locked_says_so_once_on_the_verify_page(self, client, alice) -> None:
        add_app(alice)
        User.objects.filter(pk=alice.pk).update(preferred_option="app_code")
        self.lock(alice)
        password_step(client)
        response = client.get("/signin/verify")
        page = response.content.decode()
        assert response.status_code == 429
        assert page.count("Verification is locked after too many failed attempts") == 1

    def test_a_locked_verify_page_offers_no_way_that_would_be_refused(self, client, alice) -> None:
        self.lock(alice)
        password_step(client)
        page = client.get("/signin/verify").content.decode()
        assert 'name="option"' not in page
        assert 'name="code"' not in page

    def test_a_locked_registration_says_until_when_on_its_own_page(self, client, make_user) -> None:
        carol = make_user("carol@contoso.example", mfa_state=MfaState.ENABLED)
        self.lock(carol)
        password_step(client, "carol@contoso.example")
        response = client.get("/account/security-verification/phone/add")
        page = response.content.decode()
        assert response.status_code == 429
        assert "More information required" in page
        assert "Try again after" in page


def test_an_error_page_met_halfway_through_a_sign_in_keeps_the_branding_and_help_desk(
    client, alice
) -> None:
    Organisation.objects.filter(pk=alice.organisation_id).update(
        display_name="Contoso Ltd", help_desk_url="https://help.contoso.example/"
    )
    client.post("/signin", {"username": "alice@contoso.example"})
    client.get("/signin/password")
    page = client.get("/no-such-page").content.decode()
    assert "Contoso Ltd" in page
    assert 'href="https://help.contoso.example/"' in page


def test_back_to_the_second_step_after_signing_in_says_nothing_took_too_long(
    client, alice, outbox
) -> None:
    password_step(client)
    client.post("/signin/verify", {"code": outbox.last_code()})
    response = client.get("/signin/verify", follow=True)
    assert response.redirect_chain[-1][0] == "/account"
    assert "took too long" not in response.content.decode()


def test_a_one_time_bypass_is_said_on_the_page_the_person_lands_on(client, alice) -> None:
    until = timezone.now() + timedelta(hours=1)
    User.objects.filter(pk=alice.pk).update(mfa_bypass_until=until)
    response = password_step(client)
    assert signed_in(client)
    page = client.get(response["Location"]).content.decode()
    assert "one-time bypass" in page


def test_first_time_registration_lands_on_the_page_asked_for(client, make_user, outbox) -> None:
    make_user("carol@contoso.example", mfa_state=MfaState.ENABLED)
    asked = client.get("/account/security-verification")["Location"]
    client.get(asked)
    password_step(client, "carol@contoso.example")
    client.post(
        "/account/security-verification/phone/add",
        {"country": "US", "number": "425 555 0134", "mode": "text"},
    )
    response = client.post(
        "/account/security-verification/phone/add/verify", {"code": outbox.last_code()}
    )
    assert after_first_method(response["Location"]) == "/account/security-verification"

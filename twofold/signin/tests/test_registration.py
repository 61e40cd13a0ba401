"""'More information required': registering a first method at sign-in."""

from datetime import timedelta

import pyotp
import pytest
from django.test import Client
from django.utils import timezone

from conftest import after_first_method
from twofold.accounts.models import MfaState, User
from twofold.audit.models import AuditAction, AuditEvent, AuditResult
from twofold.methods import base
from twofold.methods.authenticator.models import AuthenticatorDevice
from twofold.methods.phone.models import Phone
from twofold.methods.resets import access_code, require_reregistration
from twofold.signin import services

from .conftest import AUTH_NUMBER, password_step

pytestmark = pytest.mark.django_db


@pytest.fixture
def carol(make_user):
    return make_user("carol@contoso.example", mfa_state=MfaState.ENABLED)


def start(client: Client, username: str = "carol@contoso.example"):
    response = password_step(client, username=username)
    assert response["Location"] == "/signin/register"
    return client


def test_mfa_on_and_no_method_asks_for_more_information(client, carol) -> None:
    start(client)
    page = client.get("/signin/register").content.decode()
    assert "More information required" in page
    assert "_auth_user_id" not in client.session


def test_registering_a_phone_proves_it_and_signs_in(client, carol, outbox) -> None:
    start(client)
    response = client.post(
        "/account/security-verification/phone/add",
        {"country": "US", "number": "425 555 0134", "mode": "text"},
    )
    assert (
        response["Location"]
        == "/account/security-verification/phone/add/verify?next=%2Fsignin%2Fregister"
    )
    client.post("/account/security-verification/phone/add/verify", {"code": outbox.wrong_code()})
    assert "_auth_user_id" not in client.session
    response = client.post(
        "/account/security-verification/phone/add/verify", {"code": outbox.last_code()}
    )
    assert after_first_method(response["Location"]) == "/account"
    carol.refresh_from_db()
    assert carol.preferred_option == "text:authentication"
    assert Phone.objects.get(user=carol).number == AUTH_NUMBER
    assert client.session[services.AMR] == ["pwd", "sms"]


def test_a_bad_number_is_refused_on_the_wizard(client, carol) -> None:
    start(client)
    response = client.post(
        "/account/security-verification/phone/add",
        {"country": "US", "number": "12", "mode": "text"},
    )
    assert "not a valid phone number" in response.content.decode()
    assert not Phone.objects.exists()


def test_registering_the_app_signs_in(client, carol) -> None:
    start(client)
    page = client.get("/account/security-verification/authenticator/setup").content.decode()
    assert 'data-testid="qr-code"' in page
    secret = client.session  # the secret is encrypted in the session; read it from the page
    grouped = page.split('data-testid="totp-secret">')[1].split("<")[0]
    code = pyotp.TOTP(grouped.replace(" ", "")).now()
    response = client.post(
        "/account/security-verification/authenticator/setup", {"name": "My phone", "code": code}
    )
    assert after_first_method(response["Location"]) == "/account"
    assert AuthenticatorDevice.objects.get(user=carol).name == "My phone"
    assert client.session[services.AMR] == ["pwd", "otp"]
    assert secret is not None


def test_the_wizard_is_not_reachable_without_a_right_password(client, carol) -> None:
    assert client.get("/signin/register")["Location"] == "/signin"
    data = {"country": "US", "number": "4255550134", "mode": "text"}
    assert client.post("/account/security-verification/phone/add", data)["Location"] == "/signin"
    assert not Phone.objects.exists()


class TestReregistration:
    def test_the_old_methods_stop_counting_and_an_access_code_is_asked(self, client, alice):
        require_reregistration(User.objects.filter(pk=alice.pk))
        alice.refresh_from_db()
        assert alice.must_reregister
        assert base.options_for(alice) == []
        start(client, "alice@contoso.example")
        assert "access code" in client.get("/signin/register").content.decode()

    def test_a_stolen_password_alone_cannot_register_a_phone(self, client, alice) -> None:
        require_reregistration(User.objects.filter(pk=alice.pk))
        start(client, "alice@contoso.example")
        data = {"country": "US", "number": "425 555 0177", "mode": "text"}
        assert (
            client.post("/account/security-verification/phone/add", data)["Location"]
            == "/signin/register"
        )
        client.post("/signin/register", {"code": "AAAA-BBBB-CCCC"})
        assert (
            client.post("/account/security-verification/phone/add", data)["Location"]
            == "/signin/register"
        )
        assert not Phone.objects.exists()

    def test_an_expired_access_code_is_refused(self, client, alice) -> None:
        _count, nonce = require_reregistration(User.objects.filter(pk=alice.pk))
        User.objects.filter(pk=alice.pk).update(reregister_until=timezone.now())
        start(client, "alice@contoso.example")
        response = client.post("/signin/register", {"code": access_code(alice.pk, nonce)})
        assert "expired" in response.content.decode()

    def test_a_wrong_access_code_is_audited(self, client, alice) -> None:
        require_reregistration(User.objects.filter(pk=alice.pk))
        start(client, "alice@contoso.example")
        client.post("/signin/register", {"code": "AAAA-BBBB-CCCC"})
        event = AuditEvent.objects.filter(action=AuditAction.ACCESS_CODE_REFUSED).get()
        assert (event.subject_id, event.result) == (alice.pk, AuditResult.FAILURE)
        assert "AAAA" not in str(event.details)

    def test_within_the_organisations_window_no_code_is_needed(self, client, alice) -> None:
        organisation = alice.organisation
        organisation.reregistration_grace_days = 3
        organisation.save()
        require_reregistration(User.objects.filter(pk=alice.pk))
        start(client, "alice@contoso.example")
        assert "More information required" in client.get("/signin/register").content.decode()

    def test_registering_again_with_the_code_clears_the_flag(self, client, alice, outbox):
        _count, nonce = require_reregistration(User.objects.filter(pk=alice.pk))
        start(client, "alice@contoso.example")
        response = client.post("/signin/register", {"code": access_code(alice.pk, nonce).lower()})
        assert response["Location"] == "/signin/register"
        data = {"country": "US", "number": "425 555 0177", "mode": "text"}
        client.post("/account/security-verification/phone/add", data)
        client.post("/account/security-verification/phone/add/verify", {"code": outbox.last_code()})
        alice.refresh_from_db()
        assert not alice.must_reregister
        assert alice.reregister_nonce == ""
        keys = [option.key for option in base.options_for(alice)]
        assert keys == ["text:authentication", "call:authentication"]
        assert Phone.objects.get(user=alice).number == "+14255550177"

    def test_it_is_set_based_and_audited_per_user(self, make_user, alice) -> None:
        others = [make_user(f"user{index}@contoso.example") for index in range(5)]
        ids = [alice.pk, *[user.pk for user in others]]
        changed, _nonce = require_reregistration(User.objects.filter(pk__in=ids))
        assert changed == 6
        assert AuditEvent.objects.filter(action=AuditAction.REREGISTRATION_REQUIRED).count() == 6
        assert not Phone.objects.filter(user=alice).exists()


class TestTheWizardIsOnlyForThoseWhoNeedIt:
    """A password alone must never register a method for someone who already has one."""

    def test_a_user_with_a_method_cannot_register_an_app_at_sign_in(self, client, alice) -> None:
        assert (
            password_step(client, username="alice@contoso.example")["Location"] == "/signin/verify"
        )
        assert (
            client.get("/account/security-verification/authenticator/setup")["Location"]
            == "/signin/verify"
        )
        response = client.post(
            "/account/security-verification/authenticator/setup", {"name": "Evil", "code": "123456"}
        )
        assert response["Location"] == "/signin/verify"
        assert not AuthenticatorDevice.objects.exists()
        assert "_auth_user_id" not in client.session

    def test_a_user_with_a_method_cannot_replace_their_phone_at_sign_in(self, client, alice):
        password_step(client, username="alice@contoso.example")
        data = {"country": "US", "number": "425 555 0177", "mode": "text"}
        assert (
            client.post("/account/security-verification/phone/add", data)["Location"]
            == "/signin/verify"
        )
        assert Phone.objects.get(user=alice).number == AUTH_NUMBER
        assert client.get("/signin/register")["Location"] == "/signin/verify"

    def test_a_locked_user_cannot_register(self, client, carol) -> None:
        start(client)
        User.objects.filter(pk=carol.pk).update(
            mfa_locked_until=timezone.now() + timedelta(minutes=5)
        )
        assert client.get("/signin/register").status_code == 429
        data = {"country": "US", "number": "425 555 0177", "mode": "text"}
        assert client.post("/account/security-verification/phone/add", data).status_code == 429
        assert not Phone.objects.exists()

    def test_reregistration_comes_before_a_trusted_address(self, client, alice) -> None:
        organisation = alice.organisation
        organisation.trusted_ip_ranges = ["127.0.0.0/8"]
        organisation.save()
        require_reregistration(User.objects.filter(pk=alice.pk))
        assert (
            password_step(client, username="alice@contoso.example")["Location"]
            == "/signin/register"
        )

    def test_reregistration_comes_before_a_one_time_bypass_which_is_kept(
        self, client, alice
    ) -> None:
        require_reregistration(User.objects.filter(pk=alice.pk))
        until = timezone.now() + timedelta(minutes=5)
        User.objects.filter(pk=alice.pk).update(mfa_bypass_until=until)
        assert (
            password_step(client, username="alice@contoso.example")["Location"]
            == "/signin/register"
        )
        alice.refresh_from_db()
        assert alice.mfa_bypass_until == until

    def test_a_signed_in_user_asked_to_reregister_cannot_add_methods(self, client, make_user):
        bob = make_user("bob@contoso.example")
        password_step(client, username="bob@contoso.example")
        require_reregistration(User.objects.filter(pk=bob.pk))
        response = client.get("/account/security-verification/authenticator/setup")
        assert response["Location"].startswith("/account/verify")
        # Registering again happens at sign-in, with the access code: signed out and sent there.
        assert client.get("/account/verify")["Location"].startswith("/signin?next=")
        assert "_auth_user_id" not in client.session


def test_the_phone_step_lists_countries_in_the_readers_language(carol) -> None:
    client = start(Client(HTTP_ACCEPT_LANGUAGE="zh-Hans"))
    page = client.get("/account/security-verification/phone/add").content.decode()
    assert "美国 (+1)" in page
    assert "United States (+1)" not in page


def test_a_proof_whose_number_went_meanwhile_asks_for_the_number_again(
    client, carol, outbox
) -> None:
    start(client)
    client.post(
        "/account/security-verification/phone/add",
        {"country": "US", "number": "425 555 0134", "mode": "text"},
    )
    Phone.objects.filter(user=carol).delete()  # an administrator's reset, say
    response = client.post(
        "/account/security-verification/phone/add/verify", {"code": outbox.last_code()}
    )
    assert response.status_code == 302
    assert (
        response["Location"] == "/account/security-verification/phone/add?next=%2Fsignin%2Fregister"
    )
    assert "_auth_user_id" not in client.session
    assert not Phone.objects.filter(user=carol).exists()


def test_a_number_of_another_country_names_that_country(client, carol) -> None:
    start(client)
    page = client.post(
        "/account/security-verification/phone/add",
        {"country": "US", "number": "+44 20 7946 0958", "mode": "text"},
    ).content.decode()
    assert "This number belongs to United Kingdom, not to United States" in page


def test_a_person_with_a_method_cannot_enrol_another_before_verifying(client, alice) -> None:
    # A right password alone never adds a method: the hosted enrolment view refuses and
    # sends the person to verify with what they have (it was a 500).
    password_step(client, username="alice@contoso.example")
    response = client.get("/account/security-verification/phone/add")
    assert (response.status_code, response["Location"]) == (302, "/signin/verify")


def test_nobody_signed_in_or_half_way_is_sent_to_sign_in(client) -> None:
    response = client.get("/account/security-verification/phone/add")
    assert response.status_code == 302
    assert response["Location"].startswith("/signin")

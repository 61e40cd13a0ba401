import re

import pytest
from django.contrib.auth.hashers import identify_hasher
from django.test import Client

from conftest import STRONG_PASSWORD
from twofold.audit.models import AuditAction, AuditEvent, AuditResult

pytestmark = pytest.mark.django_db


def sign_in(client: Client, username: str, password: str):
    client.post("/signin", {"username": username})
    return client.post("/signin/password", {"password": password})


def test_the_right_password_signs_in_and_lands_on_my_account(client, user) -> None:
    response = sign_in(client, "alice@contoso.example", STRONG_PASSWORD)
    assert response.status_code == 302
    assert response["Location"] == "/account"
    page = client.get("/account")
    assert page.status_code == 200
    assert "alice@contoso.example" in page.content.decode()


def test_the_user_name_is_matched_without_regard_to_case_or_spaces(client, user) -> None:
    response = sign_in(client, "  Alice@Contoso.Example ", STRONG_PASSWORD)
    assert response.status_code == 302


def test_a_wrong_password_is_refused_with_a_message(client, user) -> None:
    response = sign_in(client, "alice@contoso.example", "wrong password!")
    assert response.status_code == 200
    assert "Your user name or password is incorrect." in response.content.decode()
    assert "_auth_user_id" not in client.session


def _refusal(client: Client, username: str, password: str) -> tuple[int, str]:
    response = sign_in(client, username, password)
    body = response.content.decode()
    # Strip what legitimately differs between two responses: the typed user name, tokens.
    body = body.replace(username, "USERNAME")
    body = re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "CSRF", body)
    return response.status_code, body


def test_unknown_user_and_wrong_password_get_the_same_answer(client, user) -> None:
    wrong = _refusal(Client(), "alice@contoso.example", "wrong password!")
    unknown = _refusal(Client(), "nobody@contoso.example", "wrong password!")
    assert wrong == unknown


def test_an_inactive_user_gets_the_wrong_password_answer(make_user) -> None:
    inactive = make_user("carol@contoso.example")
    inactive.is_active = False
    inactive.save()
    refused = _refusal(Client(), "carol@contoso.example", STRONG_PASSWORD)
    wrong = _refusal(Client(), "carol@contoso.example", "wrong password!")
    assert refused == wrong


def _blocked(make_user):
    carol = make_user("carol@contoso.example")
    carol.is_blocked = True
    carol.save()
    return carol


def test_a_blocked_user_with_a_wrong_password_gets_the_wrong_password_answer(make_user) -> None:
    _blocked(make_user)
    blocked = _refusal(Client(), "carol@contoso.example", "wrong password!")
    unknown = _refusal(Client(), "nobody@contoso.example", "wrong password!")
    assert blocked == unknown


def test_a_blocked_user_with_the_right_password_is_told_to_contact_the_help_desk(
    client, make_user
) -> None:
    _blocked(make_user)
    response = sign_in(client, "carol@contoso.example", STRONG_PASSWORD)
    body = response.content.decode()
    assert "Your account is blocked" in body
    assert "incorrect" not in body
    assert response["X-Correlation-ID"] in body  # for the help desk
    assert "_auth_user_id" not in client.session


def test_a_blocked_user_with_the_right_password_costs_one_hash_like_a_wrong_one(
    make_user, monkeypatch
) -> None:
    from twofold.core.hashers import Argon2idHasher

    _blocked(make_user)
    calls = []
    monkeypatch.setattr(Argon2idHasher, "verify", lambda self, pw, enc: not calls.append(1))
    sign_in(Client(), "carol@contoso.example", STRONG_PASSWORD)
    assert len(calls) == 1


def test_a_blocked_users_refusal_is_audited_as_blocked(make_user) -> None:
    carol = _blocked(make_user)
    sign_in(Client(), "carol@contoso.example", STRONG_PASSWORD)
    event = AuditEvent.objects.get(action=AuditAction.SIGNIN_PASSWORD, subject_id=carol.pk)
    assert (event.result, event.details.get("reason")) == (AuditResult.FAILURE, "blocked")


def test_an_unknown_user_costs_one_password_hash_like_a_wrong_password(
    client, user, monkeypatch
) -> None:
    from twofold.core.hashers import Argon2idHasher

    calls = []
    original = Argon2idHasher.encode

    def counting(self, password, salt):
        calls.append(1)
        return original(self, password, salt)

    monkeypatch.setattr(Argon2idHasher, "encode", counting)
    monkeypatch.setattr(Argon2idHasher, "verify", lambda self, pw, enc: bool(calls.append(1)))
    sign_in(Client(), "nobody@contoso.example", "wrong password!")
    unknown_cost = len(calls)
    calls.clear()
    sign_in(Client(), "alice@contoso.example", "wrong password!")
    assert unknown_cost == len(calls) == 1


def test_passwords_are_stored_as_argon2id(user) -> None:
    assert identify_hasher(user.password).algorithm == "argon2"
    assert user.password.startswith("argon2$argon2id$")
    assert STRONG_PASSWORD not in user.password


def test_signing_in_gives_a_new_session_id(client, user) -> None:
    client.post("/signin", {"username": "alice@contoso.example"})
    before = client.session.session_key
    client.post("/signin/password", {"password": STRONG_PASSWORD})
    after = client.session.session_key
    assert before
    assert after
    assert before != after


def test_signing_out_ends_the_session(client, user) -> None:
    sign_in(client, "alice@contoso.example", STRONG_PASSWORD)
    response = client.post("/signout")
    assert response.status_code == 200
    assert client.get("/account").status_code == 302


def test_sign_out_needs_a_post(client, user) -> None:
    sign_in(client, "alice@contoso.example", STRONG_PASSWORD)
    client.get("/signout")
    assert client.get("/account").status_code == 200


def test_a_form_without_its_csrf_token_is_rejected(user) -> None:
    client = Client(enforce_csrf_checks=True)
    assert client.post("/signin", {"username": "alice@contoso.example"}).status_code == 403


def test_my_account_needs_a_signed_in_user(client) -> None:
    response = client.get("/account")
    assert response.status_code == 302
    assert response["Location"].startswith("/signin?next=/account")


def test_after_sign_in_the_user_returns_to_the_page_they_asked_for(client, user) -> None:
    client.get("/signin?next=/account")
    response = sign_in(client, "alice@contoso.example", STRONG_PASSWORD)
    assert response["Location"] == "/account"


def test_a_next_link_to_another_site_is_ignored(client, user) -> None:
    client.get("/signin?next=https://evil.example/")
    response = sign_in(client, "alice@contoso.example", STRONG_PASSWORD)
    assert response["Location"] == "/account"


def test_the_password_page_shows_the_organisations_branding(client, organisation) -> None:
    organisation.display_name = "Contoso Pharmaceuticals"
    organisation.save()
    client.post("/signin", {"username": "someone@contoso.example"})
    body = client.get("/signin/password").content.decode()
    assert "Contoso Pharmaceuticals" in body
    assert "/branding/contoso.css" in body


def test_the_password_page_without_a_user_name_goes_back_to_the_first_step(client) -> None:
    assert client.get("/signin/password")["Location"] == "/signin"


def test_a_blocked_user_is_signed_out_on_the_next_request(client, user) -> None:
    sign_in(client, "alice@contoso.example", STRONG_PASSWORD)
    user.is_blocked = True
    user.save()
    assert client.get("/account").status_code == 302


class TestAuditEvents:
    def test_a_successful_sign_in_is_recorded(self, client, user) -> None:
        sign_in(client, "alice@contoso.example", STRONG_PASSWORD)
        event = AuditEvent.objects.get(action=AuditAction.SIGNIN_PASSWORD)
        assert event.result == AuditResult.SUCCESS
        assert event.subject_id == user.pk
        assert event.organisation_id == user.organisation_id
        assert event.client_address == "127.0.0.1"
        assert event.correlation_id

    def test_a_failed_sign_in_is_recorded_without_the_password(self, client, user) -> None:
        sign_in(client, "alice@contoso.example", "wrong password!")
        event = AuditEvent.objects.get(action=AuditAction.SIGNIN_PASSWORD)
        assert event.result == AuditResult.FAILURE
        assert event.subject_id == user.pk
        stored = str(AuditEvent.objects.values().get(pk=event.pk))
        assert "wrong password!" not in stored

    def test_a_sign_out_is_recorded(self, client, user) -> None:
        sign_in(client, "alice@contoso.example", STRONG_PASSWORD)
        client.post("/signout")
        assert AuditEvent.objects.filter(action=AuditAction.SIGNOUT, subject=user).exists()

    def test_no_event_ever_holds_a_password(self, client, user) -> None:
        sign_in(client, "alice@contoso.example", "wrong password!")
        sign_in(client, "alice@contoso.example", STRONG_PASSWORD)
        client.post("/signout")
        dump = str(list(AuditEvent.objects.values()))
        assert STRONG_PASSWORD not in dump
        assert "wrong password!" not in dump


def test_a_new_password_forgets_trusted_devices_and_is_audited(user) -> None:
    from twofold.accounts.services import set_password

    set_password(user, "another long passphrase", via="test")
    user.refresh_from_db()
    assert user.trusted_device_epoch == 1
    event = AuditEvent.objects.get(action=AuditAction.PASSWORD_SET)
    assert event.details == {"via": "test"}


def test_a_new_password_ends_the_users_other_sessions(client, user) -> None:
    from twofold.accounts.services import set_password

    sign_in(client, "alice@contoso.example", STRONG_PASSWORD)
    set_password(user, "another long passphrase")
    assert client.get("/account").status_code == 302


def test_something_typed_as_a_user_name_outside_our_domains_is_not_logged(client, user) -> None:
    sign_in(client, "my secret password 12345678", "whatever")
    dump = str(list(AuditEvent.objects.values()))
    assert "my secret password" not in dump
    assert "12345678" not in dump

"""Enrolment, storage and deletion of authenticator apps (docs/security.md 2–4, 22, 23)."""

import base64
from urllib.parse import parse_qs, urlsplit

import pyotp
import pytest
from django.db import connection

from twofold.audit.models import AuditEvent
from twofold.core import crypto
from twofold.core.errors import InvalidInput, NotAllowed, NotFound
from twofold.methods.authenticator import actions as authenticator_actions
from twofold.methods.authenticator import services
from twofold.methods.authenticator.models import AuthenticatorDevice
from twofold.methods.models import ChallengePurpose
from twofold.methods.phone import kinds
from twofold.methods.verification import WrongCode, start_challenge, verify_code

pytestmark = pytest.mark.django_db


def raw_secret_column(device_id: int) -> str:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT secret FROM authenticator_authenticatordevice WHERE id = %s", [device_id]
        )
        return cursor.fetchone()[0]


def test_each_enrolment_gets_a_fresh_160_bit_seed() -> None:
    first, second = services.new_secret(), services.new_secret()
    assert len(first) * 8 == 160
    assert first != second


def test_the_key_uri_names_the_issuer_and_account_and_carries_base32_without_padding(user):
    user.organisation.name = "Contoso: IT & Co"
    user.organisation.save()
    secret = services.new_secret()
    uri = services.provisioning_uri(user, secret)
    parts = urlsplit(uri)
    query = parse_qs(parts.query)
    assert (parts.scheme, parts.netloc) == ("otpauth", "totp")
    assert parts.path == "/Contoso%3A%20IT%20%26%20Co:alice@contoso.example"
    assert query["secret"] == [base64.b32encode(secret).decode().rstrip("=")]
    assert "=" not in query["secret"][0]
    assert query["issuer"] == ["Contoso: IT & Co"]
    assert (query["algorithm"], query["digits"], query["period"]) == (["SHA1"], ["6"], ["30"])


def test_the_issuer_is_the_organisations_name_not_its_display_name(user) -> None:
    user.organisation.display_name = "Contoso Help Desk"
    user.organisation.save()
    parsed = pyotp.parse_uri(services.provisioning_uri(user, services.new_secret()))
    assert parsed.issuer == user.organisation.name == "Contoso"
    assert parsed.name == user.username


def test_an_authenticator_library_reads_the_key_uri_back(user) -> None:
    secret = services.new_secret()
    parsed = pyotp.parse_uri(services.provisioning_uri(user, secret))
    assert parsed.issuer == "Contoso"
    assert parsed.name == "alice@contoso.example"
    assert parsed.secret == services.base32(secret)
    assert parsed.at(1_700_000_025) == crypto.totp(secret, 1_700_000_025)


def test_the_key_is_shown_in_groups_of_four() -> None:
    secret = bytes(range(20))
    shown = services.grouped(secret)
    groups = shown.split(" ")
    assert [len(group) for group in groups] == [4] * 8
    assert "".join(groups) == base64.b32encode(secret).decode()


def test_the_qr_code_is_svg_without_any_inline_style(user) -> None:
    svg = services.qr_code_svg(services.provisioning_uri(user, services.new_secret()))
    assert svg.startswith("<svg")
    assert "style" not in svg.lower()
    assert "<script" not in svg.lower()


def test_a_device_is_saved_once_a_code_from_its_seed_proves_it(user, clock) -> None:
    secret = services.new_secret()
    device = services.add_device(user, "Work phone", secret, clock.code(secret))
    assert list(user.authenticator_devices.all()) == [device]
    assert device.last_used_step == int(clock.now) // 30


@pytest.mark.parametrize("steps", [-1, +1])
def test_enrolment_accepts_a_code_one_step_away(user, clock, steps) -> None:
    secret = services.new_secret()
    services.add_device(user, "Work phone", secret, clock.code(secret, steps))
    assert user.authenticator_devices.count() == 1


@pytest.mark.parametrize("code", ["", "12345", "abcdef", "wrong"])
def test_a_device_is_not_saved_without_a_valid_code(user, clock, code) -> None:
    with pytest.raises(services.EnrolmentCodeRefused):
        services.add_device(user, "Work phone", services.new_secret(), code)
    assert not user.authenticator_devices.exists()


def test_a_code_two_steps_away_does_not_prove_a_device(user, clock) -> None:
    secret = services.new_secret()
    with pytest.raises(services.EnrolmentCodeRefused):
        services.add_device(user, "Work phone", secret, clock.code(secret, +2))
    assert not user.authenticator_devices.exists()


def test_a_code_from_another_seed_does_not_prove_a_device(user, clock) -> None:
    with pytest.raises(services.EnrolmentCodeRefused):
        services.add_device(user, "Work phone", services.new_secret(), "123456")
    assert not user.authenticator_devices.exists()


@pytest.mark.parametrize("name", ["", "   ", "x" * 61])
def test_a_device_needs_a_name_of_at_most_60_characters(user, clock, name) -> None:
    secret = services.new_secret()
    with pytest.raises(InvalidInput):
        services.add_device(user, name, secret, clock.code(secret))
    assert not user.authenticator_devices.exists()


def test_two_devices_cannot_share_a_name(user, enrol, clock) -> None:
    enrol(user, "Work phone")
    secret = services.new_secret()
    with pytest.raises(InvalidInput):
        services.add_device(user, "work PHONE", secret, clock.code(secret))


def test_a_user_keeps_at_most_five_apps(user, enrol, clock) -> None:
    for number in range(services.MAX_DEVICES):
        enrol(user, f"Phone {number}")
    secret = services.new_secret()
    with pytest.raises(NotAllowed):
        services.add_device(user, "One too many", secret, clock.code(secret))


def test_no_app_can_be_added_where_the_organisation_allows_no_app_method(user, clock) -> None:
    user.organisation.allowed_methods = [kinds.TEXT, kinds.CALL]
    user.organisation.save()
    secret = services.new_secret()
    with pytest.raises(NotAllowed):
        services.add_device(user, "Work phone", secret, clock.code(secret))


def test_the_seed_is_encrypted_at_rest(enrolled) -> None:
    stored = raw_secret_column(enrolled.device.pk)
    assert services.base32(enrolled.secret) not in stored
    assert enrolled.secret.hex() not in stored
    assert enrolled.secret not in stored.encode()
    assert crypto.decrypt(stored) == enrolled.secret


def test_adding_an_app_is_audited_without_the_seed_or_code(enrolled) -> None:
    event = AuditEvent.objects.get(action=authenticator_actions.ADDED)
    assert event.subject_id == enrolled.user.pk
    assert event.result == "success"
    assert services.base32(enrolled.secret) not in str(event.details)
    assert event.details == {"kind": "totp", "device": enrolled.device.pk}


def test_deleting_an_app_refuses_its_codes_at_once(enrolled, clock) -> None:
    user = enrolled.user
    challenge = start_challenge(user, "app_code", ChallengePurpose.SIGNIN)
    services.delete_device(user, enrolled.device.pk)
    clock.advance()
    with pytest.raises(WrongCode):
        verify_code(user, challenge.pk, clock.code(enrolled.secret))
    assert AuditEvent.objects.filter(action=authenticator_actions.DELETED).count() == 1


def test_another_users_app_cannot_be_deleted(enrolled, make_user) -> None:
    bob = make_user("bob@contoso.example")
    with pytest.raises(NotFound):
        services.delete_device(bob, enrolled.device.pk)
    assert AuthenticatorDevice.objects.filter(pk=enrolled.device.pk).exists()


def test_the_pending_seed_is_kept_encrypted_and_stays_until_forgotten() -> None:
    session: dict[str, str] = {}
    secret = services.enrolment_secret(session)
    assert services.enrolment_secret(session) == secret
    (stored,) = session.values()
    assert services.base32(secret) not in stored
    assert crypto.decrypt(stored) == secret
    services.forget_enrolment_secret(session)
    assert services.enrolment_secret(session) != secret

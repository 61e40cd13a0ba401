import pytest
from django.test import Client

from conftest import STRONG_PASSWORD
from twofold.audit.models import AuditAction, AuditEvent

pytestmark = pytest.mark.django_db


@pytest.fixture
def small_limits(settings):
    settings.TWOFOLD = {
        **settings.TWOFOLD,
        "signin_attempts_per_user": 3,
        "signin_attempts_per_address": 5,
    }


def attempt(client: Client, username: str, password: str, address: str = "127.0.0.1"):
    client.post("/signin", {"username": username}, REMOTE_ADDR=address)
    return client.post("/signin/password", {"password": password}, REMOTE_ADDR=address)


def test_too_many_wrong_passwords_for_one_user_are_refused_with_429(small_limits, user) -> None:
    client = Client()
    for _ in range(3):
        assert attempt(client, "alice@contoso.example", "wrong password!").status_code == 200
    response = attempt(client, "alice@contoso.example", STRONG_PASSWORD)
    assert response.status_code == 429
    assert int(response["Retry-After"]) > 0
    body = response.content.decode()
    assert "Too many sign-in attempts. Try again after" in body  # next to the field
    assert response["X-Correlation-ID"] in body
    assert "_auth_user_id" not in client.session


def test_the_user_limit_holds_across_addresses(small_limits, user) -> None:
    for index in range(3):
        attempt(Client(), "alice@contoso.example", "wrong password!", f"192.0.2.{index}")
    assert (
        attempt(Client(), "alice@contoso.example", STRONG_PASSWORD, "198.51.100.9").status_code
        == 429
    )


def test_an_unknown_user_name_is_limited_exactly_like_a_known_one(small_limits, user) -> None:
    for _ in range(3):
        attempt(Client(), "nobody@contoso.example", "wrong password!", "192.0.2.1")
    assert attempt(Client(), "nobody@contoso.example", "x", "198.51.100.9").status_code == 429


def test_one_address_is_limited_across_user_names(small_limits, user) -> None:
    for index in range(5):
        attempt(Client(), f"user{index}@contoso.example", "wrong password!", "203.0.113.7")
    response = attempt(Client(), "alice@contoso.example", STRONG_PASSWORD, "203.0.113.7")
    assert response.status_code == 429


def test_other_users_are_not_limited_by_one_users_failures(small_limits, make_user) -> None:
    make_user("alice@contoso.example")
    make_user("bob@contoso.example")
    for index in range(3):
        attempt(Client(), "alice@contoso.example", "wrong password!", f"192.0.2.{index}")
    assert (
        attempt(Client(), "bob@contoso.example", STRONG_PASSWORD, "192.0.2.50").status_code == 302
    )


def test_a_successful_sign_in_clears_the_users_failure_count(small_limits, user) -> None:
    client = Client()
    for _ in range(2):
        attempt(client, "alice@contoso.example", "wrong password!", "192.0.2.1")
    assert attempt(client, "alice@contoso.example", STRONG_PASSWORD, "192.0.2.1").status_code == 302
    client.post("/signout")
    for _ in range(2):
        attempt(Client(), "alice@contoso.example", "wrong password!", "192.0.2.2")
    assert (
        attempt(Client(), "alice@contoso.example", STRONG_PASSWORD, "192.0.2.3").status_code == 302
    )


def test_a_refusal_for_too_many_attempts_is_audited(small_limits, user) -> None:
    for _ in range(4):
        attempt(Client(), "alice@contoso.example", "wrong password!")
    assert AuditEvent.objects.filter(action=AuditAction.SIGNIN_RATE_LIMITED).count() == 1


def test_addresses_of_one_ipv6_network_are_limited_as_one_address(small_limits, user) -> None:
    # Anyone with an IPv6 network (a /64, every home line's) has 2**64 addresses to rotate.
    for index in range(5):
        address = f"2001:db8:7:1:{index + 1:x}::9"
        attempt(Client(), f"user{index}@contoso.example", "wrong password!", address)
    response = attempt(Client(), "alice@contoso.example", STRONG_PASSWORD, "2001:db8:7:1:ab::1")
    assert response.status_code == 429


def test_an_ipv4_mapped_address_is_limited_as_its_ipv4_address(small_limits, user) -> None:
    for index in range(5):
        attempt(Client(), f"user{index}@contoso.example", "wrong password!", "203.0.113.7")
    response = attempt(Client(), "alice@contoso.example", STRONG_PASSWORD, "::ffff:203.0.113.7")
    assert response.status_code == 429

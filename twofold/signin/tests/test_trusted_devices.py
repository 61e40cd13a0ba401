"""'Don't ask again for N days': a hashed random cookie bound to one user and two epochs."""

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from twofold.accounts.models import MfaState, User
from twofold.accounts.services import set_mfa_state, sign_out_everywhere
from twofold.administration.services import restore_remembered_devices_everywhere
from twofold.audit.models import AuditAction, AuditEvent
from twofold.core.crypto import digest
from twofold.methods.resets import require_reregistration
from twofold.selfservice.services import restore_trusted_devices
from twofold.signin.models import TrustedDevice
from twofold.signin.trusted import cookie_name, recognises

from .conftest import STRONG_PASSWORD, password_step

pytestmark = pytest.mark.django_db
COOKIE = "twofold-trusted"


@pytest.fixture
def trusted_client(alice, outbox) -> Client:
    """A browser that signed in with 'don't ask again' ticked, then signed out."""
    client = Client()
    password_step(client)
    client.post("/signin/verify", {"code": outbox.last_code(), "remember": "on"})
    client.post("/signout")
    return client


def asks_again(client: Client) -> bool:
    return password_step(client)["Location"] == "/signin/verify"


def test_the_checkbox_offers_the_organisations_number_of_days(client, alice) -> None:
    password_step(client)
    assert "Don't ask again for 14 days" in client.get("/signin/verify").content.decode()


def test_no_checkbox_when_the_organisation_allows_no_days(client, alice) -> None:
    organisation = alice.organisation
    organisation.remember_device_days = 0
    organisation.save()
    password_step(client)
    assert 'data-testid="remember-device"' not in client.get("/signin/verify").content.decode()


def test_the_cookie_is_random_httponly_samesite_and_stored_only_as_a_digest(
    client, alice, outbox
) -> None:
    password_step(client)
    response = client.post("/signin/verify", {"code": outbox.last_code(), "remember": "on"})
    cookie = response.cookies[COOKIE]
    assert cookie["httponly"]
    assert cookie["samesite"] == "Lax"
    assert cookie["path"] == "/"
    assert len(cookie.value) >= 43  # 256 bits, url-safe base64
    device = TrustedDevice.objects.get()
    assert device.token_digest == digest(cookie.value)
    assert cookie.value not in str(TrustedDevice.objects.values().get())
    assert device.expires_at > timezone.now() + timedelta(days=13)


def test_the_name_gets_the_host_prefix_and_secure_on_https(rf) -> None:
    assert cookie_name(rf.get("/", secure=True)) == "__Host-twofold-trusted"
    assert cookie_name(rf.get("/")) == COOKIE


def https_password_step(client: Client):
    client.post("/signin", {"username": "alice@contoso.example"}, secure=True)
    return client.post("/signin/password", {"password": STRONG_PASSWORD}, secure=True)


def test_on_https_the_cookie_is_host_prefixed_secure_and_still_recognised(
    alice, outbox, settings
) -> None:
    settings.TWOFOLD_BASE_URL = "https://twofold.contoso.example"
    settings.SESSION_COOKIE_SECURE = settings.CSRF_COOKIE_SECURE = True
    client = Client()
    https_password_step(client)
    response = client.post(
        "/signin/verify", {"code": outbox.last_code(), "remember": "on"}, secure=True
    )
    assert COOKIE not in response.cookies
    cookie = response.cookies["__Host-twofold-trusted"]
    assert (cookie["secure"], cookie["httponly"], cookie["path"], cookie["domain"]) == (
        True,
        True,
        "/",
        "",
    )
    client.post("/signout", secure=True)
    assert https_password_step(client)["Location"] == "/account"


def test_a_trusted_browser_skips_the_second_step(trusted_client) -> None:
    assert password_step(trusted_client)["Location"] == "/account"


def test_it_still_needs_the_password(trusted_client) -> None:
    response = password_step(trusted_client, password="wrong password!")
    assert response.status_code == 200
    assert "_auth_user_id" not in trusted_client.session


def test_it_never_counts_as_a_recent_second_factor(trusted_client) -> None:
    password_step(trusted_client)
    response = trusted_client.get("/account/security-verification/authenticator/setup")
    assert response["Location"].startswith("/account/verify")


def test_it_stops_working_at_expiry(trusted_client) -> None:
    TrustedDevice.objects.update(expires_at=timezone.now())
    assert asks_again(trusted_client)


def test_restore_by_the_user_forgets_it(trusted_client, alice) -> None:
    restore_trusted_devices(alice)
    assert asks_again(trusted_client)


def test_signing_out_everywhere_forgets_it(trusted_client, alice) -> None:
    sign_out_everywhere(alice)
    assert asks_again(trusted_client)


def test_moving_the_organisations_epoch_forgets_it(trusted_client, alice) -> None:
    organisation = alice.organisation
    organisation.trusted_device_epoch += 1
    organisation.save()
    assert asks_again(trusted_client)


def test_turning_two_step_verification_off_and_on_forgets_it(trusted_client, alice) -> None:
    set_mfa_state(User.objects.filter(pk=alice.pk), MfaState.DISABLED)
    set_mfa_state(User.objects.filter(pk=alice.pk), MfaState.ENABLED)
    assert asks_again(trusted_client)


def _request_with(rf, client: Client, name: str = COOKIE):
    """A request carrying the trusted-device cookie that ``client`` holds."""
    request = rf.get("/signin/password")
    request.COOKIES[name] = client.cookies[name].value
    return request


def test_a_blocked_user_gets_nothing_from_it(trusted_client, alice, rf) -> None:
    # The password step refuses blocked users first; the device check refuses them too.
    request = _request_with(rf, trusted_client)
    assert recognises(request, User.objects.get(pk=alice.pk))
    User.objects.filter(pk=alice.pk).update(is_blocked=True)  # the epoch left as it was
    assert not recognises(request, User.objects.get(pk=alice.pk))


def test_requiring_contact_methods_again_makes_the_browser_ask_again(
    trusted_client, alice, rf
) -> None:
    request = _request_with(rf, trusted_client)
    require_reregistration(User.objects.filter(pk=alice.pk))
    assert not recognises(request, User.objects.get(pk=alice.pk))
    assert password_step(trusted_client)["Location"] != "/account"
    assert "_auth_user_id" not in trusted_client.session


def test_a_cookie_stolen_for_another_user_is_refused(trusted_client, make_user) -> None:
    make_user("bob@contoso.example", mfa_state=MfaState.ENABLED)
    from twofold.methods.phone import services as phone_services

    phone_services.set_number(User.objects.get(username="bob@contoso.example"),
                              "authentication", "+14255550111")  # fmt: skip
    response = password_step(trusted_client, username="bob@contoso.example")
    assert response["Location"] == "/signin/verify"


def test_restore_is_one_update_whatever_the_number_of_devices(
    alice, django_assert_max_num_queries
) -> None:
    for index in range(50):
        TrustedDevice.objects.create(
            user=alice,
            token_digest=f"{index:064d}",
            user_epoch=0,
            organisation_epoch=0,
            expires_at=timezone.now() + timedelta(days=1),
        )
    # the update, the audit insert and its chain head (lock, update), savepoints
    with django_assert_max_num_queries(6):
        restore_trusted_devices(alice)


def test_restoring_for_the_whole_organisation_makes_every_browser_ask_again(
    trusted_client, alice
) -> None:
    restore_remembered_devices_everywhere(alice.organisation, actor=alice)
    assert asks_again(trusted_client)


def test_restoring_for_the_whole_organisation_is_one_update_and_one_event(
    alice, make_user, django_assert_max_num_queries
) -> None:
    for index in range(20):
        make_user(f"user{index}@contoso.example")
    # the update, the audit insert and its chain head (lock, update), savepoints
    with django_assert_max_num_queries(6):
        restore_remembered_devices_everywhere(alice.organisation, actor=alice)
    events = AuditEvent.objects.filter(action=AuditAction.TRUSTED_DEVICES_FORGOTTEN)
    assert events.count() == 1
    assert events.get().organisation_id == alice.organisation.pk


def test_turning_the_policy_off_stops_existing_devices_at_once(trusted_client, alice) -> None:
    organisation = alice.organisation
    organisation.remember_device_days = 0
    organisation.save()
    assert asks_again(trusted_client)


def test_shortening_the_policy_applies_to_existing_devices(trusted_client, alice) -> None:
    TrustedDevice.objects.update(created_at=timezone.now() - timedelta(days=3))
    organisation = alice.organisation
    organisation.remember_device_days = 2
    organisation.save()
    assert asks_again(trusted_client)


def test_a_fraud_block_forgets_devices_for_good(trusted_client, alice, outbox) -> None:
    from twofold.delivery.base import call_answered
    from twofold.methods import verification
    from twofold.methods.phone import services as phone_services

    phone_services.set_number(alice, "office", "+14255550199")
    challenge = verification.start_challenge(alice, "call:office", "signin")
    call_answered.send(sender=None, reference=str(challenge.pk), digits="0#")
    User.objects.filter(pk=alice.pk).update(is_blocked=False)  # an administrator unblocks
    assert asks_again(trusted_client)


def test_a_sign_in_halfway_through_ends_when_the_user_signs_out_everywhere(
    client, alice, outbox
) -> None:
    password_step(client)
    code = outbox.last_code()
    sign_out_everywhere(alice)
    response = client.post("/signin/verify", {"code": code})
    assert "_auth_user_id" not in client.session
    assert response.status_code in (302, 200)
    assert client.get("/account").status_code == 302  # back to the sign-in page

import os
import subprocess
import sys
import time

import pytest
from django.conf import settings

from conftest import AUTH_NUMBER
from twofold.core.ratelimit import Limit

ON_REDIS = "redis" in settings.CACHES["default"]["BACKEND"]


def test_a_limit_is_exceeded_after_its_count_within_the_window() -> None:
    limit = Limit("test", 3, 60)
    assert [limit.hit("alice") for _ in range(3)] == [1, 2, 3]
    assert limit.exceeded("alice")
    assert not limit.exceeded("bob")


def test_a_reset_starts_the_count_again() -> None:
    limit = Limit("test", 2, 60)
    limit.hit("alice")
    limit.hit("alice")
    limit.reset("alice")
    assert limit.count("alice") == 0


def test_the_wait_is_the_time_left_in_the_subjects_window(monkeypatch) -> None:
    limit = Limit("test-wait", 1, 600)
    limit.hit("alice")
    now = time.time()
    monkeypatch.setattr(time, "time", lambda: now + 400)  # the window opened 400 s ago
    assert 199 <= limit.retry_after("alice") <= 201


def test_the_wait_is_the_whole_window_when_it_is_not_known() -> None:
    assert Limit("test-wait", 1, 600).retry_after("nobody") == 600


def test_a_reset_forgets_when_the_window_closes() -> None:
    limit = Limit("test-wait", 1, 600)
    limit.hit("alice")
    limit.reset("alice")
    assert limit.retry_after("alice") == 600


def test_the_cache_never_holds_the_subject_in_clear() -> None:
    key = Limit("test", 2, 60)._key("alice@contoso.example")
    assert "alice" not in key


def _hit_in_another_process(scope: str, limit: int, window: int, subject: str, times: int) -> None:
    """Count attempts from a second Python process sharing the same cache (Redis)."""
    code = (
        "import django; django.setup()\n"
        "from twofold.core.ratelimit import Limit\n"
        f"limit = Limit({scope!r}, {limit}, {window})\n"
        f"for _ in range({times}): limit.hit({subject!r})\n"
    )
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "twofold.settings"}
    env["REDIS_URL"] = settings.CACHES["default"]["LOCATION"]
    subprocess.run([sys.executable, "-c", code], env=env, check=True, timeout=60)


@pytest.mark.skipif(not ON_REDIS, reason="counters are shared between processes only on Redis")
@pytest.mark.django_db
def test_lockout_counts_failures_from_every_server_process(with_redis_user) -> None:
    from twofold.methods import verification

    user, challenge, wrong = with_redis_user
    _hit_in_another_process("mfa-fail-user", 3, 15 * 60, str(user.pk), 2)
    with pytest.raises(verification.SecondFactorLocked):
        verification.verify_code(user, challenge.pk, wrong)


@pytest.fixture
def with_redis_user(user, outbox, settings):
    from twofold.methods import verification
    from twofold.methods.models import ChallengePurpose
    from twofold.methods.phone import services as phone_services

    organisation = user.organisation
    organisation.lockout_threshold = 3
    organisation.save()
    phone_services.set_number(user, "authentication", "+14255550134")
    challenge = verification.start_challenge(user, "text:authentication", ChallengePurpose.SIGNIN)
    return user, challenge, outbox.wrong_code()


ATTACKER = "198.51.100.7"


@pytest.fixture
def texting_user(user):
    from twofold.methods.phone import services as phone_services

    phone_services.set_number(user, "authentication", AUTH_NUMBER, mode="text")
    return user


@pytest.mark.skipif(not ON_REDIS, reason="counters are shared between processes only on Redis")
@pytest.mark.django_db
def test_the_address_limit_counts_failures_from_every_server_process(
    texting_user, outbox, settings
) -> None:
    from twofold.core import context
    from twofold.core.errors import RateLimited
    from twofold.methods import verification
    from twofold.methods.models import ChallengePurpose

    settings.TWOFOLD = {**settings.TWOFOLD, "mfa_failures_per_address": 3}
    window = settings.TWOFOLD["mfa_failures_window_seconds"]
    challenge = verification.start_challenge(
        texting_user, "text:authentication", ChallengePurpose.SIGNIN
    )
    _hit_in_another_process("mfa-fail-address", 3, window, ATTACKER, 3)
    token = context.activate(context.RequestContext(client_address=ATTACKER))
    try:
        with pytest.raises(RateLimited) as refused:
            verification.verify_code(texting_user, challenge.pk, outbox.last_code())
    finally:
        context.deactivate(token)
    assert not isinstance(refused.value, verification.SecondFactorLocked)


def _text_caps(user, settings) -> dict[str, tuple[str, int, int, str]]:
    """Each delivery counter: (scope, limit, window, subject) as the delivery service keys it."""
    config = settings.TWOFOLD
    return {
        "cooldown": (
            "delivery-cooldown",
            1,
            config["resend_cooldown_seconds"],
            f"{user.pk}\n{AUTH_NUMBER}",
        ),
        "per-user": ("delivery-user", config["texts_per_user_per_hour"], 3600, str(user.pk)),
        "per-number": ("delivery-number", config["texts_per_number_per_hour"], 3600, AUTH_NUMBER),
    }


@pytest.mark.skipif(not ON_REDIS, reason="counters are shared between processes only on Redis")
@pytest.mark.django_db
@pytest.mark.parametrize("cap", ["cooldown", "per-user", "per-number"])
def test_texts_sent_by_another_server_process_count_towards_the_caps(
    texting_user, outbox, settings, cap
) -> None:
    from twofold.core.errors import RateLimited
    from twofold.methods import verification
    from twofold.methods.models import ChallengePurpose

    settings.TWOFOLD = {
        **settings.TWOFOLD,
        "resend_cooldown_seconds": 30,
        "texts_per_user_per_hour": 3,
        "texts_per_number_per_hour": 3,
    }
    scope, limit, window, subject = _text_caps(texting_user, settings)[cap]
    _hit_in_another_process(scope, limit, window, subject, limit)
    with pytest.raises(RateLimited):
        verification.start_challenge(texting_user, "text:authentication", ChallengePurpose.SIGNIN)
    assert outbox.texts() == []


def test_forgiving_takes_back_one_attempt() -> None:
    limit = Limit("test", 3, 60)
    limit.hit("alice")
    limit.hit("alice")
    limit.forgive("alice")
    assert limit.count("alice") == 1


def test_forgiving_once_the_window_has_closed_is_harmless() -> None:
    limit = Limit("test", 3, 60)
    limit.forgive("nobody counted")
    assert limit.count("nobody counted") == 0


def _buckets(request_context) -> list[tuple[str, str]]:
    from twofold.core import context
    from twofold.core.ratelimit import AddressLimits

    token = context.activate(request_context)
    try:
        limits = AddressLimits.current(Limit("per-address", 5, 60))
    finally:
        context.deactivate(token)
    return [(limit.scope, subject) for limit, subject in limits.buckets]


def test_a_browser_counts_in_its_own_address() -> None:
    from twofold.core.context import RequestContext

    assert _buckets(RequestContext(client_address="192.0.2.1")) == [("per-address", "192.0.2.1")]


def test_an_integration_that_reported_no_address_counts_only_in_its_own_ceiling() -> None:
    from twofold.core.context import RequestContext

    vpn = RequestContext(client_address="192.0.2.1", integration="api-client:7")
    assert _buckets(vpn) == [("integration-failures", "api-client:7")]


def test_an_integration_that_reported_an_address_counts_in_it_and_in_its_ceiling() -> None:
    from twofold.core.context import RequestContext

    vpn = RequestContext(
        client_address="192.0.2.1", integration="api-client:7", reported_address="198.51.100.7"
    )
    assert _buckets(vpn) == [
        ("per-address", "198.51.100.7"),
        ("integration-failures", "api-client:7"),
    ]


def test_reported_addresses_of_one_ipv6_network_count_in_one_bucket() -> None:
    from twofold.core.context import RequestContext

    def reported(address: str) -> list[tuple[str, str]]:
        return _buckets(
            RequestContext(
                client_address="192.0.2.1", integration="api-client:7", reported_address=address
            )
        )

    assert reported("2001:db8:7:1::1") == reported("2001:db8:7:1:ffff:1:2:3")

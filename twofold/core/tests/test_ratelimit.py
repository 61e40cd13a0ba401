import os
import subprocess
import sys

import pytest
from django.conf import settings

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

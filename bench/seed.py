"""Seed twofold's benchmark organisation by bulk inserts (never one ORM save per row).

User ``index`` is ``u<index:07d>@bench.example`` with the password ``PASSWORD``, an
authenticator app whose seed is ``secret(index)`` (privacyIDEA's token for the same user
gets the same seed), an authentication phone, and for every third user an office phone
too: two or three methods each. Seeding is kept between runs (codes are refused only
for time steps already used, and every run is minutes after the last), and grows the
organisation to the size asked for.

Needs ``django.setup()`` to have run with the benchmark's environment.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from datetime import timedelta

from django.contrib.auth.hashers import make_password
from django.db import connection
from django.utils import timezone

from twofold.accounts.models import MfaState, User
from twofold.api import clients
from twofold.core import crypto
from twofold.methods.authenticator.models import AuthenticatorDevice
from twofold.methods.models import Challenge, ChallengePurpose
from twofold.methods.phone.models import Phone
from twofold.organisations.models import Organisation
from twofold.organisations.services import create_organisation

SLUG = "bench"
DOMAIN = "bench.example"
PASSWORD = "correct-horse-battery"
BATCH = 10_000


def username(index: int) -> str:
    return f"u{index:07d}@{DOMAIN}"


def secret(index: int) -> bytes:
    """The TOTP seed of user ``index`` (20 bytes), the same in twofold and privacyIDEA."""
    return hmac.new(b"twofold-bench", str(index).encode(), hashlib.sha1).digest()


def code(index: int, now: float | None = None) -> str:
    return crypto.totp(secret(index), time.time() if now is None else now)


def organisation() -> Organisation:
    found = Organisation.objects.filter(slug=SLUG).first()
    return found or create_organisation("Bench", [DOMAIN], slug=SLUG)


def seeded(org: Organisation) -> int:
    return User.objects.filter(organisation=org, is_admin=False).count()


def seed_users(count: int, *, log=print) -> Organisation:
    """Grow the organisation to ``count`` users (indexes 0 .. count-1) with their methods."""
    org = organisation()
    if not User.objects.filter(organisation=org, is_admin=True).exists():
        User.objects.create(
            organisation=org, username=f"admin@{DOMAIN}", password="!", is_admin=True
        )
    have = seeded(org)
    if have >= count:
        return org
    started = time.perf_counter()
    # One hash for everybody: every user pays the full Argon2id cost at sign-in all the same.
    password = make_password(PASSWORD)
    for start in range(have, count, BATCH):
        indexes = range(start, min(start + BATCH, count))
        users = User.objects.bulk_create(
            User(
                organisation=org,
                username=username(index),
                password=password,
                mfa_state=MfaState.ENFORCED,
                preferred_option="app_code",
            )
            for index in indexes
        )
        AuthenticatorDevice.objects.bulk_create(
            AuthenticatorDevice(user=user, name="Phone app", secret=crypto.encrypt(secret(index)))
            for index, user in zip(indexes, users, strict=True)
        )
        Phone.objects.bulk_create(
            [
                Phone(user=user, role="authentication", number=f"+1425{index:07d}")
                for index, user in zip(indexes, users, strict=True)
            ]
            + [
                Phone(user=user, role="office", number=f"+1206{index:07d}")
                for index, user in zip(indexes, users, strict=True)
                if index % 3 == 0
            ]
        )
        log(f"  twofold: {start + len(indexes):,} users seeded")
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    log(f"  twofold: seeded {count - have:,} users in {time.perf_counter() - started:.1f} s")
    return org


def api_token(org: Organisation) -> str:
    """A fresh API client with the validate scope; its bearer token."""
    admin = User.objects.get(organisation=org, is_admin=True)
    _client, token = clients.create(org, f"bench {time.time():.0f}", ["validate"], actor=admin)
    return token


def open_challenges(indexes: range) -> dict[int, str]:
    """An open API challenge for the app code of each user (what POST
    /validate/challenges leaves behind), by bulk insert; their ids by user index. They
    last an hour, not five minutes, so that a long run does not outlive them."""
    users = dict(
        User.objects.filter(username__in=[username(index) for index in indexes]).values_list(
            "username", "pk"
        )
    )
    expires = timezone.now() + timedelta(hours=1)
    challenges = Challenge.objects.bulk_create(
        Challenge(
            user_id=users[username(index)],
            method="authenticator",
            option="app_code",
            purpose=ChallengePurpose.API,
            expires_at=expires,
            correlation_id="bench",
            client_address="127.0.0.1",
        )
        for index in indexes
    )
    return {index: str(challenge.pk) for index, challenge in zip(indexes, challenges, strict=True)}

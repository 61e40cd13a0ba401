"""Set-password links: for a user without a password, only the newest link works."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from django.contrib.auth.tokens import default_token_generator
from django.utils.http import urlsafe_base64_decode

from twofold.accounts import services as accounts
from twofold.accounts.models import User

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "violet kitchen telescope morning"


def link_works(link: str) -> bool:
    uid, token = urlsplit(link).path.rsplit("/", 2)[1:]
    user = User.objects.get(pk=urlsafe_base64_decode(uid).decode())
    return default_token_generator.check_token(user, token)


@pytest.fixture
def waiting(organisation) -> User:
    """A user made by an administrator, who has not set a password yet."""
    return accounts.create_user(organisation, "carol@contoso.example", None)


def test_a_new_link_voids_the_earlier_one_of_a_user_without_a_password(waiting) -> None:
    earlier = accounts.password_link(waiting)
    newer = accounts.password_link(User.objects.get(pk=waiting.pk))
    assert (link_works(earlier), link_works(newer)) == (False, True)


def test_a_link_never_replaces_a_password_set_meanwhile(waiting) -> None:
    stale = User.objects.get(pk=waiting.pk)
    accounts.set_password(waiting, NEW_PASSWORD, via="test")
    accounts.password_link(stale)
    assert User.objects.get(pk=waiting.pk).check_password(NEW_PASSWORD)

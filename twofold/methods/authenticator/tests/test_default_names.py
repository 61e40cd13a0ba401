"""A default device name is shown in the reader's language, whichever it was stored in."""

from functools import partial

import pytest
from django.utils import translation

from twofold.methods.authenticator import services as authenticator
from twofold.methods.authenticator.models import AuthenticatorDevice
from twofold.methods.testing import prove_with_previous_step

pytestmark = pytest.mark.django_db


def add_app(user) -> None:
    secret = authenticator.new_secret()
    prove_with_previous_step(
        secret, partial(authenticator.add_device, user, "Alice's phone", secret)
    )


def test_a_default_device_name_is_shown_in_the_readers_language(user) -> None:
    device = AuthenticatorDevice(user=user, name="Authenticator app (2)")
    with translation.override("zh-hans"):
        assert device.shown_name == "验证器应用 (2)"


def test_a_default_name_given_in_chinese_is_shown_in_english(user) -> None:
    device = AuthenticatorDevice(user=user, name="验证器应用")
    with translation.override("en"):
        assert device.shown_name == "Authenticator app"


def test_a_name_the_person_chose_is_shown_as_given(user) -> None:
    device = AuthenticatorDevice(user=user, name="Work phone")
    with translation.override("zh-hans"):
        assert device.shown_name == "Work phone"


def test_the_settings_page_shows_the_default_name_in_chinese(client, user) -> None:
    add_app(user)
    AuthenticatorDevice.objects.filter(user=user).update(name="Authenticator app")
    user.language = "zh-hans"
    user.save(update_fields=["language"])
    client.force_login(user, backend="twofold.accounts.backends.PasswordBackend")
    page = client.get("/account/security-verification").content.decode()
    assert "验证器应用" in page
    assert "Authenticator app" not in page

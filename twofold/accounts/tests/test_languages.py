"""Which language and time zone pages use: the person's own choice, then the organisation's
default, then the browser (Accept-Language or the sign-in page's switch); English else."""

from datetime import UTC, datetime

import pytest
from django.test import Client

from conftest import STRONG_PASSWORD
from twofold.accounts.models import User
from twofold.audit.models import AuditAction, AuditEvent

pytestmark = pytest.mark.django_db

CHINESE = "zh-hans"


def signed_in(user, **headers) -> Client:
    client = Client(**headers)
    client.post("/signin", {"username": user.username})
    assert client.post("/signin/password", {"password": STRONG_PASSWORD}).status_code == 302
    return client


def _set(user, *, language: str = "", organisation: str = "") -> None:
    User.objects.filter(pk=user.pk).update(language=language)
    user.organisation.default_language = organisation
    user.organisation.save(update_fields=["default_language"])


class TestPrecedence:
    def test_without_any_preference_pages_are_english(self, user) -> None:
        page = signed_in(user).get("/account")
        assert "My account" in page.content.decode()
        assert page["Content-Language"] == "en"

    def test_the_browsers_accept_language_applies_when_nobody_chose(self, user) -> None:
        page = signed_in(user, HTTP_ACCEPT_LANGUAGE="zh-CN,zh;q=0.9").get("/account")
        assert "我的账户" in page.content.decode()

    def test_the_organisations_default_beats_the_browser(self, user) -> None:
        _set(user, organisation=CHINESE)
        page = signed_in(user, HTTP_ACCEPT_LANGUAGE="en").get("/account")
        assert "我的账户" in page.content.decode()
        assert page["Content-Language"] == CHINESE

    def test_the_users_own_choice_beats_the_organisation_and_the_browser(self, user) -> None:
        _set(user, language="en", organisation=CHINESE)
        page = signed_in(user, HTTP_ACCEPT_LANGUAGE="zh-CN").get("/account")
        assert "My account" in page.content.decode()
        _set(user, language=CHINESE, organisation="en")
        page = signed_in(user, HTTP_ACCEPT_LANGUAGE="en").get("/account")
        assert "我的账户" in page.content.decode()

    def test_the_second_step_already_speaks_the_users_language(self, make_user) -> None:
        from twofold.accounts.models import MfaState

        person = make_user("carol@contoso.example", mfa_state=MfaState.ENABLED)
        _set(person, language=CHINESE)
        client = Client()
        client.post("/signin", {"username": person.username})
        client.post("/signin/password", {"password": STRONG_PASSWORD})
        page = client.get("/signin/register", follow=True)
        assert "需要更多信息" in page.content.decode()

    def test_before_the_password_the_user_name_reveals_nothing(self, user) -> None:
        _set(user, language=CHINESE)
        client = Client()
        client.post("/signin", {"username": user.username})
        page = client.get("/signin/password")
        assert "Enter password" in page.content.decode()  # the browser's (default) language


class TestSwitchOnTheSignInPage:
    def test_the_sign_in_page_offers_each_language_in_its_own_words(self, client) -> None:
        body = client.get("/signin").content.decode()
        assert 'data-testid="language-switch"' in body
        assert ">English</button>" in body
        assert ">简体中文</button>" in body

    def test_the_switchs_label_takes_the_languages_own_colon(self) -> None:
        body = Client(HTTP_ACCEPT_LANGUAGE="zh-Hans").get("/signin").content.decode()
        assert ">语言：</span>" in body
        english = Client(HTTP_ACCEPT_LANGUAGE="en").get("/signin").content.decode()
        assert ">Language:</span>" in english

    def test_choosing_chinese_sets_the_cookie_and_returns_to_the_page(self, client) -> None:
        response = client.post("/language", {"language": CHINESE, "next": "/signin"})
        assert response.status_code == 302
        assert response["Location"] == "/signin"
        assert response.cookies["django_language"].value == CHINESE
        assert response.cookies["django_language"]["httponly"]
        assert "登录" in client.get("/signin").content.decode()

    def test_an_unknown_language_is_a_clear_400(self, client) -> None:
        response = client.post("/language", {"language": "xx-evil", "next": "/signin"})
        assert response.status_code == 400
        assert "django_language" not in response.cookies

    def test_a_next_address_elsewhere_is_ignored(self, client) -> None:
        response = client.post("/language", {"language": "en", "next": "https://evil.example/"})
        assert response["Location"] == "/signin"

    def test_the_switch_needs_post_and_csrf(self) -> None:
        client = Client(enforce_csrf_checks=True)
        assert client.get("/language").status_code == 405
        assert client.post("/language", {"language": CHINESE}).status_code == 403


class TestMyAccountPreferences:
    def test_saving_a_language_and_time_zone_is_audited_and_used(self, user) -> None:
        client = signed_in(user)
        response = client.post("/account", {"language": CHINESE, "time_zone": "Asia/Shanghai"})
        assert response.status_code == 302
        user.refresh_from_db()
        assert (user.language, user.time_zone) == (CHINESE, "Asia/Shanghai")
        event = AuditEvent.objects.get(action=AuditAction.PREFERENCES_CHANGED)
        assert event.details["changes"]["language"] == {"before": "", "after": CHINESE}
        page = client.get("/account").content.decode()
        assert "你的语言和时区已保存。" in page
        assert response.cookies["django_language"].value == CHINESE  # for after sign-out

    def test_an_unknown_time_zone_is_refused_next_to_the_field(self, user) -> None:
        client = signed_in(user)
        response = client.post("/account", {"language": "", "time_zone": "Mars/Olympus"})
        assert response.status_code == 400
        assert "field-error" in response.content.decode()
        user.refresh_from_db()
        assert user.time_zone == ""
        assert not AuditEvent.objects.filter(action=AuditAction.PREFERENCES_CHANGED).exists()

    def test_an_unknown_language_is_refused(self, user) -> None:
        response = signed_in(user).post("/account", {"language": "klingon", "time_zone": ""})
        assert response.status_code == 400

    def test_the_service_checks_the_time_zone_against_zoneinfo(self, user) -> None:
        from twofold.accounts.services import set_preferences
        from twofold.core.errors import InvalidInput

        with pytest.raises(InvalidInput):
            set_preferences(user, language="", time_zone="Europe/Atlantis")

    def test_times_are_shown_in_the_users_time_zone(self, user) -> None:
        User.objects.filter(pk=user.pk).update(
            time_zone="Asia/Shanghai", last_login=datetime(2026, 11, 23, 1, 30, tzinfo=UTC)
        )
        client = signed_in(user)
        User.objects.filter(pk=user.pk).update(last_login=datetime(2026, 11, 23, 1, 30, tzinfo=UTC))
        body = client.get("/account").content.decode()
        assert "2026-11-23 09:30 CST" in body

    def test_without_a_time_zone_times_are_utc(self, user) -> None:
        client = signed_in(user)
        User.objects.filter(pk=user.pk).update(last_login=datetime(2026, 11, 23, 1, 30, tzinfo=UTC))
        assert "2026-11-23 01:30 UTC" in client.get("/account").content.decode()

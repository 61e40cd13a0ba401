"""The pages around push: activation on the settings side, the app's own files, the
waiting page's number, the application a push names."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from twofold.accounts.models import MfaState
from twofold.audit.models import AuditEvent
from twofold.methods import verification
from twofold.methods.authenticator import actions as authenticator_actions
from twofold.methods.authenticator import activation, kinds, push
from twofold.methods.authenticator.models import PushNotice
from twofold.methods.authenticator.tests.phone_app import PhoneApp
from twofold.methods.models import ChallengePurpose

pytestmark = pytest.mark.django_db

SETUP = "/account/security-verification/authenticator/setup"
ACTIVATE = "/account/security-verification/authenticator/activate"
STATUS = "/account/security-verification/authenticator/activate/status"


def shown_code(response) -> str:
    match = re.search(r'data-testid="activation-code">([\d ]+)<', response.content.decode())
    return match.group(1).replace(" ", "")


class TestActivationPage:
    def test_the_setup_page_offers_notifications(self, verified) -> None:
        assert 'data-testid="activate-push"' in verified.get(SETUP).content.decode()

    def test_no_offer_where_the_organisation_allows_codes_only(self, verified, user) -> None:
        user.organisation.allowed_methods = [kinds.APP_CODE]
        user.organisation.save()
        assert 'data-testid="activate-push"' not in verified.get(SETUP).content.decode()
        assert verified.post(ACTIVATE).status_code == 302

    def test_activating_needs_a_recent_second_factor(self, signed_in, user, enrol) -> None:
        enrol(user)
        response = signed_in.post(ACTIVATE)
        assert response.status_code == 302
        assert response.url.startswith("/account/verify")
        assert not AuditEvent.objects.filter(
            action=authenticator_actions.ACTIVATION_ISSUED
        ).exists()

    def test_the_page_shows_a_qr_code_a_link_and_the_code(self, verified) -> None:
        response = verified.post(ACTIVATE)
        page = response.content.decode()
        code = shown_code(response)
        assert re.search(r'data-testid="activation-qr"[^>]*><svg', page)
        assert f"/authenticator/#activate={code}" in page
        assert len(code) == activation.CODE_DIGITS
        assert " style=" not in page
        assert "<script>" not in page

    def test_the_page_learns_when_the_app_is_activated(self, verified, client) -> None:
        code = shown_code(verified.post(ACTIVATE))
        assert verified.get(STATUS).json() == {"activated": False}
        PhoneApp().activate(client, code)
        assert verified.get(STATUS).json() == {"activated": True}

    def test_the_settings_panel_lists_the_app_with_its_platform(
        self, verified, client, user
    ) -> None:
        code = shown_code(verified.post(ACTIVATE))
        PhoneApp().activate(client, code, name="Work phone", platform="Android")
        page = verified.get("/account/security-verification").content.decode()
        assert 'data-testid="push-badge"' in page
        assert "Work phone" in page
        assert "Android" in page
        assert "Notify me through the app" in page


class TestTheApp:
    def test_the_app_page_loads_its_script_from_a_file(self, client) -> None:
        page = client.get("/authenticator/").content.decode()
        assert 'type="module" src="/static/authenticator/app.js"' in page
        assert "<script>" not in page
        assert " style=" not in page

    def test_the_manifest_makes_it_installable(self, client) -> None:
        manifest = client.get("/authenticator/manifest.webmanifest")
        assert manifest["Content-Type"].startswith("application/manifest+json")
        body = manifest.json()
        assert (body["display"], body["start_url"]) == ("standalone", "/authenticator/")

    def test_the_service_worker_is_served_with_the_apps_scope(self, client) -> None:
        worker = client.get("/authenticator/sw.js")
        assert worker["Content-Type"].startswith("text/javascript")
        assert "/static/authenticator/app.js" in worker.content.decode()

    def test_the_api_answers_cross_origin_preflights_without_credentials(self, client) -> None:
        answer = client.options("/authenticator/api/pending")
        assert answer.status_code == 204
        assert answer["Access-Control-Allow-Origin"] == "*"
        assert "Access-Control-Allow-Credentials" not in answer


ZH = {"HTTP_ACCEPT_LANGUAGE": "zh-CN,zh;q=0.9,en;q=0.8"}


class TestThePhonesLanguage:
    """The app follows the phone's language (issue 10): Accept-Language, nothing else."""

    def test_the_app_page_is_in_the_phones_language(self, client) -> None:
        page = client.get("/authenticator/", **ZH)
        assert '<html lang="zh-hans">' in page.content.decode()
        assert "还没有账户" in page.content.decode()
        assert page["Content-Language"] == "zh-hans"
        assert "Accept-Language" in page["Vary"]
        english = client.get("/authenticator/", HTTP_ACCEPT_LANGUAGE="en-GB,en;q=0.9")
        assert "No accounts yet" in english.content.decode()

    def test_neither_a_language_cookie_nor_a_signed_in_setting_changes_it(
        self, signed_in, user, settings
    ) -> None:
        user.language = "en"
        user.save()
        signed_in.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
        page = signed_in.get("/authenticator/", **ZH).content.decode()
        assert '<html lang="zh-hans">' in page
        assert "还没有账户" in page

    def test_the_manifest_describes_the_app_in_the_phones_language(self, client) -> None:
        body = client.get("/authenticator/manifest.webmanifest", **ZH).json()
        assert body["description"] == "批准登录请求并显示验证码。"

    def test_the_api_refuses_in_the_phones_language(self, client, user) -> None:
        _issued, code = activation.issue(user)
        wrong = "0" * 12 if code != "0" * 12 else "1" * 12
        answer = PhoneApp().activate(client, wrong, headers={"Accept-Language": "zh-CN"})
        assert answer.status_code == 400
        assert answer.json()["message"] == "此激活链接已失效。请在设置页面上获取新的激活链接。"
        assert answer["Content-Language"] == "zh-hans"
        english = PhoneApp().activate(client, wrong, headers={"Accept-Language": "en"})
        assert english.json()["message"].startswith("This activation link is not valid any more")

    def test_the_api_checks_its_input_in_the_phones_language(self, client) -> None:
        answer = client.post(
            "/authenticator/api/activate",
            '{"code": 7}',
            content_type="application/json",
            HTTP_ACCEPT_LANGUAGE="zh-CN",
        )
        assert answer.json()["message"] == "code 的值必须是文本。"

    def test_a_preflight_lets_the_app_send_its_language(self, client) -> None:
        answer = client.options("/authenticator/api/decisions")
        assert "Accept-Language" in answer["Access-Control-Allow-Headers"]


class TestSignInPage:
    def test_the_waiting_page_shows_the_number(self, client, user) -> None:
        user.mfa_state = MfaState.ENABLED
        user.save()
        _issued, code = activation.issue(user)
        PhoneApp().activate(client, code)
        client.post("/signin", {"username": user.username})
        client.post("/signin/password", {"password": "correct horse battery staple"})
        page = client.get("/signin/verify").content.decode()
        number = PushNotice.objects.get().number
        assert re.search(rf'data-testid="push-number"[^>]*>{number}<', page)


class TestApplicationName:
    def test_a_push_names_the_application_it_was_started_for(self, client, user) -> None:
        from twofold.core import context

        _issued, code = activation.issue(user)
        PhoneApp().activate(client, code)
        with context.for_application("Payroll"):
            challenge = verification.start_challenge(
                user, push.APP_NOTIFICATION, ChallengePurpose.SIGNIN
            )
        assert challenge.push_notice.application == "Payroll"

    def test_an_openid_connect_client_is_found_from_the_sign_in_continuation(self, user) -> None:
        from twofold.oidc import services as oidc
        from twofold.oidc.models import Application

        application, _secret = oidc.register_application(
            user.organisation,
            actor=user,
            name="Expenses",
            client_type=Application.CLIENT_PUBLIC,
            redirect_uris=["https://expenses.contoso.example/callback"],
        )
        url = f"/oauth2/authorize/continue?client_id={application.client_id}&scope=openid"
        assert oidc.application_named_in(url, user.organisation) == "Expenses"
        assert oidc.application_named_in("/account", user.organisation) == ""


class TestStepUp:
    def test_a_push_confirms_its_you_before_a_change(self, signed_in, client, user) -> None:
        phone = PhoneApp()
        _issued, code = activation.issue(user)
        phone.activate(Client(), code)
        page = signed_in.get("/account/verify").content.decode()
        assert 'data-testid="start-app_notification"' in page
        signed_in.post("/account/verify/start", {"option": push.APP_NOTIFICATION})
        page = signed_in.get("/account/verify").content.decode()
        number = PushNotice.objects.get().number
        assert re.search(rf'data-testid="push-number"[^>]*>{number}<', page)
        assert signed_in.post("/account/verify/complete")["Location"] == "/account/verify"
        challenge = PushNotice.objects.get().challenge
        assert phone.decide(Client(), challenge.pk, "approve", number).json()["state"] == (
            "approved"
        )
        response = signed_in.post("/account/verify/complete")
        assert response["Location"] == "/account/security-verification"

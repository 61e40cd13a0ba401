"""Texts and calls reach people in their own language (issue 10), within one SMS part."""

import re

import pytest
from django.utils import translation

from twofold.delivery.base import text_parts
from twofold.methods import verification
from twofold.methods.models import ChallengePurpose
from twofold.methods.phone import services as phone_services

from .conftest import AUTH_NUMBER, OFFICE_NUMBER

pytestmark = pytest.mark.django_db
SIGNIN = ChallengePurpose.SIGNIN
HAN = re.compile(r"[\u4e00-\u9fff]")


def _speaks(user, language: str = "", organisation_default: str = ""):
    user.language = language
    user.save(update_fields=["language"])
    user.organisation.default_language = organisation_default
    user.organisation.save(update_fields=["default_language"])
    return user


def test_a_zh_hans_user_gets_the_code_in_chinese_in_one_sms_part(with_phone, outbox) -> None:
    _speaks(with_phone, "zh-hans")
    verification.start_challenge(with_phone, "text:authentication", SIGNIN)
    body = outbox.texts()[0].body
    assert HAN.search(body), body
    assert "验证码" in body
    assert re.search(r"\b\d{6}\b", body)
    assert text_parts(body) == 1  # UCS-2: at most 70 characters


def test_the_organisations_default_language_applies_when_the_user_chose_none(
    with_phone, outbox
) -> None:
    _speaks(with_phone, "", organisation_default="zh-hans")
    verification.start_challenge(with_phone, "text:authentication", SIGNIN)
    assert "验证码" in outbox.texts()[0].body


def test_the_users_own_english_beats_a_chinese_organisation_default(with_phone, outbox) -> None:
    _speaks(with_phone, "en", organisation_default="zh-hans")
    verification.start_challenge(with_phone, "text:authentication", SIGNIN)
    assert outbox.texts()[0].body.endswith("is your verification code. It expires in 5 minutes.")


def test_the_recipients_language_wins_over_the_language_of_the_request(with_phone, outbox) -> None:
    _speaks(with_phone, "zh-hans")
    with translation.override("en"):  # an administrator's English page, say
        verification.start_challenge(with_phone, "text:authentication", SIGNIN)
    assert "验证码" in outbox.texts()[0].body


def test_a_call_says_its_script_in_chinese_and_keeps_the_language(with_phone, outbox) -> None:
    _speaks(with_phone, "zh-hans")
    phone_services.set_number(with_phone, "office", OFFICE_NUMBER, "1234")
    verification.start_challenge(with_phone, "call:office", SIGNIN)
    call = outbox.calls()[0]
    assert "井号键" in call.body
    assert call.language == "zh-hans"


def test_the_notice_to_the_old_number_is_in_the_users_language(
    with_phone, outbox, settings, django_capture_on_commit_callbacks
) -> None:
    settings.TWOFOLD = {**settings.TWOFOLD, "resend_cooldown_seconds": 0}
    _speaks(with_phone, "zh-hans")
    challenge = phone_services.request_change(with_phone, "authentication", "+14255550100")
    verification.verify_code(with_phone, challenge.pk, outbox.last_code())
    with django_capture_on_commit_callbacks(execute=True):
        phone_services.confirm_change(with_phone, challenge)
    notice = next(text for text in outbox.texts() if text.to == AUTH_NUMBER and "更改" in text.body)
    assert "身份验证电话" in notice.body
    assert "XX00" in notice.body.replace(" ", "")  # the new number stays masked


def test_english_stays_the_default_for_a_user_without_a_preference(with_phone, outbox) -> None:
    verification.start_challenge(with_phone, "text:authentication", SIGNIN)
    body = outbox.texts()[0].body
    assert not HAN.search(body)
    assert text_parts(body) == 1


LONG_NAME = "Contoso Pharmaceuticals Research Laboratories"  # 45 characters
LONG_CHINESE_NAME = (
    "康拓索制药研究实验室国际控股集团有限公司华东区域分公司"
    "信息技术部门服务中心第二运营支持小组办公室"
)
WIDEST_MASK = "+880 XXXX XXX XX00"  # a long calling code and national number


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_the_notice_to_the_old_number_fits_one_sms_part_with_a_45_character_name(
    language: str,
) -> None:
    assert len(LONG_NAME) == 45
    with translation.override(language):
        notice = phone_services.old_number_notice(LONG_NAME, WIDEST_MASK)
    assert text_parts(notice) == 1
    assert "Contoso" in notice
    assert WIDEST_MASK in notice


def test_a_short_organisation_name_is_kept_whole() -> None:
    with translation.override("zh-hans"):
        notice = phone_services.old_number_notice("Contoso", "+1 XXX XXX XX00")
    assert notice.startswith("Contoso：")


def test_a_long_chinese_name_is_cut_short_to_fit_one_part() -> None:
    with translation.override("zh-hans"):
        notice = phone_services.old_number_notice(LONG_CHINESE_NAME, WIDEST_MASK)
    assert text_parts(notice) == 1
    assert notice.startswith(LONG_CHINESE_NAME[:20])
    assert "...：" in notice


def test_the_name_is_left_out_when_too_little_of_it_would_fit() -> None:
    crowded = " ".join([WIDEST_MASK] * 2)  # leaves room for fewer than 8 of the name's letters
    with translation.override("zh-hans"):
        notice = phone_services.old_number_notice(LONG_NAME, crowded)
    assert text_parts(notice) == 1
    assert notice.startswith("你的身份验证电话已更改为")


def test_the_notice_to_a_removed_authentication_phone_is_in_the_users_language(
    with_phone, outbox, django_capture_on_commit_callbacks
) -> None:
    _speaks(with_phone, "zh-hans")
    with django_capture_on_commit_callbacks(execute=True):
        phone_services.remove(with_phone, "authentication")
    notice = outbox.texts()[0]
    assert notice.to == AUTH_NUMBER
    assert "身份验证电话" in notice.body
    assert text_parts(notice.body) == 1


@pytest.mark.parametrize("language", ["en", "zh-hans"])
@pytest.mark.parametrize("name", ["Contoso", "Contoso Pharmaceuticals Europe " * 6])
def test_the_removal_notice_fits_one_sms_part(language, name) -> None:
    with translation.override(language):
        body = phone_services.removed_number_notice(name)
    assert text_parts(body) == 1
    assert "help desk" in body or "服务台" in body

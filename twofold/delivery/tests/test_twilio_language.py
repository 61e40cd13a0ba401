"""A call to a zh-Hans user is spoken in Mandarin: its script, and Twilio's own words."""

from __future__ import annotations

import pytest

from twofold.delivery import services
from twofold.delivery.tests.conftest import post_signed

pytestmark = pytest.mark.django_db

SCRIPT = "这是你的登录验证来电。请按井号键完成验证。"


def test_the_voice_webhook_speaks_chinese_with_a_mandarin_voice(
    client, twilio_api, reference
) -> None:
    services.place_call(
        "+14255550134", script=SCRIPT, reference=reference, user_key="1", language="zh-hans"
    )
    twiml = post_signed(client, f"/delivery/twilio/voice/{reference}", {"CallSid": "CA1"})
    text = twiml.content.decode()
    assert SCRIPT in text
    assert 'language="zh-CN"' in text
    assert "我们没有听到回应。再见。" in text  # the words after the gather, in Chinese too


def test_the_thanks_after_the_keys_are_chinese_too(client, twilio_api, reference) -> None:
    services.place_call(
        "+14255550134", script=SCRIPT, reference=reference, user_key="1", language="zh-hans"
    )
    response = post_signed(
        client, f"/delivery/twilio/gather/{reference}", {"CallSid": "CA1", "Digits": ""}
    )
    assert "谢谢。现在可以挂断了。" in response.content.decode()

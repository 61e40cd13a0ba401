"""`manage.py check --deploy`: the development outbox page must never face the internet."""

from __future__ import annotations

from django.conf import settings
from django.core.checks import Error, Tags, register


@register(Tags.security, deploy=True)
def dev_outbox_off_in_production(app_configs: object, **kwargs: object) -> list[Error]:
    if settings.TWOFOLD["dev_outbox"] and settings.TWOFOLD_BASE_URL.startswith("https://"):
        return [
            Error(
                "TWOFOLD_DEV_OUTBOX is on behind an https address: /dev/outbox shows every "
                "code texted and lets anyone answer any call.",
                hint="Unset TWOFOLD_DEV_OUTBOX outside a local demo.",
                id="twofold.E001",
            )
        ]
    return []

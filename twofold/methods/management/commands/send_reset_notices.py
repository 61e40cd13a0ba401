"""``twofold notices``: send the reset notices still queued (after a restart, or from cron)."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from twofold.methods import reset_notices
from twofold.methods.models import ResetNotice


class Command(BaseCommand):
    help = (
        "Text the users whose methods an administrator reset and who were not told yet "
        "(notices a restart interrupted, or that waited for a cap or a gateway)."
    )

    def handle(self, *args: object, **options: object) -> None:
        sent = reset_notices.send_due()
        waiting = ResetNotice.objects.count()
        self.stdout.write(f"{sent} sent, {waiting} still waiting")

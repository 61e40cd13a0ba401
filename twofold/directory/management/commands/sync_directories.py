"""``twofold sync-directories``: an incremental sync of every organisation's directory, for a
timer (deploy/systemd/twofold-sync-directories.timer) or cron (docs/directory.md).

A directory that does not answer (or refuses the service account) is said and passed over;
the others still sync. The exit status is 1 when any was passed over, so that the timer's
unit shows as failed and the journal says which."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from twofold.core.errors import TwofoldError
from twofold.directory import sync
from twofold.directory.management.commands.directory import report_lines
from twofold.directory.models import Directory


class Command(BaseCommand):
    help = "Synchronise every organisation's directory (incremental where it can)."

    def handle(self, *args: object, **options: object) -> None:
        passed_over = []
        directories = Directory.objects.select_related("organisation").order_by(
            "organisation__slug"
        )
        for directory in directories:
            slug = directory.organisation.slug
            try:
                report = sync.synchronise(directory)
            except TwofoldError as failed:
                passed_over.append(slug)
                self.stderr.write(f"{slug}: not synchronised: {failed.message}")
                continue
            for line in report_lines(slug, report):
                self.stdout.write(line)
        if passed_over:
            raise CommandError(f"not synchronised: {', '.join(passed_over)}")

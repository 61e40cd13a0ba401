"""``twofold rotate-keys``: re-encrypt every stored secret under the first encryption key."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError, CommandParser

from twofold.core import crypto, keyrotation


class Command(BaseCommand):
    help = (
        "Re-encrypt every stored secret under the first key of TWOFOLD_ENCRYPTION_KEYS, in "
        "batches each committed on its own; run it again after an interruption to finish. "
        "Safe while twofold is serving."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--batch-size",
            type=int,
            default=keyrotation.DEFAULT_BATCH_SIZE,
            help="rows per transaction (default %(default)s)",
        )

    def handle(self, *args: object, batch_size: int, **options: object) -> None:
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1")
        reports = keyrotation.rotate_all(batch_size)
        left = {label: count for label, count in keyrotation.left_under_old_keys().items() if count}
        keyrotation.record_run(reports, sum(left.values()))
        self.stdout.write("Keys (first is current): " + ", ".join(crypto.key_ids()))
        for report in reports:
            self.stdout.write(
                f"{report.label}: {report.rotated} re-encrypted, "
                f"{report.current} already under the first key"
            )
        unreadable = {r.label: r.unreadable for r in reports if r.unreadable}
        if unreadable:
            where = "; ".join(f"{label} ids {ids}" for label, ids in unreadable.items())
            raise CommandError(
                f"no configured key opens these stored secrets: {where}. Put back the key "
                "that encrypted them (after the first) and run rotate-keys again."
            )
        if left:
            raise CommandError(
                f"secrets written under an old key while this ran: {left}; run it again."
            )
        self.stdout.write(
            "Every stored secret is under the first key: the keys after it can be removed "
            "from TWOFOLD_ENCRYPTION_KEYS."
        )

"""``twofold rotate-keys``: re-encrypt every stored secret under the first encryption key.

The re-encryption is core's (core/keyrotation.py); the command lives with the audit log,
which records each run (core imports nothing above core: tests/test_layers.py)."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError, CommandParser

from twofold.audit.models import AuditAction, AuditResult
from twofold.audit.services import record
from twofold.core import crypto, keyrotation
from twofold.core.keyrotation import ColumnReport


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
        record_run(reports, sum(left.values()))
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


def record_run(reports: list[ColumnReport], left: int) -> None:
    """Audit one run: how many secrets it re-encrypted, how many no key opens, and how many
    are still not under the first key when it ends (``left``: those, and any written under
    an old key meanwhile), and the configured keys' IDs (the first is the one everything is
    under now), never a key. A run that left anything behind is a
    failure. Recorded with no organisation: the installation's own chain."""
    unreadable = sum(len(report.unreadable) for report in reports)
    record(
        AuditAction.KEYS_ROTATED,
        AuditResult.FAILURE if unreadable or left else AuditResult.SUCCESS,
        actor_label="twofold rotate-keys",
        count=sum(report.rotated for report in reports),
        unreadable=unreadable,
        left=left,
        key_ids=crypto.key_ids(),
    )

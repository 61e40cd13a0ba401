"""Re-encrypting every stored secret under the first encryption key (``twofold rotate-keys``).

After a new key is put first in TWOFOLD_ENCRYPTION_KEYS, new secrets are encrypted with it
but stored ones stay under the key that encrypted them. This walks every encrypted column
(``core.fields.encrypted_fields``: none is listed by hand) in primary-key order, in batches,
each batch in its own transaction with its rows locked, and re-encrypts what is not under
the first key yet. A run that is interrupted leaves every committed batch done and every
other row readable; a rerun skips what is done and finishes. Safe while serving: a row
being verified waits for its batch (or the batch for it), and the ciphertext written is
always one that every server with the same keys can read.

Each run is audited (``record_run``, beside the command in the audit app) in the
installation's own chain: a rotation belongs to no organisation, and the installation's
chain is there for such events (audit.chain).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from django.db import models, transaction

from twofold.core import crypto
from twofold.core.fields import encrypted_fields

log = logging.getLogger(__name__)

DEFAULT_BATCH_SIZE = 500


@dataclass
class ColumnReport:
    """What one run did to one encrypted column."""

    label: str  # "app_label.Model.field"
    rotated: int = 0  # re-encrypted under the first key by this run
    current: int = 0  # already under the first key
    unreadable: list[object] = field(default_factory=list)  # primary keys no key opens


def _label(column: models.Field) -> str:
    return f"{column.model._meta.label}.{column.name}"


def _rotate_batch(column: models.Field, after: object, size: int, report: ColumnReport) -> object:
    """Re-encrypt one batch of rows with a primary key above ``after``; the last key seen,
    or None when there are no more rows. Committed when it returns."""
    model, name = column.model, column.name
    with transaction.atomic():
        rows = list(
            model.objects.select_for_update()
            .filter(pk__gt=after)
            .exclude(**{name: ""})
            .order_by("pk")
            .values_list("pk", name)[:size]
        )
        for pk, ciphertext in rows:
            if crypto.under_first_key(ciphertext):
                report.current += 1
                continue
            try:
                rotated = crypto.reencrypt(ciphertext)
            except (crypto.DecryptionError, UnicodeError):
                report.unreadable.append(pk)
                continue
            model.objects.filter(pk=pk).update(**{name: rotated})
            report.rotated += 1
    return rows[-1][0] if rows else None


def rotate_column(
    column: models.Field,
    batch_size: int = DEFAULT_BATCH_SIZE,
    progress: Callable[[ColumnReport], None] | None = None,
) -> ColumnReport:
    """Re-encrypt one column, batch by batch; ``progress`` is called after each commit."""
    report = ColumnReport(_label(column))
    after: object = 0
    while (after := _rotate_batch(column, after, batch_size, report)) is not None:
        if progress is not None:
            progress(report)
    log.info(
        "encrypted column rotated",
        extra={
            "column": report.label,
            "rotated": report.rotated,
            "current": report.current,
            "unreadable": len(report.unreadable),
        },
    )
    return report


def rotate_all(
    batch_size: int = DEFAULT_BATCH_SIZE,
    progress: Callable[[ColumnReport], None] | None = None,
) -> list[ColumnReport]:
    """Re-encrypt every encrypted column under the first key; one report per column."""
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    return [rotate_column(column, batch_size, progress) for column in encrypted_fields()]


def left_under_old_keys() -> dict[str, int]:
    """For each encrypted column, how many stored values are not under the first key."""
    left = {}
    for column in encrypted_fields():
        values = column.model.objects.exclude(**{column.name: ""}).values_list(
            column.name, flat=True
        )
        left[_label(column)] = sum(
            1 for value in values.iterator() if not crypto.under_first_key(value)
        )
    return left

"""``twofold users import FILE.csv [--org SLUG] [--links OUT.csv]``: users in bulk."""

from __future__ import annotations

import argparse
import csv
import os
from pathlib import Path
from typing import IO

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from twofold.administration.importing import (
    LINKS_HEADER,
    CreatedUser,
    ImportFileError,
    ImportReport,
    import_users,
    write_links_rows,
)
from twofold.organisations.models import Organisation

_BAR_WIDTH = 30


class Command(BaseCommand):
    help = "Users in bulk: import them from a CSV file."

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
        importing = actions.add_parser(
            "import",
            help="create the users of a CSV file and write their set-password links",
            description=(
                "Columns: user name, display name, e-mail, authentication phone, office phone, "
                "MFA state. Each created user gets a one-time set-password link, written to "
                "the links file (readable by you only)."
            ),
        )
        importing.add_argument("file", help="the CSV file (UTF-8, first row names the columns)")
        importing.add_argument(
            "--org", default="", help="the organisation's short name (if there are several)"
        )
        importing.add_argument(
            "--links", default="", help="where to write the links (default: FILE-links.csv)"
        )
        importing.add_argument(
            "--batch-size",
            type=_positive,
            default=None,
            help="rows per transaction; each batch's links are on disk before the next starts",
        )

    def handle(
        self,
        *args: object,
        file: str,
        org: str,
        links: str,
        batch_size: int | None,
        **options: object,
    ) -> None:
        organisation = _organisation(org)
        source = Path(file)
        links_path = Path(links) if links else source.with_name(f"{source.stem}-links.csv")
        try:
            data = source.open("rb")
        except OSError as error:
            raise CommandError(f"Cannot read {source}: {error.strerror}.") from None
        with data:
            # Opened before anything is created, so that no import ends with links
            # that can't be written.
            out = _LinksFile(links_path)
            try:
                report = import_users(
                    organisation,
                    data,
                    progress=self._progress,
                    on_batch=out.write,
                    batch_size=batch_size,
                )
            except BaseException as failed:
                out.close()
                if isinstance(failed, ImportFileError):
                    message = f"{source}: {failed.message} Nothing was imported."
                    raise CommandError(message) from None
                if out.written:
                    self.stderr.write(
                        f"\nThe import stopped. The links of the users created so far are in "
                        f"{links_path}. Run the same file again, with another --links file, "
                        "to create the rest."
                    )
                raise
        out.close()
        self._summary(report, organisation, links_path)

    def _progress(self, done: int, total: int) -> None:
        filled = _BAR_WIDTH * done // total if total else _BAR_WIDTH
        percent = 100 * done // total if total else 100
        bar = "#" * filled + "." * (_BAR_WIDTH - filled)
        self.stderr.write(
            f"\r[{bar}] {done:,}/{total:,} rows ({percent}%)",
            style_func=str,
            ending="\n" if done >= total else "",
        )
        self.stderr.flush()

    def _summary(self, report: ImportReport, organisation: Organisation, links: Path) -> None:
        self.stdout.write(
            f"{organisation.name}: {len(report.created):,} users created, "
            f"{len(report.refused):,} of {report.rows:,} rows refused."
        )
        if report.relinked:
            self.stdout.write(
                f"{len(report.relinked):,} users already existed without a password (an "
                "earlier import was interrupted, or its link was not used): each got a new "
                "link in this file, and their earlier links no longer work."
            )
        for refused in report.refused:
            self.stdout.write(f"  row {refused.row} ({refused.username}): {refused.reason}")
        if report.links:
            days = settings.PASSWORD_RESET_TIMEOUT // (24 * 3600)
            self.stdout.write(
                f"Set-password links written to {links} (readable by you only). Give each "
                f"person their link: it works once, for {days} days. Delete the file after."
            )


def _organisation(slug: str) -> Organisation:
    if slug:
        found = Organisation.objects.filter(slug=slug).first()
        if found is None:
            raise CommandError(f"No organisation has the short name {slug!r}.")
        return found
    organisations = list(Organisation.objects.order_by("slug")[:2])
    if len(organisations) == 1:
        return organisations[0]
    if not organisations:
        raise CommandError("There is no organisation yet. Create one with `twofold createorg`.")
    slugs = ", ".join(Organisation.objects.order_by("slug").values_list("slug", flat=True))
    raise CommandError(f"Choose the organisation with --org: {slugs}.")


def _positive(text: str) -> int:
    try:
        number = int(text)
    except ValueError:
        number = 0
    if number < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive whole number")
    return number


class _LinksFile:
    """The links file, written batch by batch: each batch's links are flushed and synced
    to disk right after the batch commits, so an interrupted import loses at most the
    links of the batch that was committing (a rerun of the file issues those again).
    Left out if nothing was ever written to it."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._out = _private_file(path)
        self.written = False

    def write(self, links: list[CreatedUser]) -> None:
        first = not self.written
        if first:
            csv.writer(self._out).writerow(LINKS_HEADER)
            self.written = True
        write_links_rows(links, self._out)
        self._out.flush()
        os.fsync(self._out.fileno())
        if first:
            _sync_folder(self.path.parent)

    def close(self) -> None:
        if self._out.closed:
            return
        self._out.close()
        if not self.written:
            self.path.unlink()  # no links to hand over: leave no empty file behind


def _sync_folder(folder: Path) -> None:
    """Make the file's entry in its folder durable too (a new file's name is in the folder)."""
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _private_file(path: Path) -> IO[str]:
    """A new file only its owner can read; an existing one is never overwritten (it may
    hold the links of an earlier import)."""
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise CommandError(
            f"{path} already exists. Move it away, or choose another file with --links."
        ) from None
    except OSError as error:
        raise CommandError(f"Cannot write {path}: {error.strerror}.") from None
    return os.fdopen(descriptor, "w", encoding="utf-8", newline="")

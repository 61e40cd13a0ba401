"""Importing hardware tokens from a vendor's CSV file into an organisation's stock.

The file has a header row, then one token a row: user name, serial number, secret key,
time interval, manufacturer, model. Each row is checked on its own: a refused row changes
nothing and the report says why; the good rows are saved together, with one audit event.

Cells are data, never formulas: a cell starting with ``=``, ``+``, ``-`` or ``@`` must
still validate as what its column holds, and free text (manufacturer, model) may not
start with one, so the stock never carries a formula into a later export.
"""

from __future__ import annotations

import base64
import binascii
import csv
import io
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from twofold.accounts.models import User, normalise_username
from twofold.audit.models import AuditResult
from twofold.audit.services import record
from twofold.core import crypto
from twofold.core.errors import InvalidInput
from twofold.core.spreadsheet import starts_formula
from twofold.methods.oath import actions as token_actions
from twofold.methods.oath.models import HardwareToken
from twofold.organisations.models import Organisation

MAX_BYTES = 5 * 1024 * 1024
MAX_ROWS = 20_000
COLUMNS = ("user name", "serial number", "secret key", "time interval", "manufacturer", "model")
PERIODS = (30, 60)
# RFC 4226 asks for at least 128 bits of seed; no token on the market has more than 512.
MIN_SECRET_BYTES, MAX_SECRET_BYTES = 16, 64
MAX_TEXT = 100
_SERIAL = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:/-]{0,63}$")
_HEX = re.compile(r"^(?:[0-9A-Fa-f]{2})+$")
_BASE32 = re.compile(r"^[A-Z2-7]+=*$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_CHUNK = 500  # values per IN (...) query


class ImportRefused(InvalidInput):
    """The whole file is refused (too large, not UTF-8, not a CSV file with our header)."""

    code = "import_refused"

    def __init__(self, message: str, *, reason: str) -> None:
        super().__init__(message, field="file")
        self.reason = reason  # for the audit event, in English


@dataclass(frozen=True)
class ImportedRow:
    row: int
    serial: str
    username: str  # empty: put in stock, assigned to nobody


@dataclass(frozen=True)
class RefusedRow:
    row: int
    problems: tuple[str, ...]

    @property
    def message(self) -> str:
        return " ".join(self.problems)


@dataclass(frozen=True)
class Report:
    imported: tuple[ImportedRow, ...]
    refused: tuple[RefusedRow, ...]

    @property
    def assigned(self) -> int:
        return sum(1 for row in self.imported if row.username)


@dataclass
class _Row:
    row: int
    username: str = ""
    serial: str = ""
    secret: bytes = b""
    period: int = 30
    manufacturer: str = ""
    model: str = ""
    problems: list[str] = field(default_factory=list)


# --- Reading the file ----------------------------------------------------------------------


def too_large_message() -> str:
    return _("The file is larger than 5 MB. Split it into smaller files and upload each.")


def _text(file_bytes: bytes) -> str:
    if len(file_bytes) > MAX_BYTES:
        raise ImportRefused(too_large_message(), reason="file too large")
    try:
        text = file_bytes.decode("utf-8-sig")  # Excel's "CSV UTF-8" starts with a BOM
    except UnicodeDecodeError:
        raise ImportRefused(
            _("The file is not UTF-8 text. Save it as “CSV UTF-8” and upload it again."),
            reason="not UTF-8",
        ) from None
    if not text.strip():
        raise ImportRefused(_("The file is empty."), reason="empty file")
    return text


def _records(text: str) -> Iterator[tuple[int, list[str]]]:
    """(row number as a spreadsheet shows it, cells) for every row that isn't blank."""
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        for number, cells in enumerate(reader, start=1):
            while cells and not cells[-1].strip():
                cells.pop()  # trailing empty cells: what spreadsheets add to ragged rows
            if cells:
                yield number, cells
    except csv.Error:
        raise ImportRefused(
            _("The file is not a valid CSV file (near row %(row)d).") % {"row": reader.line_num},
            reason="not CSV",
        ) from None


def _check_header(cells: list[str]) -> None:
    names = [" ".join(cell.lower().split()) for cell in cells]
    if len(names) >= 4 and "serial" in names[1] and "secret" in names[2]:
        return
    if len(cells) == 1 and ";" in cells[0]:
        raise ImportRefused(
            _("Separate the columns with commas, not semicolons."), reason="wrong separator"
        )
    raise ImportRefused(
        _("The first row must name the columns: %(columns)s.") % {"columns": ", ".join(COLUMNS)},
        reason="no header",
    )


def _rows(file_bytes: bytes) -> list[_Row]:
    records = _records(_text(file_bytes))
    header = next(records, None)
    if header is None:
        raise ImportRefused(_("The file is empty."), reason="empty file")
    _check_header(header[1])
    rows = []
    for number, cells in records:
        if len(rows) == MAX_ROWS:
            raise ImportRefused(
                _("The file has more than %(limit)d tokens. Split it and upload each part.")
                % {"limit": MAX_ROWS},
                reason="too many rows",
            )
        rows.append(_parse(number, cells))
    return rows


# --- One row ----------------------------------------------------------------------------


def _parse(number: int, cells: list[str]) -> _Row:
    row = _Row(number)
    if len(cells) > len(COLUMNS):
        row.problems.append(
            _("Too many columns: %(found)d instead of %(expected)d.")
            % {"found": len(cells), "expected": len(COLUMNS)}
        )
        return row
    if len(cells) < 4:
        row.problems.append(
            _("Too few columns: user name, serial number, secret key and time interval are needed.")
        )
        return row
    username, serial, secret, interval, *rest = (cell.strip() for cell in cells)
    row.username = normalise_username(username)
    row.serial = _serial(serial, row.problems)
    row.secret = _secret(secret, row.problems)
    row.period = _period(interval, row.problems)
    rest += [""] * (2 - len(rest))
    row.manufacturer = _free_text(rest[0], _("manufacturer"), row.problems)
    row.model = _free_text(rest[1], _("model"), row.problems)
    return row


def _serial(text: str, problems: list[str]) -> str:
    if not _SERIAL.match(text):
        problems.append(
            _(
                "The serial number must be 1 to 64 letters, digits and . _ : / -, "
                "starting with a letter or digit."
            )
        )
    return text


def decode_secret(text: str) -> bytes | None:
    """A seed written in hex or in Base32 (spaces allowed), or None if it is neither.

    Hex is tried first: vendors' files mostly use it, and a Base32 seed made only of the
    characters 2–7 and A–F is vanishingly unlikely at these lengths.
    """
    compact = "".join(text.split())
    if _HEX.match(compact):
        return bytes.fromhex(compact)
    compact = compact.upper()
    if not _BASE32.match(compact):
        return None
    padded = compact.rstrip("=")
    padded += "=" * (-len(padded) % 8)
    try:
        return base64.b32decode(padded)
    except binascii.Error:
        return None


def _secret(text: str, problems: list[str]) -> bytes:
    secret = decode_secret(text)
    if secret is None:
        problems.append(_("The secret key must be written in hex or in Base32."))
        return b""
    if not MIN_SECRET_BYTES <= len(secret) <= MAX_SECRET_BYTES:
        problems.append(
            _("The secret key must be %(min)d to %(max)d bytes long (%(bits)d bits at least).")
            % {"min": MIN_SECRET_BYTES, "max": MAX_SECRET_BYTES, "bits": MIN_SECRET_BYTES * 8}
        )
        return b""
    return secret


def _period(text: str, problems: list[str]) -> int:
    if text in {str(period) for period in PERIODS}:
        return int(text)
    problems.append(_("The time interval must be 30 or 60 (seconds)."))
    return 30


def _free_text(text: str, what: str, problems: list[str]) -> str:
    if starts_formula(text) or _CONTROL.search(text) or len(text) > MAX_TEXT:
        problems.append(
            _(
                "The %(what)s must be plain text of at most %(limit)d characters, "
                "not starting with = + - or @."
            )
            % {"what": what, "limit": MAX_TEXT}
        )
        return ""
    return text


# --- Against the organisation ----------------------------------------------------------------


def _chunks(values: Iterable[str]) -> Iterator[list[str]]:
    values = sorted(set(values))
    for start in range(0, len(values), _CHUNK):
        yield values[start : start + _CHUNK]


def _users(organisation: Organisation, rows: list[_Row]) -> dict[str, User]:
    """This organisation's users named in the file; nobody else's, whatever the file says."""
    found: dict[str, User] = {}
    for names in _chunks(row.username for row in rows if row.username):
        for user in User.objects.filter(organisation=organisation, username__in=names):
            found[user.username] = user
    return found


def _stocked(organisation: Organisation, rows: list[_Row]) -> set[str]:
    found: set[str] = set()
    for serials in _chunks(row.serial for row in rows if row.serial):
        stocked = HardwareToken.objects.filter(organisation=organisation, serial__in=serials)
        found.update(stocked.values_list("serial", flat=True))
    return found


def _check_against_stock(organisation: Organisation, rows: list[_Row]) -> dict[str, User]:
    users, stocked = _users(organisation, rows), _stocked(organisation, rows)
    first_row: dict[str, int] = {}
    for row in rows:
        if row.username and row.username not in users:
            row.problems.append(
                _("There is no user named “%(name)s” in your organisation.")
                % {"name": row.username[:80]}
            )
        if row.serial in stocked:
            row.problems.append(_("A token with this serial number is already in your stock."))
        elif row.serial and row.serial in first_row:
            row.problems.append(
                _("The serial number is already on row %(row)d of this file.")
                % {"row": first_row[row.serial]}
            )
        elif row.serial and not row.problems:
            first_row[row.serial] = row.row
    return users


# --- The import --------------------------------------------------------------------------------


def import_tokens(organisation: Organisation, file_bytes: bytes, actor: User) -> Report:
    """Add the file's good rows to the organisation's stock; report every refused row and why.

    Raises ``ImportRefused`` when the file as a whole can't be read (nothing is saved).
    """
    try:
        rows = _rows(file_bytes)
        with transaction.atomic():
            report = _save(organisation, rows, actor)
    except IntegrityError:
        clash = ImportRefused(
            _("Another upload added some of these tokens just now. Upload the file again."),
            reason="concurrent upload",
        )
        _audit_refusal(organisation, actor, clash)
        raise clash from None
    except ImportRefused as refused:
        _audit_refusal(organisation, actor, refused)
        raise
    return report


def _save(organisation: Organisation, rows: list[_Row], actor: User) -> Report:
    users = _check_against_stock(organisation, rows)
    good = [row for row in rows if not row.problems]
    HardwareToken.objects.bulk_create(
        (
            HardwareToken(
                organisation=organisation,
                serial=row.serial,
                secret=crypto.encrypt(row.secret),
                period=row.period,
                manufacturer=row.manufacturer,
                model=row.model,
                user=users.get(row.username),
            )
            for row in good
        ),
        batch_size=1000,
    )
    report = Report(
        imported=tuple(ImportedRow(row.row, row.serial, row.username) for row in good),
        refused=tuple(RefusedRow(row.row, tuple(row.problems)) for row in rows if row.problems),
    )
    record(
        token_actions.IMPORTED,
        AuditResult.SUCCESS if good else AuditResult.FAILURE,
        organisation=organisation,
        actor=actor,
        count=len(report.imported),
        assigned=report.assigned,
        refused=len(report.refused),
    )
    return report


def _audit_refusal(organisation: Organisation, actor: User, refused: ImportRefused) -> None:
    record(
        token_actions.IMPORTED,
        AuditResult.FAILURE,
        organisation=organisation,
        actor=actor,
        count=0,
        reason=refused.reason,
    )

"""Importing users from a CSV file: every row checked, the good ones created in bulk.

A row is created whole (user, phones, audit event) or not at all; the file is written in
batches, each in its own transaction, so a file of 100,000 rows stays quick. Imported users
have no password: each gets a one-time set-password link, returned in the report (and to
``on_batch`` as each batch commits, never before) and never stored.

A rerun after an interruption adds the rows not yet created. A row whose user exists,
has never signed in and has no usable password yet (its link may have been lost with the
interrupted run) gets a new link, and its earlier link stops working: the user's unusable
password mark is replaced, and Django's link token is bound to it. So each such user
holds exactly one working link, the newest. Any other existing
user name is refused ("already exists").
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import IO, Any

import phonenumbers
from django.conf import settings
from django.contrib.auth.hashers import UNUSABLE_PASSWORD_PREFIX
from django.contrib.auth.tokens import default_token_generator
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from django.utils.translation import gettext as _

from twofold.accounts.backends import kept_elsewhere
from twofold.accounts.models import MfaState, User, normalise_username
from twofold.accounts.services import PasswordKeptElsewhere
from twofold.audit.models import AuditAction, AuditResult
from twofold.audit.services import record_for_users
from twofold.core import bulk, crypto, phones
from twofold.core.errors import InvalidInput
from twofold.core.spreadsheet import escape_cell, starts_formula
from twofold.methods.phone.models import ContactMode, Phone, PhoneRole
from twofold.organisations.models import Organisation
from twofold.organisations.services import domain_of

COLUMNS = (
    "user name",
    "display name",
    "e-mail",
    "authentication phone",
    "office phone",
    "mfa state",
)
_ALIASES = {"username": "user name", "email": "e-mail"}
MAX_BYTES = 20 * 1024 * 1024
MAX_ROWS = 200_000
BATCH_SIZE = 2_000
_MAX_NAME = 254  # the user name and e-mail columns
_MAX_DISPLAY_NAME = 150
_MAX_EXTENSION = 10
# Cells a spreadsheet would run as a formula (OWASP "CSV injection").
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_MAY_HAVE_EXTENSION = re.compile(r"[^\d\s+()./-]")  # "ext. 12", "x12", "#12", ";ext=12"

Progress = Callable[[int, int], None]
# Called with a batch's links once that batch has committed (its users exist for good).
LinksHandler = Callable[[list["CreatedUser"]], None]


class ImportFileError(InvalidInput):
    """The file as a whole cannot be imported (encoding, size, columns): nothing was created."""

    code = "import_file_refused"


@dataclass(frozen=True)
class Problem:
    column: str
    message: str


@dataclass(frozen=True)
class RefusedRow:
    row: int  # as a spreadsheet numbers it: the header is row 1
    username: str  # as written in the file, made safe to show
    problems: tuple[Problem, ...]

    @property
    def reason(self) -> str:
        return "; ".join(
            f"{problem.column}: {problem.message}" if problem.column else problem.message
            for problem in self.problems
        )


@dataclass(frozen=True)
class CreatedUser:
    row: int
    username: str
    link: str  # the one-time set-password link: hand it over, never store it


@dataclass
class ImportReport:
    rows: int = 0
    created: list[CreatedUser] = field(default_factory=list)
    refused: list[RefusedRow] = field(default_factory=list)
    # Existing users still without a password, given a new link (the earlier one is void).
    relinked: list[CreatedUser] = field(default_factory=list)

    @property
    def links(self) -> list[CreatedUser]:
        """Every link of this import, new users and relinked ones, in the file's order."""
        return sorted([*self.created, *self.relinked], key=lambda made: made.row)


@dataclass
class _Row:
    number: int
    username: str
    display_name: str
    email: str
    mfa_state: str
    authentication_phone: str
    office_phone: str
    office_extension: str


@dataclass
class _Context:
    organisation: Organisation
    domains: frozenset[str]
    seen: dict[str, int] = field(default_factory=dict)  # user name → first row it is on
    numbers: dict[str, tuple[str, str]] = field(default_factory=dict)  # text → (E.164, ext.)


def import_users(
    organisation: Organisation,
    rows_or_file: bytes | str | IO[Any] | Iterable[Sequence[str]],
    *,
    actor: User | None = None,
    progress: Progress | None = None,
    on_batch: LinksHandler | None = None,
    batch_size: int | None = None,
) -> ImportReport:
    """Create the users of a CSV file (bytes, text, a file, or rows with the header first).

    ``on_batch`` gets each batch's links right after its commit, so that a caller can keep
    them durably before the next batch starts. Run it outside any transaction: each batch
    must commit on its own. Raises ImportFileError, before creating anyone, when the file
    itself is unusable.
    """
    header, numbered = _records(rows_or_file)
    columns = _columns(header)
    report = ImportReport(rows=len(numbered))
    context = _Context(
        organisation, frozenset(organisation.domains.values_list("domain", flat=True))
    )
    link_path = _link_path()
    if progress:
        progress(0, report.rows)
    size = batch_size or BATCH_SIZE
    for start in range(0, len(numbered), size):
        batch = numbered[start : start + size]
        good, relink = _checked(batch, columns, context, report)
        made = _write(good, context, report, actor=actor, link_path=link_path)
        made += _relink(relink, context, report, actor=actor, link_path=link_path)
        if on_batch and made:
            on_batch(sorted(made, key=lambda link: link.row))
        if progress:
            progress(start + len(batch), report.rows)
    report.refused.sort(key=lambda refused: refused.row)
    return report


# Reading the file.


def _records(
    source: bytes | str | IO[Any] | Iterable[Sequence[str]],
) -> tuple[list[str], list[tuple[int, list[str]]]]:
    """The header and the other non-blank rows, each with its number as a spreadsheet
    shows it (the header is row 1)."""
    if isinstance(source, bytes | str) or hasattr(source, "read"):
        source = _csv_records(_text(source))
    header: list[str] | None = None
    numbered = []
    for number, record in enumerate(source, start=1):
        cells = [str(cell) for cell in record]
        if not any(cell.strip() for cell in cells):
            continue
        if header is None:
            header = cells
        elif len(numbered) < MAX_ROWS:
            numbered.append((number, cells))
        else:
            raise ImportFileError(
                _("The file has more than %(limit)s rows. Split it into smaller files.")
                % {"limit": f"{MAX_ROWS:,}"}
            )
    if header is None:
        raise ImportFileError(_("The file is empty: its first row must name the columns."))
    return header, numbered


def too_large_message() -> str:
    return _("The file is larger than %(limit)d MB. Split it into smaller files.") % {
        "limit": MAX_BYTES // (1024 * 1024)
    }


def _text(source: bytes | str | IO[Any]) -> str:
    data = source.read(MAX_BYTES + 1) if hasattr(source, "read") else source
    if len(data) > MAX_BYTES:
        raise ImportFileError(too_large_message())
    if isinstance(data, str):
        return data.removeprefix("\ufeff")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        if data.startswith((b"\xff\xfe", b"\xfe\xff")):
            raise ImportFileError(
                _("The file is saved as UTF-16. Save it as “CSV UTF-8” and try again.")
            ) from None
        line = data[: error.start].count(b"\n") + 1
        raise ImportFileError(
            _("The file is not UTF-8 text (line %(line)d). Save it as “CSV UTF-8” and try again.")
            % {"line": line}
        ) from None


def _csv_records(text: str) -> Iterator[list[str]]:
    first_line = text.split("\n", 1)[0]
    delimiter = ";" if first_line.count(";") > first_line.count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    try:
        yield from reader
    except csv.Error:
        raise ImportFileError(
            _("Line %(line)d cannot be read as CSV (check its quotes).") % {"line": reader.line_num}
        ) from None


def _columns(header: Sequence[str]) -> dict[str, int]:
    names = [" ".join(cell.split()).lower() for cell in header]
    names = [_ALIASES.get(name, name) for name in names]
    expected = ", ".join(COLUMNS)
    unknown = [_shown(name, 40) for name in names if name and name not in COLUMNS]
    if unknown:
        raise ImportFileError(
            _("Unknown columns: %(unknown)s. The first row must name these columns: %(columns)s.")
            % {"unknown": ", ".join(unknown), "columns": expected}
        )
    missing = [name for name in COLUMNS if name not in names]
    if missing:
        raise ImportFileError(
            _("Missing columns: %(missing)s. The first row must name these columns: %(columns)s.")
            % {"missing": ", ".join(missing), "columns": expected}
        )
    if len(set(names)) != len(names):
        raise ImportFileError(_("Each column may appear only once in the first row."))
    return {name: position for position, name in enumerate(names) if name}


def _shown(text: str, limit: int = 100) -> str:
    """A cell fit to show in a report, a terminal or a page: no control characters, short."""
    text = _CONTROL.sub("\N{REPLACEMENT CHARACTER}", text.strip())
    return text if len(text) <= limit else f"{text[:limit]}…"


# Checking rows.


def _checked(
    batch: list[tuple[int, list[str]]],
    columns: dict[str, int],
    context: _Context,
    report: ImportReport,
) -> tuple[list[_Row], list[_Row]]:
    """The batch's good rows to create, and its good rows whose user exists still waiting
    for a password (to give a new link); the others go to the report with every reason
    they failed."""
    checked = [_check_row(number, cells, columns, context) for number, cells in batch]
    names = [row.username for row, _problems, _label in checked if row.username]
    taken, waiting = _taken(names), _waiting(names, context.organisation)
    kept = _kept_elsewhere(taken)
    good, relink = [], []
    for row, problems, label in checked:
        if row.username in waiting and not problems:
            relink.append(row)
            continue
        if row.username in kept:
            problems.append(Problem("user name", str(PasswordKeptElsewhere.default_message)))
        elif row.username in taken:
            problems.append(Problem("user name", _exists_message()))
        if problems:
            report.refused.append(RefusedRow(row.number, label, tuple(problems)))
        else:
            good.append(row)
    return good, relink


def _exists_message() -> str:
    return _("A user with this user name already exists.")


def _check_row(
    number: int, cells: list[str], columns: dict[str, int], context: _Context
) -> tuple[_Row, list[Problem], str]:
    def cell(name: str) -> str:
        position = columns[name]
        return cells[position] if position < len(cells) else ""

    row = _Row(number, "", "", "", MfaState.DISABLED, "", "", "")
    label = _shown(cell("user name"))
    width = max(columns.values()) + 1
    if len(cells) < width or any(extra.strip() for extra in cells[width:]):
        message = _("This row has %(found)d cells; the first row names %(expected)d columns.")
        return row, [Problem("", message % {"found": len(cells), "expected": width})], label
    problems = []
    for name, check in _CHECKS:
        try:
            check(row, cell(name), context)
        except InvalidInput as refused:
            problems.append(Problem(name, refused.message))
    return row, problems, label


def _plain(text: str, *, allow_plus: bool = False) -> str:
    """The cell without surrounding space; refused if it holds control characters or would
    start a spreadsheet formula. Such cells are only ever data, never evaluated."""
    if _CONTROL.search(text):
        raise InvalidInput(_("Remove the control characters (tabs, line breaks) from this cell."))
    text = text.strip()
    if starts_formula(text) and not (allow_plus and text.startswith("+")):
        raise InvalidInput(_("A cell may not start with =, +, - or @ (a spreadsheet formula)."))
    return text


def _check_username(row: _Row, text: str, context: _Context) -> None:
    # The rule of accounts.services.validate_username, with the organisation's domains
    # read once per file instead of once per row.
    username = normalise_username(_plain(text))
    try:
        validate_email(username)
    except ValidationError:
        raise InvalidInput(_("Enter a user name such as alice@contoso.example.")) from None
    if len(username) > _MAX_NAME:
        raise InvalidInput(_("Use at most %(limit)d characters.") % {"limit": _MAX_NAME})
    if domain_of(username) not in context.domains:
        raise InvalidInput(_("The user name's domain does not belong to this organisation."))
    first = context.seen.setdefault(username, row.number)
    if first != row.number:
        raise InvalidInput(_("This user name is also on row %(row)d.") % {"row": first})
    row.username = username


def _check_display_name(row: _Row, text: str, context: _Context) -> None:
    display_name = _plain(text)
    if len(display_name) > _MAX_DISPLAY_NAME:
        raise InvalidInput(_("Use at most %(limit)d characters.") % {"limit": _MAX_DISPLAY_NAME})
    row.display_name = display_name


def _check_email(row: _Row, text: str, context: _Context) -> None:
    email = _plain(text)
    if email:
        try:
            validate_email(email)
        except ValidationError:
            raise InvalidInput(_("Enter a valid e-mail address, or leave it empty.")) from None
        if len(email) > _MAX_NAME:
            raise InvalidInput(_("Use at most %(limit)d characters.") % {"limit": _MAX_NAME})
    row.email = email


def _check_authentication_phone(row: _Row, text: str, context: _Context) -> None:
    number, extension = _phone(_plain(text, allow_plus=True), context)
    if extension:
        raise InvalidInput(_("An authentication phone cannot have an extension."))
    row.authentication_phone = number


def _check_office_phone(row: _Row, text: str, context: _Context) -> None:
    row.office_phone, row.office_extension = _phone(_plain(text, allow_plus=True), context)


def _check_mfa_state(row: _Row, text: str, context: _Context) -> None:
    state = _plain(text).lower() or MfaState.DISABLED
    if state not in MfaState.values:
        raise InvalidInput(_("Use disabled, enabled or enforced, or leave it empty."))
    row.mfa_state = state


_CHECKS = (
    ("user name", _check_username),
    ("display name", _check_display_name),
    ("e-mail", _check_email),
    ("authentication phone", _check_authentication_phone),
    ("office phone", _check_office_phone),
    ("mfa state", _check_mfa_state),
)


def _phone(text: str, context: _Context) -> tuple[str, str]:
    """(E.164, extension) of a number as dialled in the organisation's default country or
    written with its own +country code; ("", "") for an empty cell. Office phones often
    repeat (a switchboard), so each distinct text is parsed once per file."""
    if not text:
        return "", ""
    if text not in context.numbers:
        context.numbers[text] = _parsed_phone(text, context.organisation.default_country)
    return context.numbers[text]


def _parsed_phone(text: str, country: str) -> tuple[str, str]:
    region, number = country, _e164_or_empty(text, country)
    if not number and text.startswith("+"):  # another country's number, with its code
        region = _region_of(text)
        number = _e164_or_empty(text, region)
    if not number:
        raise InvalidInput(
            _(
                "This is not a valid phone number. Write it with its country code "
                "(+1 425 555 0134) or as dialled in %(country)s."
            )
            % {"country": country}
        )
    extension = ""
    if _MAY_HAVE_EXTENSION.search(text):
        extension = phonenumbers.parse(text, region).extension or ""
    if len(extension) > _MAX_EXTENSION:
        raise InvalidInput(_("The extension is too long."))
    return number, extension


def _e164_or_empty(text: str, region: str) -> str:
    try:
        return phones.parse(text, region)
    except InvalidInput:
        return ""  # the caller tries another region, or refuses the cell with its own message


def _region_of(text: str) -> str:
    try:
        return phones.region_of(text)
    except phonenumbers.NumberParseException:
        return ""


def _taken(usernames: list[str]) -> set[str]:
    return set(User.objects.filter(username__any=usernames).values_list("username", flat=True))


def _kept_elsewhere(usernames: set[str]) -> set[str]:
    """Those of ``usernames`` whose password their directory keeps: no link for them."""
    if not usernames:
        return set()
    users = User.objects.filter(kept_elsewhere(), username__any=list(usernames))
    return set(users.values_list("username", flat=True))


def _waiting_users(organisation: Organisation) -> QuerySet[User]:
    """The organisation's users who have never signed in and have no usable password yet:
    those an import (or an administrator) made, whose set-password link is unused or lost.
    Not a directory's people (no password of theirs is ever set here)."""
    return User.objects.filter(
        organisation=organisation,
        is_active=True,
        last_login__isnull=True,
        password__startswith=UNUSABLE_PASSWORD_PREFIX,
    ).exclude(kept_elsewhere())


def _waiting(usernames: list[str], organisation: Organisation) -> set[str]:
    users = _waiting_users(organisation).filter(username__any=usernames)
    return set(users.values_list("username", flat=True))


# Creating the users.


def _write(
    rows: list[_Row],
    context: _Context,
    report: ImportReport,
    *,
    actor: User | None,
    link_path: str,
) -> list[CreatedUser]:
    """Create the batch's good rows; their links, added to the report too."""
    if not rows:
        return []
    try:
        users = _create(rows, context.organisation, actor)
    except IntegrityError:
        # Someone created one of these user names since the check: refuse it, and retry once.
        taken = _taken([row.username for row in rows])
        for row in rows:
            if row.username in taken:
                problem = Problem("user name", _exists_message())
                report.refused.append(RefusedRow(row.number, row.username, (problem,)))
        rows = [row for row in rows if row.username not in taken]
        users = _create(rows, context.organisation, actor)
    made = [
        CreatedUser(row.number, user.username, _link(user, link_path))
        for row, user in zip(rows, users, strict=True)
    ]
    report.created.extend(made)
    return made


def _relink(
    rows: list[_Row],
    context: _Context,
    report: ImportReport,
    *,
    actor: User | None,
    link_path: str,
) -> list[CreatedUser]:
    """New links for the rows whose user exists still waiting for a password; a row whose
    user set a password (or signed in) since the check is refused as existing."""
    if not rows:
        return []
    users = {user.username: user for user in _void_links(rows, context.organisation, actor)}
    made = []
    for row in rows:
        user = users.get(row.username)
        if user is None:
            problem = Problem("user name", _exists_message())
            report.refused.append(RefusedRow(row.number, row.username, (problem,)))
        else:
            made.append(CreatedUser(row.number, user.username, _link(user, link_path)))
    report.relinked.extend(made)
    return made


@transaction.atomic
def _void_links(rows: list[_Row], organisation: Organisation, actor: User | None) -> list[User]:
    """Replace the unusable password mark of the rows' users still waiting for a password,
    which voids every link issued to them before; one audit event per new link."""
    waiting = _waiting_users(organisation).filter(username__any=[row.username for row in rows])
    users = list(waiting.select_for_update().order_by("pk"))
    if not users:
        return []
    for user in users:
        user.password = UNUSABLE_PASSWORD_PREFIX + crypto.random_token(30)
    User.objects.bulk_update(users, ["password"])
    record_for_users(
        AuditAction.PASSWORD_LINK_ISSUED,
        AuditResult.SUCCESS,
        User.objects.filter(pk__any=[user.pk for user in users]),
        actor=actor,
        via="import",
    )
    return users


@transaction.atomic
def _create(rows: list[_Row], organisation: Organisation, actor: User | None) -> list[User]:
    """One batch, all or nothing: the users, their phones and one audit event each."""
    users = []
    for row in rows:
        user = User(
            organisation=organisation,
            username=row.username,
            display_name=row.display_name,
            email=row.email,
            mfa_state=row.mfa_state,
        )
        # Never a default password: they set it by their link. Django's own unusable mark
        # ("!" and 40 random letters) drawn a letter at a time was a tenth of the import.
        user.password = UNUSABLE_PASSWORD_PREFIX + crypto.random_token(30)
        users.append(user)
    bulk.insert(User, users)
    ids = dict(
        User.objects.filter(username__any=[user.username for user in users]).values_list(
            "username", "pk"
        )
    )
    for user in users:
        user.pk = ids[user.username]
    bulk.insert(Phone, _phones(rows, users))
    # One event per created user, written by the database itself (INSERT ... SELECT).
    record_for_users(
        AuditAction.USERS_IMPORTED,
        AuditResult.SUCCESS,
        User.objects.filter(pk__any=[user.pk for user in users]),
        actor=actor,
        via="import",
    )
    return users


def _phones(rows: list[_Row], users: list[User]) -> list[Phone]:
    found = []
    for row, user in zip(rows, users, strict=True):
        if row.authentication_phone:
            found.append(
                Phone(
                    user=user,
                    role=PhoneRole.AUTHENTICATION,
                    number=row.authentication_phone,
                    mode=ContactMode.TEXT,
                )
            )
        if row.office_phone:
            found.append(
                Phone(
                    user=user,
                    role=PhoneRole.OFFICE,
                    number=row.office_phone,
                    extension=row.office_extension,
                )
            )
    return found


def _link_path() -> str:
    """The set-password path with {uid} and {token} to fill in (reversed once per file)."""
    path = reverse("set-password", kwargs={"uidb64": "0uid0", "token": "0token0"})
    path = path.replace("{", "{{").replace("}", "}}")
    return path.replace("0uid0", "{uid}").replace("0token0", "{token}")


def _link(user: User, link_path: str) -> str:
    # As accounts.services.password_link builds it, without its audit event per call:
    # the import writes one USERS_IMPORTED event per user instead.
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    token = default_token_generator.make_token(user)
    return f"{settings.TWOFOLD_BASE_URL}{link_path.format(uid=uid, token=token)}"


# Writing CSV files for the administrator.


LINKS_HEADER = ("user name", "set-password link")


def write_links_csv(report: ImportReport, out: IO[str]) -> None:
    """The set-password links, one line per created or relinked user: (user name, link)."""
    csv.writer(out).writerow(LINKS_HEADER)
    write_links_rows(report.links, out)


def write_links_rows(links: list[CreatedUser], out: IO[str]) -> None:
    """Lines of the links file (after its header), for one batch at a time."""
    csv.writer(out).writerows(
        [escape_cell(made.username), escape_cell(made.link)] for made in links
    )


def write_results_csv(report: ImportReport, out: IO[str]) -> None:
    """Every row of the file in order: created with its link, given a new link (an
    existing user still without a password), or refused with the reasons."""
    lines = [(made.row, made.username, "created", made.link, "") for made in report.created]
    lines += [(made.row, made.username, "new link", made.link, "") for made in report.relinked]
    lines += [(no.row, no.username, "refused", "", no.reason) for no in report.refused]
    writer = csv.writer(out)
    writer.writerow(["row", "user name", "result", "set-password link", "reason"])
    writer.writerows([escape_cell(cell) for cell in line] for line in sorted(lines))

"""Synchronising an organisation's users from its directory (docs/directory.md).

Creates, updates and blocks twofold users so that they follow the directory; users made
in twofold are left alone. Searches are paged (RFC 2696). After a first full run, only
entries changed since the last one are read (uSNChanged on Active Directory,
modifyTimestamp elsewhere), plus the IDs of everyone, which is how removals are seen.
Group mappings are applied to everyone at every run: a group's membership changes no
member's entry.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

import ldap
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from twofold.accounts import services as accounts
from twofold.accounts.models import MfaState, User, normalise_username
from twofold.audit.models import AuditAction, AuditResult
from twofold.audit.services import record
from twofold.core import bulk
from twofold.core.errors import InvalidInput
from twofold.directory import client, phones
from twofold.directory.models import Directory, DirectoryAccount, Effect
from twofold.directory.passwords import STATE_ATTRIBUTES, state_from_entry
from twofold.organisations.services import domain_of

ACTOR = "directory sync"
BATCH = 1000  # entries applied in one transaction; new users among them made in bulk
_STATE_CHUNK = 500  # users whose MFA state one call sets
_STRENGTH = {MfaState.DISABLED: 0, MfaState.ENABLED: 1, MfaState.ENFORCED: 2}


@dataclass
class Report:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    blocked: list[str] = field(default_factory=list)
    unblocked: list[str] = field(default_factory=list)
    unchanged: int = 0
    # (name or DN, reason): each reason said in the reader's language when shown.
    refused: list[tuple[str, str | Promise]] = field(default_factory=list)
    incremental: bool = False
    dry_run: bool = False

    def counts(self) -> dict[str, int]:
        return {
            "created": len(self.created),
            "updated": len(self.updated),
            "blocked": len(self.blocked),
            "unblocked": len(self.unblocked),
            "unchanged": self.unchanged,
            "refused": len(self.refused),
        }


@dataclass
class Entry:
    """One person as the directory describes them, in twofold's terms."""

    dn: str
    entry_id: str
    username: str
    display_name: str
    email: str
    phone: str
    office_phone: str
    state: str  # "" or disabled, locked...: only "disabled" blocks (docs/directory.md)
    mark: str


class _DryRun(Exception):
    """Raised at the end of a dry run to roll back everything it did."""


def _attributes(directory: Directory, kind: client.Kind) -> list[str]:
    names = [
        kind.id_attribute,
        kind.mark_attribute,
        directory.attr_username,
        directory.attr_display_name,
        directory.attr_email,
        directory.attr_phone,
        directory.attr_office_phone,
        *STATE_ATTRIBUTES,
    ]
    return [name for name in dict.fromkeys(names) if name]


def _entry(directory: Directory, kind: client.Kind, dn: str, values: dict) -> Entry:
    binary = kind.active_directory
    return Entry(
        dn=dn,
        entry_id=client.first(values, kind.id_attribute, binary=binary),
        username=normalise_username(client.first(values, directory.attr_username)),
        display_name=client.first(values, directory.attr_display_name)[:150],
        email=client.first(values, directory.attr_email).strip(),
        phone=client.first(values, directory.attr_phone),
        office_phone=client.first(values, directory.attr_office_phone),
        state=state_from_entry(values),
        mark=client.first(values, kind.mark_attribute),
    )


def read(directory: Directory, *, full: bool) -> tuple[list[Entry], dict[str, str], dict, bool]:
    """What the directory holds: the entries to look at, every present entry's DN → ID,
    each mapped group's effect → member IDs, and whether the read was incremental."""
    with client.session(directory) as connection:
        kind = client.kind_of(connection)
        incremental = bool(directory.sync_mark) and not full
        search = directory.user_filter
        if incremental:
            mark = client.escape(directory.sync_mark)
            search = f"(&{directory.user_filter}({kind.mark_attribute}>={mark}))"
        entries = [
            _entry(directory, kind, dn, values)
            for dn, values in client.paged_search(
                connection,
                directory.base_dn,
                search,
                _attributes(directory, kind),
                directory.page_size,
            )
        ]
        if incremental:
            present = {
                dn.lower(): client.first(values, kind.id_attribute, binary=kind.active_directory)
                for dn, values in client.paged_search(
                    connection,
                    directory.base_dn,
                    directory.user_filter,
                    [kind.id_attribute],
                    directory.page_size,
                )
            }
        else:
            present = {entry.dn.lower(): entry.entry_id for entry in entries}
        members = {
            mapping: _group_members(connection, directory, kind, mapping.group_dn, present)
            for mapping in directory.groups.all()
        }
    return entries, present, members, incremental


def _group_members(
    connection, directory: Directory, kind: client.Kind, group_dn: str, present: dict[str, str]
) -> set[str]:
    """The IDs of the people in ``group_dn``, nested groups included. Active Directory
    answers in one search with its in-chain rule; elsewhere the groups are walked (each
    once: a loop of groups ends)."""
    if kind.active_directory:
        search = (
            f"(&{directory.user_filter}(memberOf:{client.IN_CHAIN}:={client.escape(group_dn)}))"
        )
        return {
            present.get(dn.lower(), "")
            for dn, _values in client.paged_search(
                connection, directory.base_dn, search, ["1.1"], directory.page_size
            )
        } - {""}
    found: set[str] = set()
    seen: set[str] = set()
    waiting = deque([group_dn])
    while waiting:
        dn = waiting.popleft()
        if dn.lower() in seen:
            continue
        seen.add(dn.lower())
        if dn.lower() in present:
            found.add(present[dn.lower()])
            continue
        try:
            result = connection.search_s(dn, ldap.SCOPE_BASE, "(objectClass=*)", ["member"])
        except ldap.NO_SUCH_OBJECT:
            continue  # a member that is gone, or outside what the service account sees
        for _dn, values in result:
            waiting.extend(value.decode() for value in values.get("member", []))
    return found


def synchronise(
    directory: Directory, *, dry_run: bool = False, full: bool = False, actor: User | None = None
) -> Report:
    """Read the directory, then create, update and block users to follow it; audited.
    ``dry_run``: the same report, everything rolled back. DirectoryUnavailable (503) when
    the directory does not answer: nothing is changed then."""
    entries, present, members, incremental = read(directory, full=full)
    report = Report(incremental=incremental, dry_run=dry_run)
    if not dry_run:
        _apply(directory, entries, present, members, report)
        record(
            AuditAction.DIRECTORY_SYNCED,
            AuditResult.SUCCESS,
            organisation=directory.organisation,
            actor=actor,
            actor_label="" if actor else ACTOR,
            incremental=incremental,
            **report.counts(),
        )
        return report
    try:
        with transaction.atomic():
            _apply(directory, entries, present, members, report)
            raise _DryRun
    except _DryRun:
        pass
    return report


def _apply(directory, entries, present, members, report: Report) -> None:
    directory.organisation.__dict__.pop("_sync_domains", None)  # read afresh each run
    accounts_by_id = {
        account.entry_id: account
        for account in DirectoryAccount.objects.filter(directory=directory).select_related("user")
    }
    marks = [directory.sync_mark]
    looked_at: list[str] = []
    for start in range(0, len(entries), BATCH):
        batch = entries[start : start + BATCH]
        # A transaction a batch: SQLite's one writer is never held for a whole run.
        with transaction.atomic():
            made = _create_in_bulk(directory, batch, accounts_by_id, report)
            for entry in batch:
                marks.append(entry.mark)
                if id(entry) in made:
                    looked_at.append(entry.username)
                    continue
                if _apply_one(directory, entry, accounts_by_id, report):
                    looked_at.append(entry.username)
    ids = set(present.values())
    if not ids and accounts_by_id:
        # A directory that lists nobody is far likelier a wrong base DN or filter than
        # everyone gone: block no one on its word.
        report.refused.append(("*", _("the directory listed nobody: no one was blocked")))
    else:
        for account in accounts_by_id.values():
            if account.entry_id not in ids and not account.blocked_by_directory:
                _block(account, "removed from the directory", report)
    _apply_groups(directory, members, accounts_by_id, report)
    if not report.dry_run:
        # uSNChanged is a number, modifyTimestamp a fixed-width time: longer, then larger.
        newest = max(marks, key=lambda mark: (len(mark), mark))
        directory.sync_mark, directory.synced_at = newest, timezone.now()
        directory.save(update_fields=["sync_mark", "synced_at"])
    counted = {*report.created, *report.updated, *report.blocked, *report.unblocked}
    report.unchanged = sum(1 for name in looked_at if name not in counted)


def _apply_one(directory: Directory, entry: Entry, accounts_by_id: dict, report) -> bool:
    """``_apply_entry``, for a new entry in a savepoint: its refusal (a name made meanwhile
    by someone else, say) undoes it alone. A known entry's update refuses nothing, and
    needs none: a savepoint is two round trips to PostgreSQL for each of 100,000 entries
    that mostly did not change."""
    if entry.entry_id in accounts_by_id:
        return _apply_entry(directory, entry, accounts_by_id, report)
    try:
        with transaction.atomic():
            return _apply_entry(directory, entry, accounts_by_id, report)
    except InvalidInput as refused:
        report.refused.append((entry.username or entry.dn, refused.message))
        return False


def _domains(organisation) -> frozenset[str]:
    """The organisation's domains, read once a run (not once an entry)."""
    cached = getattr(organisation, "_sync_domains", None)
    if cached is None:
        cached = frozenset(organisation.domains.values_list("domain", flat=True))
        organisation._sync_domains = cached
    return cached


def _refuse(entry: Entry, domains: frozenset[str]) -> str | Promise:
    """Why this entry cannot be a user of ``organisation`` ("" when it can)."""
    if not entry.entry_id:
        return _("no entry ID")
    if not entry.username:
        return _("no user name")
    try:
        validate_email(entry.username)
    except ValidationError:
        return _("the user name is not of the form name@domain")
    if domain_of(entry.username) not in domains:
        return _("the user name's domain is not the organisation's")
    return ""


def _apply_entry(directory: Directory, entry: Entry, accounts_by_id: dict, report) -> bool:
    """Create, update, block or unblock the entry's user; False if it was refused."""
    organisation = directory.organisation
    reason = _refuse(entry, _domains(organisation))
    if reason:
        report.refused.append((entry.username or entry.dn, reason))
        return False
    account = accounts_by_id.get(entry.entry_id)
    if account is None:
        owner = User.objects.filter(username=entry.username).first()
        if owner is not None:
            # Never taken over: a twofold user, or another directory's, keeps their account.
            report.refused.append((entry.username, _("a user with this user name exists already")))
            return False
        if entry.state == "disabled":
            report.refused.append((entry.username, _("disabled in the directory")))
            return False
        account = _create(directory, entry)
        accounts_by_id[entry.entry_id] = account
        report.created.append(entry.username)
        return True
    user = account.user
    changed = _update(account, entry, organisation)
    if entry.state == "disabled" and not user.is_blocked:
        _block(account, "disabled in the directory", report)
    elif entry.state != "disabled" and account.blocked_by_directory:
        _unblock(account, report)
    elif changed:
        report.updated.append(user.username)
    return True


def _create_in_bulk(directory: Directory, batch: list[Entry], accounts_by_id: dict, report) -> set:
    """Make, in bulk, the users of the batch's new entries that ``_apply_entry`` would make
    (the same rules: ``_refuse``, not disabled, a user name nobody has, the first of a name
    the directory lists twice); the ids of the entries made. Every other entry, and all of
    them if the bulk insert fails (a name taken meanwhile), go one at a time through
    ``_apply_entry``, which refuses them or makes them as before."""
    organisation = directory.organisation
    domains = _domains(organisation)
    wanted: dict[str, Entry] = {}
    for entry in batch:
        if (
            entry.entry_id in accounts_by_id
            or _refuse(entry, domains)
            or entry.state == "disabled"
            or entry.username in wanted
        ):
            continue
        wanted[entry.username] = entry
    taken = set(User.objects.filter(username__any=list(wanted)).values_list("username", flat=True))
    chosen = [entry for name, entry in wanted.items() if name not in taken]
    if not chosen:
        return set()
    try:
        with transaction.atomic():  # a savepoint: a failure leaves the batch to go one at a time
            users = [
                accounts.new_user(
                    organisation,
                    entry.username,
                    display_name=entry.display_name,
                    email=_valid_email(entry.email),
                    domains=domains,
                )
                for entry in chosen
            ]
            accounts.create_users(users, actor_label=ACTOR)
            made = [
                DirectoryAccount(
                    user=user, directory=directory, entry_id=entry.entry_id, dn=entry.dn
                )
                for user, entry in zip(users, chosen, strict=True)
            ]
            held = phones.hold_new(made, [(entry.phone, entry.office_phone) for entry in chosen])
            bulk.insert(DirectoryAccount, made)
            ids = dict(
                DirectoryAccount.objects.filter(
                    directory=directory, entry_id__any=[account.entry_id for account in made]
                ).values_list("entry_id", "pk")
            )
            for account in made:
                account.pk = ids[account.entry_id]
                account._state.adding, account._state.db = False, DirectoryAccount.objects.db
            phones.save_held(held)
    except (IntegrityError, InvalidInput):
        return set()
    for entry, account in zip(chosen, made, strict=True):
        accounts_by_id[entry.entry_id] = account
        report.created.append(entry.username)
    return {id(entry) for entry in chosen}


def _create(directory: Directory, entry: Entry) -> DirectoryAccount:
    email = _valid_email(entry.email)
    user = accounts.create_user(
        directory.organisation,
        entry.username,
        display_name=entry.display_name,
        email=email,
        actor_label=ACTOR,
    )
    account = DirectoryAccount.objects.create(
        user=user, directory=directory, entry_id=entry.entry_id, dn=entry.dn
    )
    phones.follow(account, entry.phone, entry.office_phone, directory.organisation)
    return account


def _valid_email(text: str) -> str:
    try:
        validate_email(text)
    except ValidationError:
        return ""
    return text.lower()[:254]


def _update(account: DirectoryAccount, entry: Entry, organisation) -> bool:
    """Bring the user's name, display name and e-mail address in line; True if any
    changed (the phones follow their own rule, docs/directory.md)."""
    user = account.user
    wanted = {
        "username": entry.username,
        "display_name": entry.display_name,
        "email": _valid_email(entry.email),
    }
    changes = {
        name: {"before": getattr(user, name), "after": value}
        for name, value in wanted.items()
        if getattr(user, name) != value
    }
    if "username" in changes and User.objects.filter(username=entry.username).exists():
        changes.pop("username")  # someone else has that name: keep the old one
    if changes:
        User.objects.filter(pk=user.pk).update(
            **{name: change["after"] for name, change in changes.items()}
        )
        for name, change in changes.items():
            setattr(user, name, change["after"])
        record(
            AuditAction.USER_UPDATED,
            AuditResult.SUCCESS,
            actor_label=ACTOR,
            subject=user,
            changes=changes,
        )
    if account.dn != entry.dn:
        account.dn = entry.dn
        account.save(update_fields=["dn", "synced_at"])
    # The directory's organisation, which is the user's: read once, not once a user.
    phoned = phones.follow(account, entry.phone, entry.office_phone, organisation)
    return bool(changes) or phoned


def _block(account: DirectoryAccount, reason: str, report: Report) -> None:
    """Block, as an administrator's block does: no sign-in, and every session, trusted
    browser and application token of theirs ends (``sign_out_everywhere``)."""
    user = account.user
    with transaction.atomic():
        User.objects.filter(pk=user.pk).update(is_blocked=True, blocked_reason=reason)
        user.is_blocked, user.blocked_reason = True, reason
        account.blocked_by_directory = True
        account.save(update_fields=["blocked_by_directory", "synced_at"])
        record(
            AuditAction.USER_BLOCKED, AuditResult.SUCCESS, actor_label=ACTOR, subject=user,
            reason=reason,
        )  # fmt: skip
        accounts.sign_out_everywhere(user, actor_label=ACTOR)
    report.blocked.append(user.username)


def _unblock(account: DirectoryAccount, report: Report) -> None:
    """Enabled again in the directory: lift the block the sync put (and only that one)."""
    user = account.user
    User.objects.filter(pk=user.pk).update(is_blocked=False, blocked_reason="")
    user.is_blocked = False
    account.blocked_by_directory = False
    account.save(update_fields=["blocked_by_directory", "synced_at"])
    record(AuditAction.USER_UNBLOCKED, AuditResult.SUCCESS, actor_label=ACTOR, subject=user)
    report.unblocked.append(user.username)


def _apply_groups(directory, members: dict, accounts_by_id: dict, report: Report) -> None:
    """MFA state: the strongest a person's mapped groups give (enforced, then enabled,
    then disabled); none of them: left as it is. Administrators: members of an admin
    group; the sync takes back only the rights it gave (docs/directory.md)."""
    states: dict[str, str] = {}
    admins: set[str] = set()
    has_admin_group = False
    for mapping, ids in members.items():
        if mapping.effect == Effect.ADMIN:
            has_admin_group = True
            admins |= ids
            continue
        for entry_id in ids:
            current = states.get(entry_id)
            if current is None or _STRENGTH[mapping.effect] > _STRENGTH[current]:
                states[entry_id] = mapping.effect
    already = {*report.updated, *report.created}  # a set: tens of thousands of names
    changing: dict[str, list[User]] = {}  # the MFA state → the users it is to be set for
    for entry_id, account in accounts_by_id.items():
        user = account.user
        changed = False
        if has_admin_group:
            changed |= _follow_admin(account, entry_id in admins)
        wanted = states.get(entry_id)
        if wanted is not None:
            wanted = accounts.minimum_mfa_state(wanted, is_admin=user.is_admin)
            if user.mfa_state != wanted:
                changing.setdefault(wanted, []).append(user)
                changed = True
        if changed and user.username not in already:
            already.add(user.username)
            report.updated.append(user.username)
    for state, users in changing.items():  # set-based: one call a state and chunk
        for start in range(0, len(users), _STATE_CHUNK):
            chunk = users[start : start + _STATE_CHUNK]
            with transaction.atomic():
                accounts.set_mfa_state(
                    User.objects.filter(pk__any=[user.pk for user in chunk]),
                    state,
                    actor_label=ACTOR,
                )
            for user in chunk:
                user.mfa_state = state


def _follow_admin(account: DirectoryAccount, member: bool) -> bool:
    user = account.user
    if member and not user.is_admin:
        grant, account.admin_from_directory = True, True
    elif not member and user.is_admin and account.admin_from_directory:
        grant, account.admin_from_directory = False, False
    else:
        return False
    before = user.is_admin
    user.is_admin = grant
    update: dict[str, object] = {"is_admin": grant}
    if grant:
        user.mfa_state = update["mfa_state"] = MfaState.ENFORCED  # docs/security.md 29
    with transaction.atomic():
        User.objects.filter(pk=user.pk).update(**update)
        account.save(update_fields=["admin_from_directory", "synced_at"])
        record(
            AuditAction.USER_UPDATED,
            AuditResult.SUCCESS,
            actor_label=ACTOR,
            subject=user,
            changes={"is_admin": {"before": before, "after": grant}},
        )
    return True

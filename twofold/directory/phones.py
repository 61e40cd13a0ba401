"""The directory's phone numbers, and the rule that keeps them from becoming a text or
call target unproven (docs/directory.md, "Phone numbers").

A number the directory gives (or changes) is parsed with phonenumbers in the
organisation's default country and put on the person's phone as *pending*: exactly as a
number typed on the settings page, it replaces nothing until the person proves it there
(a code texted to it, or a call). Until then the number in force, if any, keeps working,
and it is told by text that a new number from the directory is waiting. A number the
directory removes, or that does not parse, changes nothing in twofold.
"""

from __future__ import annotations

import phonenumbers
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from twofold.audit.models import AuditResult
from twofold.audit.services import record, record_each
from twofold.core import bulk, languages
from twofold.directory.models import DirectoryAccount
from twofold.methods import verification
from twofold.methods.phone import actions as phone_actions
from twofold.methods.phone import services as phone_services
from twofold.methods.phone.models import Phone, PhoneRole
from twofold.organisations.models import Organisation


def parse(text: str, region: str) -> str:
    """The E.164 form of a directory's phone number, read as dialled from ``region``; ""
    when it is not a valid number (numbers with their own +prefix may be of any country)."""
    text = (text or "").strip()
    if not text or len(text) > 30:
        return ""
    try:
        parsed = phonenumbers.parse(text, (region or "").upper() or None)
    except phonenumbers.NumberParseException:
        return ""
    if not phonenumbers.is_valid_number(parsed):
        return ""
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def follow(
    account: DirectoryAccount, phone_text: str, office_text: str, organisation: Organisation
) -> bool:
    """Apply the rule to both phones; True if either changed in twofold."""
    region = organisation.default_country
    changed = False
    for role, text, field in (
        (PhoneRole.AUTHENTICATION, phone_text, "phone"),
        (PhoneRole.OFFICE, office_text, "office_phone"),
    ):
        number = parse(text, region)
        if number == getattr(account, field):
            continue  # the directory said this last time: the person may have chosen since
        setattr(account, field, number)
        account.save(update_fields=[field, "synced_at"])
        if number:
            changed |= _hold(account, role, number)
    return changed


def hold_new(accounts: list[DirectoryAccount], phone_texts: list[tuple[str, str]]) -> list[Phone]:
    """``follow`` for accounts just made in bulk, with users just made (no phone of theirs
    yet, so no number in force to tell): each account's numbers set on it (before it is
    saved), and the unsaved phones that hold its valid numbers pending (``save_held``
    saves them, audited as ``_hold`` audits)."""
    phones: list[Phone] = []
    now = timezone.now()
    for account, (phone_text, office_text) in zip(accounts, phone_texts, strict=True):
        region = account.user.organisation.default_country
        for role, text, field in (
            (PhoneRole.AUTHENTICATION, phone_text, "phone"),
            (PhoneRole.OFFICE, office_text, "office_phone"),
        ):
            number = parse(text, region)
            setattr(account, field, number)
            if number:
                phones.append(
                    Phone(user=account.user, role=role, pending_number=number, pending_since=now)
                )
    return phones


def save_held(phones: list[Phone]) -> None:
    """Save the phones ``hold_new`` made (once their accounts are saved), audited."""
    bulk.insert(Phone, phones)
    record_each(
        phone_actions.CHANGE_PENDING,
        AuditResult.SUCCESS,
        [
            (phone.user, {"kind": phone.role, "masked_number": phone.masked_pending,
                          "via": "directory"})
            for phone in phones
        ],
        actor_label="directory sync",
    )  # fmt: skip


def _hold(account: DirectoryAccount, role: str, number: str) -> bool:
    """Put ``number`` as pending on the user's phone of ``role`` (no proof sent: the
    person asks for it on the settings page). Tells the number in force, if any."""
    user = account.user
    verification.lock_user(user.pk)  # the lock order: the user's row before their phones
    phone, _created = Phone.objects.select_for_update().get_or_create(user=user, role=role)
    if number in (phone.number, phone.pending_number):
        return False
    phone.pending_number, phone.pending_extension = number, ""
    phone.pending_since = timezone.now()
    phone.pending_preferred_option = ""
    phone.save()
    record(
        phone_actions.CHANGE_PENDING,
        AuditResult.SUCCESS,
        actor_label="directory sync",
        subject=user,
        kind=role,
        masked_number=phone.masked_pending,
        via="directory",
    )
    old = phone.number
    if old and role == PhoneRole.AUTHENTICATION:
        masked = phone.masked_pending
        transaction.on_commit(lambda: _tell_old_number(user, old, masked))
    return True


def _tell_old_number(user, old: str, new_masked: str) -> None:
    with languages.speaking_to(user):
        body = _(
            "%(organisation)s: your directory now lists %(number)s as your phone. It is used "
            "only once you verify it on your settings page. Not you? Contact your help desk."
        ) % {"organisation": user.organisation.shown_name[:30], "number": new_masked}
    phone_services._send_notice(user, old, body)

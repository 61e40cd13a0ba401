"""Hardware tokens: assigning them, their users proving them, and their codes at sign-in.

Importing them from a vendor's file is in ``importing``. Every change of state takes the
token's row lock and writes its audit event in the same transaction.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from twofold.accounts.models import User, normalise_username
from twofold.audit.models import AuditAction, AuditResult
from twofold.audit.services import record
from twofold.core.errors import InvalidInput, NotAllowed, NotFound
from twofold.methods import totp, verification
from twofold.methods.authenticator import kinds
from twofold.methods.oath import actions as token_actions
from twofold.methods.oath.models import HardwareToken
from twofold.organisations.models import Organisation

PAGE_SIZE = 50


class ActivationCodeRefused(InvalidInput):
    """The code typed to activate a token is not one it shows now (or was used already)."""

    code = "wrong_code"


def allowed(user: User) -> bool:
    """Whether the user's organisation accepts codes from apps and hardware tokens."""
    return user.organisation.allows(kinds.APP_CODE)


# --- The administrator's stock -------------------------------------------------------------


@dataclass(frozen=True)
class Page:
    tokens: list[HardwareToken]
    previous: str | None  # the serial to page back before
    next: str | None  # the serial to page on after


def stock(organisation: Organisation, query: str = "") -> QuerySet[HardwareToken]:
    """The organisation's tokens; with ``query``, those whose serial or user name starts so."""
    tokens = HardwareToken.objects.filter(organisation=organisation).select_related("user")
    if query := query.strip():
        tokens = tokens.filter(
            Q(serial__startswith=query) | Q(user__username__startswith=query.lower())
        )
    return tokens


def page_of(tokens: QuerySet[HardwareToken], *, after: str = "", before: str = "") -> Page:
    """One page in serial order (keyset: no OFFSET), one row more to know if another follows."""
    if before:
        rows = list(tokens.filter(serial__lt=before).order_by("-serial")[: PAGE_SIZE + 1])
        has_previous, has_next = len(rows) > PAGE_SIZE, True
        rows = rows[:PAGE_SIZE][::-1]
    else:
        query = tokens.filter(serial__gt=after) if after else tokens
        rows = list(query.order_by("serial")[: PAGE_SIZE + 1])
        has_previous, has_next = bool(after), len(rows) > PAGE_SIZE
        rows = rows[:PAGE_SIZE]
    return Page(
        tokens=rows,
        previous=rows[0].serial if rows and has_previous else None,
        next=rows[-1].serial if rows and has_next else None,
    )


def _locked(token: HardwareToken) -> HardwareToken:
    found = HardwareToken.objects.select_for_update().filter(pk=token.pk).first()
    if found is None:
        raise NotFound(_("This hardware token no longer exists."))
    return found


def _audit_change(token: HardwareToken, subject: User | None, change: str, actor: User) -> None:
    record(
        token_actions.CHANGED,
        AuditResult.SUCCESS,
        organisation=token.organisation,
        actor=actor,
        subject=subject,
        changes=change,
        serial=token.masked_serial,
    )


def _user_of(organisation: Organisation, username: str, actor: User) -> User:
    """The organisation's user with this name; anybody else's is "no such user" (audited)."""
    found = User.objects.filter(username=normalise_username(username or "")).first()
    if found is not None and found.organisation_id != organisation.pk:
        record(
            AuditAction.ADMIN_ACCESS_DENIED,
            AuditResult.DENIED,
            actor=actor,
            reason="user of another organisation",
        )
        found = None
    if found is None:
        raise InvalidInput(
            _("There is no user with this user name in your organisation."), field="username"
        )
    return found


def assign(token: HardwareToken, username: str, *, actor: User) -> HardwareToken:
    """Give a token in stock to one of its organisation's users; it counts once they prove it."""
    # Looked up first, outside the transaction: a refused name's audit event must stay.
    holder = _user_of(token.organisation, username, actor)
    return _assign(token, holder, actor)


@transaction.atomic
def _assign(token: HardwareToken, holder: User, actor: User) -> HardwareToken:
    token = _locked(token)
    if token.user_id is not None:
        raise InvalidInput(_("This token is already assigned. Unassign it first."))
    token.user = holder
    token.activated_at = None
    token.save(update_fields=["user", "activated_at"])
    _audit_change(token, holder, "assigned", actor)
    return token


@transaction.atomic
def unassign(token: HardwareToken, *, actor: User) -> HardwareToken:
    """Take a token back into stock: its codes stop working at once."""
    token = _locked(token)
    holder = token.user
    if holder is None:
        raise InvalidInput(_("This token is not assigned to anyone."))
    token.user = None
    token.activated_at = None
    token.save(update_fields=["user", "activated_at"])
    _audit_change(token, holder, "unassigned", actor)
    return token


@transaction.atomic
def delete(token: HardwareToken, *, actor: User) -> None:
    """Remove a token from the stock altogether (lost, broken, returned to the vendor)."""
    token = _locked(token)
    holder = token.user
    token.delete()
    _audit_change(token, holder, "deleted", actor)


def unassign_all(user_ids: QuerySet) -> int:
    """For re-registration: these users' tokens go back to stock, proved by nobody (one UPDATE)."""
    return HardwareToken.objects.filter(user_id__in=user_ids).update(user=None, activated_at=None)


# --- The user's side ------------------------------------------------------------------------


def tokens_of(user: User) -> list[HardwareToken]:
    return list(HardwareToken.objects.filter(user=user).order_by("serial"))


def active_tokens(user: User) -> QuerySet[HardwareToken]:
    return HardwareToken.objects.filter(user=user, activated_at__isnull=False)


def pending_token(user: User, token_id: int) -> HardwareToken:
    """One of the user's tokens still waiting for its proof; anybody else's is "not found"."""
    token = HardwareToken.objects.filter(pk=token_id, user=user, activated_at__isnull=True).first()
    if token is None:
        raise NotFound(_("This hardware token is not waiting to be activated."))
    return token


def activate(user: User, token_id: int, code: str) -> HardwareToken:
    """Make an assigned token count, once ``code`` shows the user holds it (current step ±1).

    The proving step is remembered, so the same code cannot then be used to sign in.
    Wrong codes count towards the organisation's lockout, like any other code.
    """
    if not allowed(user):
        raise NotAllowed(_("Your organisation does not allow codes from hardware tokens."))
    verification.refuse_if_locked(user)
    try:
        token = _activate(user, token_id, (code or "").replace(" ", ""))
    except ActivationCodeRefused:
        record(
            token_actions.ACTIVATED,
            AuditResult.FAILURE,
            actor=user,
            subject=user,
            reason="wrong code",
        )
        # A wrong code here counts towards the organisation's lockout like any other.
        refused = verification.count_failure(user, "hardware_token", "activation")
        if isinstance(refused, verification.SecondFactorLocked):
            raise refused from None
        raise
    return token


@transaction.atomic
def _activate(user: User, token_id: int, code: str) -> HardwareToken:
    token = _locked(pending_token(user, token_id))
    if token.user_id != user.pk or token.activated_at is not None:
        raise NotFound(_("This hardware token is not waiting to be activated."))
    step = totp.matching_step(token, code, totp.clock())
    if step is None:
        raise ActivationCodeRefused(
            _("That code didn't work. Press the token's button and enter the code it shows.")
        )
    token.activated_at = timezone.now()
    token.last_used_step = step
    token.save(update_fields=["activated_at", "last_used_step"])
    record(
        token_actions.ACTIVATED,
        AuditResult.SUCCESS,
        actor=user,
        subject=user,
        serial=token.masked_serial,
    )
    return token


def check_code(user: User, code: str) -> bool:
    """Whether ``code`` comes from one of the user's activated tokens, at a step not used before.

    Must run inside a transaction: the tokens are locked, so two submissions of one code
    (in two challenges or two requests) cannot both succeed.
    """
    return totp.spend(active_tokens(user).select_for_update().order_by("pk"), code) is not None

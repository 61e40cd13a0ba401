"""What follows a right password: straight in, a second factor, or registering a method.

Between the password and the second factor the session holds the user as *pending*
(under a new session ID) for at most ten minutes (``twofold/accounts/pending.py``); only
the second-step pages accept it.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum
from functools import partial

from django.contrib import auth, messages
from django.db import transaction
from django.db.models import Q
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from twofold.accounts import middleware as session_lifetime
from twofold.accounts import pending
from twofold.accounts import services as accounts
from twofold.accounts.models import MfaState, User
from twofold.audit.models import AuditAction, AuditEvent, AuditResult
from twofold.audit.services import record
from twofold.core import context
from twofold.core.errors import TwofoldError
from twofold.methods import base, stepup, verification
from twofold.methods.models import ChallengePurpose
from twofold.organisations import services as organisations
from twofold.signin import flow, trusted, why

AMR = "twofold.amr"  # how the session's user proved who they are (for OpenID Connect)
PHISHING_RESISTANT = "twofold.phishing_resistant"  # the sign-in used such an option (a passkey)
BYPASS = "one-time bypass"  # why a sign-in skipped the second factor (audit "via")


class Next(Enum):
    SIGNED_IN = "signed_in"
    CHALLENGE = "challenge"
    REGISTER = "register"


def phishing_resistant(option_key: str) -> bool:
    """Whether the option is phishing-resistant (a passkey), as its catalogue entry says."""
    spec = base.option_spec(option_key) if option_key else None
    return bool(spec and spec.phishing_resistant)


def amr_for(option_key: str) -> list[str]:
    """What the option proves, in the words of RFC 8176 (its method's catalogue says)."""
    return list(base.amr_for(option_key))


@dataclass(frozen=True)
class Step:
    """What follows a right password, decided before anything is begun, and why."""

    next: Next
    via: str = ""  # SIGNED_IN: why no second factor is asked ("trusted address")
    amr: tuple[str, ...] = ("pwd",)
    options: list[base.Option] = field(default_factory=list)  # CHALLENGE: the user's
    first: base.Option | None = None  # CHALLENGE (pages): the option begun first
    reason: why.Reason | None = None  # recorded as the sign-in's "signin.decided" event


def decide(request: HttpRequest | None, user: User, *, devices: bool = True) -> Step:
    """Skip the second factor, register a method, or challenge: the one rule for the pages
    and the API. Uses up a one-time bypass if that is the reason; ``devices``: whether a
    trusted-device cookie counts (a browser's only; the API's and RADIUS's calls pass
    False, RADIUS with no request at all). Records
    the decision and its reason as one audit event, for the help desk's "why"."""
    step = _decide(request, user, devices=devices)
    if step.reason is not None:
        why.record_decision(user, step.reason)
    return step


def _decide(request: HttpRequest | None, user: User, *, devices: bool) -> Step:
    organisation = user.organisation
    state = accounts.effective_mfa_state(user)  # an administrator's is at least "enforced"
    because = partial(
        why.Reason,
        state=state,
        organisation_requires=organisation.require_mfa,
        administrator=user.is_admin,
        channel="pages" if devices else "api",
    )
    if state == MfaState.DISABLED and not organisation.require_mfa:
        return Step(Next.SIGNED_IN, "two-step verification off", reason=because(why.MFA_OFF))
    if user.must_reregister:  # before any shortcut: re-registration needs the access code
        return Step(Next.REGISTER, reason=because(why.REREGISTER))
    cidr = _trusted_range_matched(organisation.trusted_ip_ranges)
    if cidr:
        return Step(
            Next.SIGNED_IN, "trusted address", reason=because(why.TRUSTED_RANGE, range=cidr)
        )
    until = _take_bypass(user)
    if until is not None:
        reason = because(
            why.BYPASS, granted_by_event=why.bypass_granted_by(user), until=why.moment(until)
        )
        return Step(Next.SIGNED_IN, BYPASS, reason=reason)
    device = trusted.recognised(request, user) if devices else None
    if device is not None:
        reason = because(why.TRUSTED_DEVICE, device=device.pk, since=why.moment(device.created_at))
        return Step(Next.SIGNED_IN, "trusted device", amr=("pwd", "mfa"), reason=reason)
    options = base.options_for(user)  # once: each look costs a query per method
    if not options:
        return Step(Next.REGISTER, reason=because(why.NO_METHOD))
    first, first_why = why.first_offered(user, options) if devices else (None, why.APPLICATION)
    reason = because(why.CHALLENGE, first=first.key if first else "", first_why=first_why)
    return Step(Next.CHALLENGE, options=options, first=first, reason=reason)


def after_password(request: HttpRequest, user: User) -> Next:
    """Decide, and begin, what follows a right password."""
    step = decide(request, user)
    if step.next is Next.SIGNED_IN:
        # No second factor now: a later step-up still asks for one.
        finish(request, user, amr=list(step.amr), via=step.via, mfa=False)
        if step.via == BYPASS:  # said on the page they land on, so a surprise is noticed
            messages.info(request, bypass_message())
        return Next.SIGNED_IN
    hold(request, user)
    if step.next is Next.REGISTER:
        return Next.REGISTER
    try:
        challenge = verification.open_challenge(user, step.first, ChallengePurpose.SIGNIN)
    except TwofoldError as refused:  # locked, capped, gateway down: the page explains
        messages.error(request, refused.message)
    else:
        flow.remember(request, challenge)
    return Next.CHALLENGE


def _trusted_range_matched(ranges: list[str]) -> str:
    """The trusted range (CIDR) the person's address is in, or "". An integration's own
    address (a VPN, a mail server) never is: only the person's address it reports, where
    an administrator trusts it to report one (docs/security.md 32)."""
    address = context.current().person_address
    if not address or not ranges:
        return ""
    ip = ipaddress.ip_address(address)
    return next((cidr for cidr in ranges if ip in ipaddress.ip_network(cidr, strict=False)), "")


def _take_bypass(user: User) -> datetime | None:
    """Use up the user's one-time bypass, if one is set and still valid (single use):
    until when it was valid, if it was."""
    if user.mfa_bypass_until is None:
        return None
    until = user.mfa_bypass_until
    valid = until > timezone.now()
    # Cleared whether still valid or not; matching the value makes two sign-ins at the
    # same moment share one bypass instead of both using it.
    taken = User.objects.filter(pk=user.pk, mfa_bypass_until=until).update(mfa_bypass_until=None)
    return until if valid and taken else None


def hold(request: HttpRequest, user: User) -> None:
    """Keep ``user`` as pending under a fresh session ID until the second step is done."""
    request.session.cycle_key()
    organisations.remember_for_session(request, user.organisation)
    pending.remember(request, user)


def finish(
    request: HttpRequest,
    user: User,
    *,
    amr: list[str],
    via: str,
    mfa: bool | None = None,
    option: str = "",
) -> None:
    """Sign ``user`` in under a new session ID, remember how (``option``: the key of the
    second factor's option, if one was used), and record it."""
    warn_about_failures(request, user)
    pending.forget(request)
    flow.forget(request)
    auth.login(request, user, backend="twofold.accounts.backends.PasswordBackend")
    session_lifetime.start(request)
    request.session[AMR] = amr
    request.session[PHISHING_RESISTANT] = phishing_resistant(option)
    # A trusted device skips the second factor at sign-in only, never a later step-up.
    if (len(amr) > 1) if mfa is None else mfa:
        stepup.mark_verified(request)
    with transaction.atomic():
        details = {"via": via, **({"method": option} if option else {})}
        record(
            AuditAction.SIGNIN_COMPLETED, AuditResult.SUCCESS, actor=user, subject=user, **details
        )


def warn_about_failures(request: HttpRequest, user: User) -> None:
    """Tell the user about second-factor failures since their last sign-in (SECURITY 24)."""
    since = Q(at__gt=user.last_login) if user.last_login else Q()
    failures = AuditEvent.objects.filter(
        since,
        subject_id=user.pk,
        action=AuditAction.CHALLENGE_VERIFIED,
        result=AuditResult.FAILURE,
    ).count()
    if failures:
        messages.warning(
            request,
            ngettext(
                "Since you last signed in, someone entered your password and then failed "
                "the second step %(count)d time. If that wasn't you, change your password.",
                "Since you last signed in, someone entered your password and then failed "
                "the second step %(count)d times. If that wasn't you, change your password.",
                failures,
            )
            % {"count": failures},
        )


def expired_message() -> str:
    return _("Your sign-in took too long. Enter your user name and password again.")


def bypass_message() -> str:
    return _(
        "You signed in without the second step this once, because your administrator "
        "allowed a one-time bypass. Next time you'll be asked as usual. If you didn't "
        "expect this, contact your help desk."
    )


def blocked_message() -> str:
    return _(
        "This sign-in was stopped because fraud was reported, and your account is blocked. "
        "Contact your help desk to unblock it."
    )

"""Answering one authentic Access-Request (PAP) through the validate check's own path.

Every decision is ``api.checks``'s: the password with its limits, app passwords,
``signin.services.decide``, the methods' verification with lockout and replay. This module
only reads the packet (user name, password, State, Calling-Station-Id), calls the check,
and says the result in RADIUS (docs/radius.md):

- first round: a password with a code appended (``secret123456``, or a recovery code) is
  checked as password and code; if that password is wrong, the whole is the password. A
  right password alone accepts a user who needs no second factor (and an app password
  stands for both); otherwise the preferred option starts and an Access-Challenge carries
  an opaque State and what to do, in the person's language;
- second round (the State): what the person typed answers the challenge, or is a code of
  another method (``checks.answer``); an empty answer asks how a push or call stands.

One audit event per request, with the RADIUS client as actor and the request's own
correlation ID; the check's services write theirs under the same ID.
"""

from __future__ import annotations

from contextlib import nullcontext
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from django.conf import settings
from django.core.cache import cache
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from twofold.accounts.models import User, normalise_username
from twofold.accounts.names import typed_user_name
from twofold.api import checks
from twofold.api import clients as api_clients
from twofold.api.reasons import Reason
from twofold.audit.models import AuditAction, AuditResult
from twofold.audit.services import record, together
from twofold.core import context, crypto, languages
from twofold.core.errors import DependencyUnavailable, InvalidInput, TwofoldError
from twofold.methods import base
from twofold.radius import codec
from twofold.radius.models import RadiusClient

#: The tails of a User-Password tried as an appended code, longest first: a grouped or
#: plain recovery code, then six digits. Only a tail some method reads is tried.
CODE_TAILS = (19, 16, 6)
#: How long a State outlives its challenge's expiry (the gateway's own round trip).
STATE_GRACE_SECONDS = 30


@dataclass
class Answer:
    code: int
    message: str = ""
    state: bytes | None = None
    extra: dict[str, list[bytes | str]] = field(default_factory=dict)


@dataclass
class Event:
    """What the request's audit event says."""

    client: RadiusClient
    subject: Any = None
    subject_label: str = ""
    result: AuditResult = AuditResult.SUCCESS
    details: dict[str, Any] = field(default_factory=dict)

    def write(self) -> None:
        record(
            AuditAction.RADIUS_REQUEST,
            self.result,
            organisation=self.client.organisation,
            actor_label=self.client.label,
            subject=self.subject,
            subject_label="" if self.subject else self.subject_label,
            **self.details,
        )


def respond(client: RadiusClient, request: codec.AccessRequest, source: str) -> bytes:
    """The encoded reply to ``request`` from ``client`` (whose packets come from
    ``source``), decided and audited under a correlation ID of its own."""
    token = context.activate(context.RequestContext(client_address=source))
    try:
        organisation = client.organisation
        language = organisation.default_language
        fallback = settings.LANGUAGE_CODE
        with translation.override(language if languages.supported(language) else fallback):
            event = Event(client)
            # One transaction, its events written together (docs/design.md).
            answer = together(
                lambda: _respond(client, request, event), finish=lambda _answer: event.write()
            )
        return codec.reply(
            request, answer.code, message=answer.message, state=answer.state, extra=answer.extra
        )
    finally:
        context.deactivate(token)


def _respond(client: RadiusClient, request: codec.AccessRequest, event: Event) -> Answer:
    username, password = request.user_name, request.password
    event.details["round"] = "challenge" if request.state else "first"
    # NUL reaches no database (PostgreSQL refuses it in text): refused as missing.
    if not username or password is None or "\x00" in username + password:
        event.result = AuditResult.FAILURE
        event.details["reason"] = "no user name or PAP password"
        return Answer(codec.ACCESS_REJECT, _("Send a user name and a password (PAP)."))
    event.subject_label = typed_user_name(username, client.organisation)
    if client.organisation.is_suspended:
        event.result = AuditResult.DENIED
        event.details["reason"] = "organisation suspended"
        return Answer(codec.ACCESS_REJECT, _("Sign-ins through this gateway are suspended."))
    address = _person_address(client, request.text("Calling-Station-Id"), event)
    with (
        context.for_application(client.name),
        context.for_integration(client.integration_key, address),
    ):
        try:
            if request.state:
                decision = _second_round(client, username, request.state, password)
            else:
                decision = _first_round(client.organisation, username, password)
        except DependencyUnavailable:
            raise  # no answer: the gateway asks its other server (docs/radius.md)
        except TwofoldError as refused:
            event.result = AuditResult.DENIED
            event.details["reason"] = refused.code
            return Answer(codec.ACCESS_REJECT, refused.message)
        event.subject = decision.user
        with languages.speaking_to(decision.user) if decision.user else nullcontext():
            return _said(client, decision, request.state, event)


def _person_address(client: RadiusClient, reported: str | None, event: Event) -> str | None:
    """The end user's address from Calling-Station-Id, if this client may report it
    (docs/security.md 32) and it is an address at all (a Wi-Fi controller's is a MAC)."""
    if not reported:
        return None
    try:
        address, ignored = api_clients.person_address(client, reported)  # type: ignore[arg-type]
    except InvalidInput:
        address, ignored = None, "not an address"
    if ignored:
        event.details["person_address_ignored"] = ignored
    return address


def _split(password: str) -> tuple[str, str] | None:
    """``password`` as (password, code) if it ends with a code some method reads."""
    methods = list(base.registry().values())
    for length in CODE_TAILS:
        if len(password) > length:
            head, tail = password[:-length], password[-length:]
            if any(method.reads(tail) for method in methods):
                return head, tail
    return None


def _first_round(organisation: Any, username: str, password: str) -> checks.Decision:
    # Read as password and code first, then as the whole password, in one counted attempt.
    # The whole, if right, is accepted or the preferred option starts, whatever it is (an
    # app code: nothing is sent; the person types it).
    return checks.check(
        None, organisation, username, password, code_appended=_split(password), prefer_sending=False
    )


def _state_key(state: bytes) -> str:
    return "radius-state:" + crypto.keyed_digest(state.hex(), "radius-state")


def _second_round(client: RadiusClient, username: str, state: bytes, typed: str) -> checks.Decision:
    held = cache.get(_state_key(state))
    if (
        held is None
        or held["client"] != client.pk
        or held["username"] != normalise_username(username)
    ):
        return checks.Decision(checks.REJECT, reason=Reason.EXPIRED)
    # The password was right in the first round: from here on the person's own language
    # says nothing about whether they exist.
    person = User.objects.filter(
        username=held["username"], organisation=client.organisation
    ).first()
    with languages.speaking_to(person) if person else nullcontext():
        return checks.answer(client.organisation, username, UUID(held["challenge"]), typed.strip())


def _said(
    client: RadiusClient, decision: checks.Decision, state: bytes | None, event: Event
) -> Answer:
    """The decision in RADIUS, in the language of the person it is about."""
    if decision.result == checks.ACCEPT:
        event.details["via"] = decision.via
        if state:
            cache.delete(_state_key(state))
        return Answer(codec.ACCESS_ACCEPT, extra=_on_accept(client))
    if decision.result == checks.REJECT:
        event.result = AuditResult.FAILURE
        event.details["reason"] = decision.reason.value
        if state:
            cache.delete(_state_key(state))
        # About a person whose password was right (a wrong code): their language, which the
        # check's own message was not written in. Anything else: the organisation's, the
        # same for everybody (docs/security.md 21).
        known = decision.user is not None and decision.reason is not Reason.INVALID_CREDENTIALS
        return Answer(codec.ACCESS_REJECT, decision.reason.message if known else decision.explained)
    challenge, option = decision.challenge, decision.option
    event.details["method"] = option.key
    if not decision.polled or not state:
        state = crypto.random_token(16).encode()
        seconds = (challenge.expires_at - timezone.now()).total_seconds()
        held = {
            "client": client.pk,
            "username": decision.user.username,
            "challenge": str(challenge.pk),
        }
        cache.set(_state_key(state), held, timeout=int(seconds) + STATE_GRACE_SECONDS)
    return Answer(codec.ACCESS_CHALLENGE, _what_to_do(decision), state=state)


def _what_to_do(decision: checks.Decision) -> str:
    option = decision.option
    if option.interaction == base.Interaction.WAIT:
        number = base.get(option.method).wait_context(decision.challenge).get("number")
        if number:
            return _(
                "Open the twofold Authenticator app and approve with the number %(number)s, "
                "then send an empty answer."
            ) % {"number": number}
        return _("%(prompt)s: answer the call, then send an empty answer.") % {
            "prompt": option.prompt
        }
    return _("%(prompt)s: type the code as your answer.") % {"prompt": option.prompt}


def _on_accept(client: RadiusClient) -> dict[str, list[bytes | str]]:
    extra: dict[str, list[bytes | str]] = {}
    if client.reply_class:
        extra["Class"] = [client.reply_class.encode()]
    if client.reply_filter_id:
        extra["Filter-Id"] = [client.reply_filter_id]
    return extra

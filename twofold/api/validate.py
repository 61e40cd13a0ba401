"""/api/v1/validate: applications check a user's password and second factor (scope validate).

A decided answer is 200 with ``result`` accept, reject or challenge and a ``reason`` code
(``twofold.api.reasons``) with its message; a 4xx means the call itself failed (bad input,
unknown challenge, too many attempts, a locked second factor). A push or call that is still
pending answers the same result as when it was started.

The client's own address (a VPN, a mail server) is never the person's: trusted address
ranges and per-address limits see the ``user_address`` it reports, if an administrator
trusts it to report one, else no person's address at all; its failures also fill its own
ceiling (docs/security.md 32, core/context).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Literal
from uuid import UUID

from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, Router, Schema
from ninja.decorators import decorate_view
from pydantic import ConfigDict, model_validator

from twofold.accounts.validators import MAX_PASSWORD_LENGTH
from twofold.api import checks, clients
from twofold.api.auth import Call, ClientToken, audited, documented
from twofold.api.errors import ERROR_STATUSES, ErrorOut
from twofold.api.models import ApiScope
from twofold.api.reasons import Reason
from twofold.audit.models import AuditAction, AuditResult
from twofold.core import context
from twofold.methods import base

router = Router(tags=["validate"], auth=ClientToken(ApiScope.VALIDATE))


def _user_name() -> str:
    return Field(min_length=1, max_length=254, description="The user name: alice@contoso.example.")


def _user_address() -> str | None:
    return Field(
        None,
        max_length=64,
        description="The end user's IP address (IPv4 or IPv6), as a VPN or RADIUS client "
        "knows it (RADIUS Calling-Station-Id, the tunnel's outer address). Believed only from "
        "a client an administrator marked as trusted to report it: then trusted address "
        "ranges and per-address limits use it. The client's own address never counts as "
        "trusted. From any other client it is checked and ignored. Not an address: 400.",
    )


class CheckIn(Schema):
    # password or challenge_id (or both): said in the schema, so that the document is true
    model_config = ConfigDict(
        json_schema_extra={"anyOf": [{"required": ["password"]}, {"required": ["challenge_id"]}]}
    )

    user: str = _user_name()
    password: str | None = Field(
        None,
        max_length=MAX_PASSWORD_LENGTH,
        description="The password, or an app password. Needed unless challenge_id is sent.",
    )
    code: str | None = Field(
        None,
        max_length=32,
        description="A code: from the authenticator app or a hardware token (no challenge_id), "
        "or the one texted for challenge_id.",
    )
    challenge_id: UUID | None = Field(
        None, description="The challenge an earlier call started (its code is in `code`)."
    )
    method: str | None = Field(
        None,
        max_length=40,
        description="An option key (app_code, hardware_token, recovery_code, "
        "text:authentication, …) instead of the user's preferred one. A code sent without "
        "it goes to an option whose method reads a code of its shape (six digits: the app or "
        "a hardware token; a recovery code: recovery codes).",
    )
    user_address: str | None = _user_address()

    @model_validator(mode="after")
    def _password_or_challenge(self) -> CheckIn:
        if self.password is None and self.challenge_id is None:
            raise ValueError(_("Send the user's password, or the challenge_id of a challenge."))
        return self


class StartIn(Schema):
    user: str = _user_name()
    password: str = Field(max_length=MAX_PASSWORD_LENGTH, description="The password.")
    method: str | None = Field(None, max_length=40, description="An option key, as in check.")
    user_address: str | None = _user_address()


class ResultOut(Schema):
    result: Literal["accept", "reject", "challenge"]
    reason: Reason | None = Field(
        None,
        description="How it was accepted, why it was rejected, or that it waits (pending): "
        "one of the codes of Reason. Compare the code, never the message.",
    )
    message: str | None = Field(None, description="The reason for people, in their language.")
    challenge_id: UUID | None = None
    state: Literal["pending", "approved", "denied", "expired", "fraud", "unreached"] | None = Field(
        None, description="The challenge's state, where there is one (as when polled)."
    )
    kind: str | None = Field(
        None,
        description="What the challenge uses: text, call, app_code, app_notification, "
        "hardware_token.",
    )
    interaction: Literal["code", "wait"] | None = Field(
        None,
        description="code: ask the user for the code, then call check with challenge_id and "
        "code; wait: poll GET /validate/challenges/{id} until it is approved.",
    )
    prompt: str | None = Field(None, description="For the user, masked: Text +1 XXX XXX XX34.")
    number: str | None = Field(
        None,
        description="For a push (kind app_notification): the number to show the user, who "
        "types it in the twofold Authenticator to approve.",
    )
    expires_at: datetime | None = None


class ChallengeStateOut(Schema):
    challenge_id: UUID
    state: Literal["pending", "approved", "denied", "expired", "fraud", "unreached"]
    expires_at: datetime


@contextmanager
def _on_behalf(call: Call, reported: str | None) -> Iterator[None]:
    """The call's address context: the client counts only as itself, and the person's
    address is the one it reported if it is trusted to (docs/security.md 32). Also names
    the application a push shows on the phone."""
    address, ignored = clients.person_address(call.client, reported)
    if address:
        call.details["person_address"] = address
    if ignored:
        call.details["person_address_ignored"] = ignored
    with (
        context.for_application(call.client.name),
        context.for_integration(call.client.integration_key, address),
    ):
        yield


def _answer(call: Call, decision: checks.Decision) -> ResultOut:
    """The decision as the client sees it; the call's audit event says the same."""
    call.subject = decision.user
    challenge = decision.challenge
    state = challenge.state if challenge is not None else None
    if decision.result == checks.CHALLENGE:
        option = decision.option
        call.details["method"] = option.key
        if decision.polled:  # asked how it stands: the call did nothing
            call.polled = True
            call.details["state"] = challenge.state
        else:
            call.action = AuditAction.CHALLENGE_STARTED
        return ResultOut(
            result="challenge",
            reason=decision.reason,
            message=decision.explained,
            challenge_id=challenge.pk,
            state=state,
            kind=option.key.partition(":")[0],
            interaction=option.interaction,
            prompt=option.prompt,
            number=base.get(option.method).wait_context(challenge).get("number") or None,
            expires_at=challenge.expires_at,
        )
    if decision.result == checks.REJECT:
        call.result = AuditResult.FAILURE
        call.details["reason"] = decision.reason.value
    else:
        call.details["via"] = decision.via
    return ResultOut(
        result=decision.result,
        reason=decision.reason,
        message=decision.explained,
        challenge_id=challenge.pk if challenge is not None else None,
        state=state,
    )


def _link(operation_id: str, *, description: str, **fields: dict[str, str]) -> dict:
    """An OpenAPI link: the operation a client (or a stateful test) calls next."""
    return {"operationId": operation_id, "description": description, **fields}


#: From a started challenge to polling it (an OpenAPI link).
_LINKS = {
    200: {
        "links": {
            "ChallengeState": _link(
                "challenge_state",
                parameters={"challenge_id": "$response.body#/challenge_id"},
                description="Poll a challenge that waits for the user (interaction wait).",
            ),
        }
    }
}


def _checks_something(request: HttpRequest) -> bool:
    """A call that checks a password or a challenge's code (not one that only asks how a
    challenge stands): api/checks.py locks the user's row as soon as it knows the user,
    first of all its locks, so the call and its audit events can be one transaction
    (docs/design.md, a check as one transaction). A poll reads, and may expire, a
    challenge before any user is locked: it keeps a transaction per step."""
    try:
        body = json.loads(request.body)
    except (ValueError, UnicodeDecodeError, RequestDataTooBig):
        return False  # answered by the operation itself, as any such request
    if not isinstance(body, dict):
        return False
    return body.get("password") is not None or bool(
        body.get("challenge_id") is not None and body.get("code")
    )


@router.post(
    "/check",
    response={200: ResultOut, ERROR_STATUSES: ErrorOut},
    operation_id="check",
    openapi_extra={**documented(ApiScope.VALIDATE), "responses": _LINKS},
    summary="Check a password and, where needed, a second factor",
)
@decorate_view(audited(AuditAction.SIGNIN_COMPLETED, together=_checks_something))
def check(request: HttpRequest, body: CheckIn) -> ResultOut:
    """One call for most integrations. With a code (and no challenge_id) the code is checked
    as one from the user's authenticator app or hardware token; with challenge_id and code,
    that challenge is answered; with neither, the user's preferred option that sends
    something (text, call) is started and a challenge is returned. App passwords are
    accepted here, where the organisation allows them."""
    call: Call = request.auth
    call.names_unless_found(body.user)
    with _on_behalf(call, body.user_address):
        decision = checks.check(
            request,
            call.organisation,
            body.user,
            body.password,
            code=body.code,
            challenge_id=body.challenge_id,
            method=body.method,
        )
    return _answer(call, decision)


@router.post(
    "/challenges",
    response={200: ResultOut, ERROR_STATUSES: ErrorOut},
    operation_id="start_challenge",
    openapi_extra={**documented(ApiScope.VALIDATE), "responses": _LINKS},
    summary="Start a challenge (password required)",
)
@decorate_view(audited(AuditAction.CHALLENGE_STARTED, together=_checks_something))
def start_challenge(request: HttpRequest, body: StartIn) -> ResultOut:
    """Check the password, then start ``method`` or else the user's preferred option,
    whatever it is (for an app code nothing is sent: answer with check, challenge_id and
    code). The password is required so that no client can text or call a user on the
    strength of a user name alone. A user who needs no second factor is accepted at once,
    as in check."""
    call: Call = request.auth
    call.names_unless_found(body.user)
    with _on_behalf(call, body.user_address):
        decision = checks.check(
            request,
            call.organisation,
            body.user,
            body.password,
            method=body.method,
            prefer_sending=False,
        )
    return _answer(call, decision)


@router.get(
    "/challenges/{challenge_id}",
    response={200: ChallengeStateOut, ERROR_STATUSES: ErrorOut},
    operation_id="challenge_state",
    openapi_extra=documented(ApiScope.VALIDATE),
    summary="The state of a challenge",
)
@decorate_view(audited(None))
def challenge_state(request: HttpRequest, challenge_id: UUID) -> ChallengeStateOut:
    """Poll this while a call or push waits for the user: approved means accept. Only
    challenges the API started for the client's own organisation's users are visible."""
    call: Call = request.auth
    challenge = checks.challenge_of(call.organisation, challenge_id)
    call.subject = challenge.user
    return ChallengeStateOut(
        challenge_id=challenge.pk, state=challenge.state, expires_at=challenge.expires_at
    )

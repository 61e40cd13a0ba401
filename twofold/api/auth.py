"""Who is calling: an API client, by its bearer token, holding the scope an operation needs.

Unknown, malformed and revoked tokens all get the same 401; a valid token without the
operation's scope gets 403. Each refusal is audited; a call that gets through is audited
when it ends (``audited``), with the client as its actor.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import wraps
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja.security import HttpBearer

from twofold.accounts.models import User
from twofold.accounts.names import typed_user_name
from twofold.api import audit, clients
from twofold.api.models import ApiClient, ApiScope
from twofold.audit import services as audit_events
from twofold.audit.models import AuditAction, AuditResult
from twofold.core import languages
from twofold.core.errors import NotAllowed


class ScopeMissing(NotAllowed):
    code = "insufficient_scope"


class OrganisationSuspended(NotAllowed):
    code = "organisation_suspended"


@dataclass
class Call:
    """One authenticated call: ``request.auth`` for the operation, and its audit event."""

    client: ApiClient
    action: AuditAction | None = None  # overrides the operation's own (validate decides late)
    result: AuditResult | None = None  # a decided refusal answered with 200 is a FAILURE
    subject: User | None = None
    subject_label: str = ""  # set through ``names``, never from a client's value directly
    typed_name: str | None = None  # ``names_unless_found``: named when the event is written
    error: str = ""
    details: dict[str, Any] = field(default_factory=dict)
    polled: bool = False  # only asked how something stands: no action to record

    @property
    def organisation(self):
        return self.client.organisation

    def names(self, typed: str) -> None:
        """Name the subject by a user name the client sent: kept only if it is one of the
        organisation's user names, never a password sent in the wrong field
        (docs/security.md 31)."""
        self.subject_label = typed_user_name(typed, self.organisation)

    def names_unless_found(self, typed: str) -> None:
        """``names``, looked up only if the call ends without a subject: a call that finds
        its user (every accepted check) saves the statement (issue 20). For calls that
        never remove or create the user they name, where both give the same label."""
        self.typed_name = typed

    def label(self) -> str:
        """The subject's label for the call's event: "" when a subject names itself."""
        if self.subject is not None:
            return ""
        if self.typed_name is not None:
            self.names(self.typed_name)
            self.typed_name = None
        return self.subject_label


def _operation(request: HttpRequest) -> str:
    """What was called, for the audit log: "POST api/v1/users/<username>/unlock"."""
    match = getattr(request, "resolver_match", None)
    return f"{request.method} {match.route if match else '?'}"


class ClientToken(HttpBearer):
    """``Authorization: Bearer tf_<prefix>_<secret>`` of an active client with ``scope``."""

    def __init__(self, scope: ApiScope) -> None:
        super().__init__()
        self.scope = scope

    def authenticate(self, request: HttpRequest, token: str) -> Call | None:
        client = clients.find(token.strip())
        if client is None or not client.is_active:
            audit.record_call(
                client,
                None,
                AuditResult.DENIED,
                operation=_operation(request),
                reason="unknown token" if client is None else "revoked client",
            )
            return None  # django-ninja answers 401
        languages.for_api_client(request, client.organisation)
        if client.organisation.is_suspended:
            audit.record_call(
                client,
                None,
                AuditResult.DENIED,
                operation=_operation(request),
                reason="organisation suspended",
            )
            raise OrganisationSuspended(
                _(
                    "This API client's organisation is suspended by the service's operator: "
                    "its calls are refused until it is resumed."
                )
            )
        if not client.allows(self.scope):
            audit.record_call(
                client,
                None,
                AuditResult.DENIED,
                operation=_operation(request),
                reason=f"scope {self.scope} missing",
            )
            raise ScopeMissing(
                _("This API client lacks the scope %(scope)s.") % {"scope": self.scope}
            )
        clients.touch(client)
        return Call(client)


def documented(scope: ApiScope) -> dict[str, str]:
    """The OpenAPI extension naming the scope an operation needs (for its openapi_extra)."""
    return {"x-scope": scope.value}


def _result(call: Call, status: int) -> AuditResult:
    if status < 400:
        return call.result or AuditResult.SUCCESS
    return AuditResult.DENIED if status in (401, 403, 404, 429) else AuditResult.FAILURE


def _record(request: HttpRequest, action: AuditAction | None, response: HttpResponse) -> None:
    call = getattr(request, "auth", None)
    if not isinstance(call, Call):
        return
    details = dict(call.details)
    if call.error:
        details["reason"] = call.error
    audit.record_call(
        call.client,
        None if call.polled else (call.action or action),
        _result(call, response.status_code),
        operation=_operation(request),
        subject=call.subject,
        # A found subject names itself; the label is for a subject not found or gone.
        subject_label=call.label(),
        **details,
    )


def audited(
    action: AuditAction | None, *, together: Callable[[HttpRequest], bool] | None = None
) -> Callable[[Callable[..., HttpResponse]], Any]:
    """Record the call's event once its answer is known (a ``decorate_view`` decorator).

    ``action`` is what the call did in the words of the audit log (None for reads); the
    event itself is always an API call (see ``twofold.api.audit``). ``together``: for the
    requests it picks, the call runs in one transaction with its events written together
    (``audit.services.together``; a 5xx rolls the call's work back and its event is
    written alone); only for a path that locks the user's row as soon as it knows the user
    (the lock order, methods/verification.py; api/checks.py does).
    """

    def decorate(run: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @wraps(run)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if together is not None and together(request):
                return audit_events.together(
                    lambda: run(request, *args, **kwargs),
                    finish=lambda response: _record(request, action, response),
                    undone=lambda response: response.status_code >= 500,
                )
            response = run(request, *args, **kwargs)
            _record(request, action, response)
            return response

        return wrapper

    return decorate

"""The one event every API call leaves, and the events of API clients being made or revoked.

Every call, answered or refused, writes one ``API_CALL`` event with the client as actor
("api:<client name>"), the operation as its kind and, for calls that changed something,
what they did (``did``: the audit action of the portal's equivalent). The services a call
runs write their own events as well (a verified code, an updated user), as they do for
the browser.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from twofold.audit.models import AuditAction, AuditResult
from twofold.audit.services import record, safe_text

if TYPE_CHECKING:
    from twofold.accounts.models import User
    from twofold.api.models import ApiClient


def record_call(
    client: ApiClient | None,
    did: AuditAction | None,
    result: AuditResult,
    *,
    operation: str,
    subject: User | None = None,
    subject_label: str = "",
    **details: Any,
) -> None:
    """Write the call's event with the client as its actor."""
    if did is not None:
        details["did"] = did.value
    record(
        AuditAction.API_CALL,
        result,
        organisation=client.organisation if client else None,
        actor_label=client.label if client else "api:unknown",
        subject=subject,
        subject_label=subject_label,
        kind=operation,
        **details,
    )


def record_client_change(client: ApiClient, actor: User) -> None:
    """A client was created or revoked by an administrator."""
    created = client.revoked_at is None
    record(
        AuditAction.API_CLIENT_CREATED if created else AuditAction.API_CLIENT_REVOKED,
        AuditResult.SUCCESS,
        organisation=client.organisation,
        actor=actor,
        reason=safe_text(f"API client {client.name} ({', '.join(client.scopes)})"),
        reports_person_address=client.reports_person_address,
    )


def record_reporting_change(client: ApiClient, actor: User) -> None:
    """An administrator let the client report end users' addresses, or stopped it."""
    record(
        AuditAction.API_CLIENT_CHANGED,
        AuditResult.SUCCESS,
        organisation=client.organisation,
        actor=actor,
        reason=safe_text(f"API client {client.name}"),
        changes={
            "reports_person_address": {
                "before": not client.reports_person_address,
                "after": client.reports_person_address,
            }
        },
    )

"""The audit actions the API writes, and the one event every API call leaves.

Audit actions are a closed list owned by ``twofold.audit``. The API asked for its own
(API_CALL, API_CLIENT_CREATED, API_CLIENT_REVOKED; see the issue 8 note): each name
below resolves to that action once ``AuditAction`` has it, and to the nearest existing
one until then, so adding them there is the only change needed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from twofold.audit.models import AuditAction, AuditResult
from twofold.audit.services import record, safe_text

if TYPE_CHECKING:
    from twofold.accounts.models import User
    from twofold.api.models import ApiClient


def _requested(name: str, interim: AuditAction | None) -> AuditAction | None:
    return getattr(AuditAction, name, interim)


CLIENT_CREATED = _requested("API_CLIENT_CREATED", AuditAction.POLICY_CHANGED)
CLIENT_REVOKED = _requested("API_CLIENT_REVOKED", AuditAction.POLICY_CHANGED)
#: The event of a call. Until it exists, a call is recorded under the action of what it
#: did (``fallback`` below), and a read, which no existing action describes, only when refused.
CALL = _requested("API_CALL", None)
DENIED = AuditAction.ADMIN_ACCESS_DENIED


def record_call(
    client: ApiClient | None,
    fallback: AuditAction | None,
    result: AuditResult,
    *,
    operation: str,
    subject: User | None = None,
    subject_label: str = "",
    **details: Any,
) -> None:
    """Write the call's event with the client as its actor ("api:<client name>")."""
    action = CALL or fallback
    if action is None:
        return
    if CALL is not None:
        details["kind"] = operation
    record(
        action,
        result,
        organisation=client.organisation if client else None,
        actor_label=client.label if client else "api:unknown",
        subject=subject,
        subject_label=subject_label,
        **details,
    )


def record_client_change(action: AuditAction, client: ApiClient, actor: User) -> None:
    """A client was created or revoked by an administrator."""
    record(
        action,
        AuditResult.SUCCESS,
        organisation=client.organisation,
        actor=actor,
        kind="api_client.created" if client.revoked_at is None else "api_client.revoked",
        reason=safe_text(f"API client {client.name} ({', '.join(client.scopes)})"),
    )

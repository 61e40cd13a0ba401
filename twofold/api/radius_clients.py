"""/api/v1/radius-clients: the organisation's RADIUS clients (scope admin), as the admin
portal's pages make, list and delete them (``twofold.radius.clients``). The shared secret
is in the answer that makes a client, and never again."""

from __future__ import annotations

from datetime import datetime

from django.http import HttpRequest
from ninja import Field, Router, Schema
from ninja.decorators import decorate_view
from ninja.responses import Status

from twofold.api.auth import Call, ClientToken, audited, documented
from twofold.api.errors import ERROR_STATUSES, ErrorOut
from twofold.api.models import ApiScope
from twofold.audit.models import AuditAction
from twofold.radius import clients
from twofold.radius.models import RadiusClient

router = Router(tags=["radius clients"], auth=ClientToken(ApiScope.ADMIN))


class RadiusClientIn(Schema):
    name: str = Field(min_length=1, max_length=clients.MAX_NAME_LENGTH)
    network: str = Field(
        min_length=1,
        max_length=64,
        description="The address the gateway sends from, or its network: 192.0.2.10 or "
        "192.0.2.0/28. No two clients may cover one address.",
    )
    reports_person_address: bool = Field(
        False,
        description="Whether the end user's address it sends as Calling-Station-Id is "
        "believed for trusted address ranges and per-address limits.",
    )
    reply_class: str = Field("", max_length=clients.MAX_REPLY_LENGTH)
    reply_filter_id: str = Field("", max_length=clients.MAX_REPLY_LENGTH)


class RadiusClientOut(Schema):
    id: int
    name: str
    network: str
    reports_person_address: bool
    reply_class: str
    reply_filter_id: str
    created_at: datetime


class RadiusClientCreatedOut(RadiusClientOut):
    secret: str = Field(description="The shared secret, for the gateway: shown this once.")


class RadiusClientList(Schema):
    radius_clients: list[RadiusClientOut]


def _out(client: RadiusClient) -> dict[str, object]:
    return {
        "id": client.pk,
        "name": client.name,
        "network": client.network,
        "reports_person_address": client.reports_person_address,
        "reply_class": client.reply_class,
        "reply_filter_id": client.reply_filter_id,
        "created_at": client.created_at,
    }


@router.get(
    "",
    response={200: RadiusClientList, ERROR_STATUSES: ErrorOut},
    operation_id="list_radius_clients",
    openapi_extra=documented(ApiScope.ADMIN),
    summary="The organisation's RADIUS clients",
)
@decorate_view(audited(None))
def list_radius_clients(request: HttpRequest) -> dict[str, object]:
    call: Call = request.auth
    return {"radius_clients": [_out(client) for client in clients.clients_of(call.organisation)]}


@router.post(
    "",
    response={201: RadiusClientCreatedOut, ERROR_STATUSES: ErrorOut},
    operation_id="create_radius_client",
    openapi_extra=documented(ApiScope.ADMIN),
    summary="Make a RADIUS client",
)
@decorate_view(audited(AuditAction.RADIUS_CLIENT_CREATED))
def create_radius_client(request: HttpRequest, body: RadiusClientIn) -> Status:
    """The answer holds the shared secret, the only copy there will be."""
    call: Call = request.auth
    client, secret = clients.create(
        call.organisation,
        body.name,
        body.network,
        actor=None,
        actor_label=call.client.label,
        reports_person_address=body.reports_person_address,
        reply_class=body.reply_class,
        reply_filter_id=body.reply_filter_id,
    )
    return Status(201, {**_out(client), "secret": secret})


@router.delete(
    "/{client_id}",
    response={204: None, ERROR_STATUSES: ErrorOut},
    operation_id="delete_radius_client",
    openapi_extra=documented(ApiScope.ADMIN),
    summary="Delete a RADIUS client",
)
@decorate_view(audited(AuditAction.RADIUS_CLIENT_DELETED))
def delete_radius_client(request: HttpRequest, client_id: int) -> Status:
    """Its gateway's packets are dropped from the next one on. Another organisation's
    client is not found."""
    call: Call = request.auth
    clients.delete(clients.get(call.organisation, client_id), actor=None,
                   actor_label=call.client.label)  # fmt: skip
    return Status(204, None)

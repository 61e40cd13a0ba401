"""RADIUS clients: making them (the shared secret is shown once), deleting them, and finding
the one a packet's source address belongs to."""

from __future__ import annotations

import ipaddress

from django.db import transaction
from django.db.models import QuerySet
from django.utils.translation import gettext as _

from twofold.accounts.models import User
from twofold.audit.models import AuditAction, AuditResult
from twofold.audit.services import record, safe_text
from twofold.core import crypto
from twofold.core.errors import InvalidInput, NotFound
from twofold.organisations.models import Organisation
from twofold.radius.models import RadiusClient

MAX_NAME_LENGTH = 80
MAX_REPLY_LENGTH = 200
#: 32 letters and digits (about 190 bits): far beyond the 16 octets RFC 2865 asks at
#: least, short enough to type into a gateway's form, and nothing a gateway's form or a
#: command line may refuse or misread (a secret starting with "-" was an option to
#: FreeRADIUS's radclient).
SECRET_LENGTH = 32


def clients_of(organisation: Organisation) -> QuerySet[RadiusClient]:
    return RadiusClient.objects.filter(organisation=organisation).select_related("created_by")


def get(organisation: Organisation, client_id: int) -> RadiusClient:
    """One of the organisation's clients; anybody else's is "not found"."""
    found = clients_of(organisation).filter(pk=client_id).first()
    if found is None:
        raise NotFound(_("This RADIUS client does not exist."))
    return found


def parse_network(value: str) -> str:
    """A source address or network (CIDR), normalised; InvalidInput for anything else."""
    try:
        network = ipaddress.ip_network((value or "").strip(), strict=True)
    except ValueError:
        network = None
    if network is None:
        raise InvalidInput(
            _("Give the address the gateway sends from, or its network: 192.0.2.10 or "
              "192.0.2.0/28."),
            field="network",
        )  # fmt: skip
    return str(network)


def _clean_name(organisation: Organisation, name: str) -> str:
    name = " ".join((name or "").split())
    if not name:
        raise InvalidInput(_("Give the client a name, such as the gateway's."), field="name")
    if len(name) > MAX_NAME_LENGTH:
        raise InvalidInput(_("Use at most 80 characters."), field="name")
    if clients_of(organisation).filter(name__iexact=name).exists():
        raise InvalidInput(_("Another RADIUS client has this name."), field="name")
    return name


def _clean_reply(value: str, field: str) -> str:
    value = (value or "").strip()
    if len(value) > MAX_REPLY_LENGTH or any(ord(character) < 32 for character in value):
        raise InvalidInput(_("Use at most 200 characters, on one line."), field=field)
    return value


def _overlapping(network: str) -> bool:
    """Whether any client, of any organisation, covers an address of ``network``: a packet
    must belong to exactly one client, whose secret it is read with."""
    wanted = ipaddress.ip_network(network)
    return any(
        wanted.version == other.version and wanted.overlaps(other)
        for other in (client.ip_network() for client in RadiusClient.objects.only("network"))
    )


@transaction.atomic
def create(
    organisation: Organisation,
    name: str,
    network: str,
    *,
    actor: User | None,
    actor_label: str = "",
    reports_person_address: bool = False,
    reply_class: str = "",
    reply_filter_id: str = "",
) -> tuple[RadiusClient, str]:
    """Make a client; returns it and its shared secret, which is shown this once.
    ``actor``: the administrator; an API client is none and names itself in ``actor_label``."""
    name = _clean_name(organisation, name)
    network = parse_network(network)
    reply_class = _clean_reply(reply_class, "reply_class")
    reply_filter_id = _clean_reply(reply_filter_id, "reply_filter_id")
    if _overlapping(network):
        raise InvalidInput(
            _("Another RADIUS client already covers an address of this network."),
            field="network",
        )
    secret = crypto.random_alphanumeric(SECRET_LENGTH)
    client = RadiusClient.objects.create(
        organisation=organisation,
        name=name,
        network=network,
        secret=crypto.encrypt(secret.encode()),
        reports_person_address=reports_person_address,
        reply_class=reply_class,
        reply_filter_id=reply_filter_id,
        created_by=actor,
    )
    record(
        AuditAction.RADIUS_CLIENT_CREATED,
        AuditResult.SUCCESS,
        organisation=organisation,
        actor=actor,
        actor_label=actor_label,
        reason=safe_text(f"RADIUS client {client.name} ({client.network})"),
        reports_person_address=reports_person_address,
    )
    return client, secret


@transaction.atomic
def delete(client: RadiusClient, *, actor: User | None, actor_label: str = "") -> None:
    """Forget the client: its gateway's packets are dropped from the next one on."""
    deleted, _rows = RadiusClient.objects.filter(pk=client.pk).delete()
    if deleted:
        record(
            AuditAction.RADIUS_CLIENT_DELETED,
            AuditResult.SUCCESS,
            organisation=client.organisation,
            actor=actor,
            actor_label=actor_label,
            reason=safe_text(f"RADIUS client {client.name} ({client.network})"),
        )


def for_source(address: str) -> RadiusClient | None:
    """The client whose network holds ``address`` (clients never overlap), or None."""
    try:
        source = ipaddress.ip_address(address)
    except ValueError:
        return None
    source = getattr(source, "ipv4_mapped", None) or source
    for client in RadiusClient.objects.select_related("organisation"):
        if source in client.ip_network():
            return client
    return None


def secret_of(client: RadiusClient) -> bytes:
    """The shared secret; ``crypto.StoredSecretUnreadable`` if no configured key opens it
    (the request then gets no answer, as when the database is down)."""
    return crypto.open_stored(client.secret, what=f"RADIUS client {client.pk}")

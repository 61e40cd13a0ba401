"""API clients: creating them (the token is shown once), revoking them, and finding the
client a bearer token belongs to."""

from __future__ import annotations

import ipaddress
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from twofold.accounts.models import User
from twofold.api import audit
from twofold.api.models import ApiClient, ApiScope
from twofold.core import context, crypto
from twofold.core.errors import InvalidInput, NotFound
from twofold.organisations.models import Organisation

TOKEN_PREFIX = "tf"  # noqa: S105 - the public marker of our tokens, not a secret
PREFIX_LENGTH = 10
MAX_TOKEN_LENGTH = 200
MAX_NAME_LENGTH = 80
#: last_used_at is written at most this often per client (a write on every call would
#: make each read a write).
TOUCH_EVERY = timedelta(minutes=1)


def clients_of(organisation: Organisation) -> QuerySet[ApiClient]:
    return ApiClient.objects.filter(organisation=organisation).select_related("created_by")


def get(organisation: Organisation, client_id: int) -> ApiClient:
    """One of the organisation's clients; anybody else's is "not found"."""
    found = clients_of(organisation).filter(pk=client_id).first()
    if found is None:
        raise NotFound(_("This API client does not exist."))
    return found


def _clean(organisation: Organisation, name: str, scopes: list[str]) -> tuple[str, list[str]]:
    name = " ".join((name or "").split())
    if not name:
        raise InvalidInput(
            _("Give the client a name, such as the application using it."), field="name"
        )
    if len(name) > MAX_NAME_LENGTH:
        raise InvalidInput(_("Use at most 80 characters."), field="name")
    if clients_of(organisation).filter(name__iexact=name, revoked_at__isnull=True).exists():
        raise InvalidInput(_("Another active client has this name."), field="name")
    chosen = [scope for scope in ApiScope.values if scope in set(scopes or [])]
    if not chosen or len(chosen) != len(set(scopes)):
        raise InvalidInput(_("Choose at least one scope from the list."), field="scopes")
    return name, chosen


@transaction.atomic
def create(
    organisation: Organisation,
    name: str,
    scopes: list[str],
    *,
    actor: User,
    reports_person_address: bool = False,
) -> tuple[ApiClient, str]:
    """Make a client; returns it and its bearer token, the only copy there will ever be.
    ``reports_person_address``: whether the end user's address it sends is believed."""
    name, scopes = _clean(organisation, name, scopes)
    secret = crypto.random_token(32)
    for _attempt in range(3):
        prefix = crypto.random_letters(PREFIX_LENGTH)
        try:
            with transaction.atomic():
                client = ApiClient.objects.create(
                    organisation=organisation,
                    name=name,
                    scopes=scopes,
                    prefix=prefix,
                    secret_digest=crypto.digest(secret),
                    created_by=actor,
                    reports_person_address=reports_person_address,
                )
            break
        except IntegrityError:  # a prefix drawn twice (23**10 of them): draw again
            continue
    else:
        raise InvalidInput(_("Could not make a client. Try again."))
    audit.record_client_change(client, actor)
    return client, f"{TOKEN_PREFIX}_{prefix}_{secret}"


@transaction.atomic
def revoke(client: ApiClient, *, actor: User) -> None:
    """Refuse the client's token from the next call on."""
    updated = ApiClient.objects.filter(pk=client.pk, revoked_at__isnull=True).update(
        revoked_at=timezone.now()
    )
    client.refresh_from_db(fields=["revoked_at"])
    if updated:
        audit.record_client_change(client, actor)


@transaction.atomic
def set_reports_person_address(client: ApiClient, allowed: bool, *, actor: User) -> bool:
    """Trust the client to report its end users' addresses, or stop; audited. Returns
    whether anything changed."""
    updated = (
        ApiClient.objects.filter(pk=client.pk, revoked_at__isnull=True)
        .exclude(reports_person_address=allowed)
        .update(reports_person_address=allowed)
    )
    client.refresh_from_db(fields=["reports_person_address"])
    if updated:
        audit.record_reporting_change(client, actor)
    return bool(updated)


def parse_address(value: str) -> str:
    """An end user's address as a client sent it: an IPv4 or IPv6 address, in the form
    trusted ranges are compared in (an IPv4-mapped IPv6 address as its IPv4 address)."""
    try:
        address = ipaddress.ip_address(value.strip())
    except ValueError:
        address = None
    if address is None or getattr(address, "scope_id", None):
        raise InvalidInput(
            _("user_address must be an IPv4 or IPv6 address, such as 192.0.2.10 or "
              "2001:db8::10."),
            field="user_address",
        )  # fmt: skip
    mapped = getattr(address, "ipv4_mapped", None)
    return str(mapped or address)


def person_address(client: ApiClient, reported: str | None) -> tuple[str | None, str]:
    """The end user's address to believe for this call, and why one sent was ignored
    ("" when none was, or it is believed).

    A client not trusted to report one may still send it (a RADIUS front sends
    Calling-Station-Id anyway): it is checked, then ignored and noted in the call's audit
    event, and the call is answered as if none were sent. Refusing it instead would stop
    every sign-in of a VPN until an administrator ticks the box; ignoring it is the safe
    side (no trusted range, no person's bucket) and keeps them working. The same for a
    trusted client reporting the address it calls from: its own address never counts as
    the person's (docs/security.md 32), neither in a trusted range nor as a bucket that
    all its users would share."""
    if reported is None:
        return None, ""
    address = parse_address(reported)
    if not client.reports_person_address:
        return None, "the client is not trusted to report it"
    if address == context.current().client_address:
        return None, "the client's own address"
    return address, ""


def find(token: str) -> ApiClient | None:
    """The client whose token this is, revoked or not; None for anything else.

    Looked up by the digest of the secret (one indexed query whose timing says nothing
    about how close a guess was), then the prefix is compared in constant time.
    """
    if len(token) > MAX_TOKEN_LENGTH:
        return None
    parts = token.split("_", 2)
    if len(parts) != 3 or parts[0] != TOKEN_PREFIX or not parts[2]:
        return None
    client = (
        ApiClient.objects.select_related("organisation")
        .filter(secret_digest=crypto.digest(parts[2]))
        .first()
    )
    if client is None or not crypto.constant_time_equals(client.prefix, parts[1]):
        return None
    return client


def touch(client: ApiClient) -> None:
    """Note that the client was used (at most once per TOUCH_EVERY)."""
    now = timezone.now()
    if client.last_used_at is None or now - client.last_used_at >= TOUCH_EVERY:
        ApiClient.objects.filter(pk=client.pk).update(last_used_at=now)
        client.last_used_at = now

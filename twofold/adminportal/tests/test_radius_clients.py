"""The admin portal's RADIUS clients: make one (secret shown once, kept encrypted), list,
delete, scoping to the organisation."""

from __future__ import annotations

import re

import pytest

from twofold.audit.models import AuditAction, AuditEvent
from twofold.core import crypto
from twofold.radius import clients
from twofold.radius.models import RadiusClient

pytestmark = pytest.mark.django_db

LIST = "/admin-portal/radius-clients/"
NEW = "/admin-portal/radius-clients/new"


def make(client, **fields):
    data = {"name": "Office VPN", "network": "192.0.2.0/28"} | fields
    return client.post(NEW, data)


def shown_secret(response) -> str:
    found = re.search(r'data-testid="radius-secret">([^<]+)<', response.content.decode())
    assert found, "no secret on the page"
    return found.group(1).strip()


def test_the_secret_is_shown_once_and_stored_encrypted(admin_client, organisation) -> None:
    secret = shown_secret(make(admin_client, reply_class="staff"))
    client = RadiusClient.objects.get()
    assert (client.organisation, client.network, client.reply_class) == (
        organisation,
        "192.0.2.0/28",
        "staff",
    )
    assert secret not in client.secret
    assert crypto.decrypt(client.secret).decode() == secret
    page = admin_client.get(LIST).content.decode()
    assert "Office VPN" in page
    assert secret not in page


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"name": ""}, "This field is required."),
        ({"network": "vpn.example"}, "Give the address the gateway sends from"),
        ({"network": "192.0.2.1/28"}, "Give the address the gateway sends from"),
        ({"reply_class": "a\u0007b"}, "Use at most 200 characters, on one line."),
    ],
)
def test_bad_input_is_refused_next_to_its_field_and_nothing_is_made(
    admin_client, fields, message
) -> None:
    page = make(admin_client, **fields).content.decode()
    assert message in page
    assert 'data-testid="radius-secret"' not in page
    assert not RadiusClient.objects.exists()


def test_a_network_overlapping_another_clients_is_refused(admin_client) -> None:
    make(admin_client)
    page = make(admin_client, name="Wi-Fi", network="192.0.2.5").content.decode()
    assert "Another RADIUS client already covers an address of this network." in page
    assert RadiusClient.objects.count() == 1


def test_deleting_asks_then_deletes_and_is_audited(admin_client, admin) -> None:
    make(admin_client)
    client = RadiusClient.objects.get()
    assert admin_client.get(f"{LIST}{client.pk}/delete").status_code == 200
    assert admin_client.post(f"{LIST}{client.pk}/delete").status_code == 302
    assert not RadiusClient.objects.exists()
    assert AuditEvent.objects.filter(actor=admin, action=AuditAction.RADIUS_CLIENT_DELETED).exists()


def test_another_organisations_client_is_not_found(admin_client, other_organisation, make_user):
    boss = make_user("boss@fabrikam.example", organisation=other_organisation, is_admin=True)
    theirs, _secret = clients.create(other_organisation, "Their VPN", "198.51.100.1", actor=boss)
    assert admin_client.post(f"{LIST}{theirs.pk}/delete").status_code == 404
    assert RadiusClient.objects.filter(pk=theirs.pk).exists()


def test_secrets_are_letters_and_digits_a_gateway_and_a_command_line_take_as_they_are(
    organisation, admin
) -> None:
    """No "-" (a leading one was an option to radclient) and no "_" (refused by some
    gateways' forms): 32 letters and digits, about 190 bits."""
    for number in range(40):
        _client, secret = clients.create(
            organisation, f"VPN {number}", f"198.51.100.{number}", actor=admin
        )
        assert re.fullmatch(r"[A-Za-z0-9]{32}", secret), secret

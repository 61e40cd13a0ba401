"""/api/v1/radius-clients: make (the secret in that answer only), list, delete; scope admin;
another organisation's clients are not found."""

from __future__ import annotations

import pytest

from twofold.audit.models import AuditAction, AuditEvent
from twofold.core import crypto
from twofold.radius.models import RadiusClient

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def administrator(http, make_token):
    http.token = make_token("admin", name="Provisioning")
    return http


def test_a_client_is_made_with_its_secret_listed_without_and_deleted(administrator) -> None:
    made = administrator.post(
        "/radius-clients", {"name": "Office VPN", "network": "192.0.2.10", "reply_class": "vpn"}
    )
    assert made.status_code == 201, made.text
    body = made.json()
    assert crypto.decrypt(RadiusClient.objects.get().secret).decode() == body["secret"]
    listed = administrator.get("/radius-clients").json()["radius_clients"]
    assert [(each["name"], each["network"]) for each in listed] == [("Office VPN", "192.0.2.10/32")]
    assert "secret" not in listed[0]
    assert administrator.delete(f"/radius-clients/{body['id']}").status_code == 204
    assert not RadiusClient.objects.exists()
    event = AuditEvent.objects.get(action=AuditAction.RADIUS_CLIENT_CREATED)
    assert event.actor_label == "api:Provisioning"
    assert body["secret"] not in str(event.details)


def test_a_bad_network_is_400_and_nothing_is_made(administrator) -> None:
    answer = administrator.post("/radius-clients", {"name": "VPN", "network": "not an address"})
    assert answer.status_code == 400
    assert not RadiusClient.objects.exists()


def test_the_validate_scope_is_not_enough(http, make_token) -> None:
    http.token = make_token("validate")
    assert http.get("/radius-clients").status_code == 403


def test_another_organisations_client_is_not_found(administrator, other_organisation, make_user):
    from twofold.radius import clients

    boss = make_user("boss@fabrikam.example", organisation=other_organisation, is_admin=True)
    theirs, _secret = clients.create(other_organisation, "Theirs", "198.51.100.1", actor=boss)
    assert administrator.delete(f"/radius-clients/{theirs.pk}").status_code == 404
    assert administrator.get("/radius-clients").json()["radius_clients"] == []

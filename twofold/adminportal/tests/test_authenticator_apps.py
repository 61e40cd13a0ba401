"""An administrator deletes one of a user's authenticator apps: its approvals end at once."""

import pytest
from django.test import Client

from twofold.audit.models import AuditAction, AuditEvent
from twofold.methods.authenticator import activation
from twofold.methods.authenticator.models import AuthenticatorDevice
from twofold.methods.authenticator.tests.phone_app import PhoneApp

pytestmark = pytest.mark.django_db


@pytest.fixture
def alice_phone(make_user) -> tuple:
    alice = make_user("alice@contoso.example")
    app = PhoneApp()
    _issued, code = activation.issue(alice)
    app.activate(Client(), code)
    return alice, app


def delete(client: Client, user_id: int, device, confirmed: bool = True):
    data = {"device": str(device), **({"confirmed": "on"} if confirmed else {})}
    return client.post(f"/admin-portal/users/{user_id}/delete-app", data)


def test_the_users_page_lists_the_app_with_a_delete_button(admin_client, alice_phone) -> None:
    alice, _app = alice_phone
    page = admin_client.get(f"/admin-portal/users/{alice.pk}").content.decode()
    assert 'data-testid="action-delete-app"' in page
    assert "notifications, Android" in page


def test_deleting_asks_for_confirmation_first(admin_client, alice_phone) -> None:
    alice, app = alice_phone
    response = delete(admin_client, alice.pk, app.device, confirmed=False)
    assert 'data-testid="action-confirm"' in response.content.decode()
    assert AuthenticatorDevice.objects.filter(pk=app.device).exists()


def test_a_deleted_app_is_refused_at_once(admin_client, admin, alice_phone) -> None:
    alice, app = alice_phone
    assert delete(admin_client, alice.pk, app.device).status_code == 302
    assert not AuthenticatorDevice.objects.filter(pk=app.device).exists()
    assert app.poll(Client()).status_code == 410
    event = AuditEvent.objects.get(action=AuditAction.AUTHENTICATOR_DELETED)
    assert (event.actor_id, event.subject_id) == (admin.pk, alice.pk)


def test_an_unknown_app_is_a_message_not_an_error(admin_client, alice_phone) -> None:
    alice, _app = alice_phone
    for device in ("999999", "x", ""):
        response = delete(admin_client, alice.pk, device)
        assert response.status_code == 302


def test_another_organisations_admin_cannot_delete_it(other_admin_client, alice_phone) -> None:
    alice, app = alice_phone
    assert delete(other_admin_client, alice.pk, app.device).status_code == 404
    assert AuthenticatorDevice.objects.filter(pk=app.device).exists()
    denied = AuditEvent.objects.get(action=AuditAction.ADMIN_ACCESS_DENIED)
    assert denied.details["reason"] == "user of another organisation"

"""An administrator deletes one of a user's authenticator apps from the user's page (the
method's admin summary and its own removal): its approvals end at once."""

import pytest
from django.test import Client

from twofold.audit.models import AuditAction, AuditEvent
from twofold.methods.authenticator import actions as authenticator_actions
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
    data = {"confirmed": "on"} if confirmed else {}
    return client.post(f"/admin-portal/users/{user_id}/remove/authenticator/{device}", data)


def test_the_users_page_lists_the_app_with_a_delete_button(admin_client, alice_phone) -> None:
    alice, _app = alice_phone
    page = admin_client.get(f"/admin-portal/users/{alice.pk}").content.decode()
    assert f'action="/admin-portal/users/{alice.pk}/remove/authenticator/' in page
    assert 'data-testid="summary-delete"' in page
    assert "notifications, Android" in page


def test_deleting_asks_for_confirmation_first(admin_client, alice_phone) -> None:
    alice, app = alice_phone
    response = delete(admin_client, alice.pk, app.device, confirmed=False)
    page = response.content.decode()
    assert 'data-testid="action-confirm"' in page
    assert "Delete this authenticator app" in page
    assert AuthenticatorDevice.objects.filter(pk=app.device).exists()


def test_a_deleted_app_is_refused_at_once(admin_client, admin, alice_phone) -> None:
    alice, app = alice_phone
    assert delete(admin_client, alice.pk, app.device).status_code == 302
    assert not AuthenticatorDevice.objects.filter(pk=app.device).exists()
    assert app.poll(Client()).status_code == 410
    event = AuditEvent.objects.get(action=authenticator_actions.DELETED)
    assert (event.actor_id, event.subject_id) == (admin.pk, alice.pk)


def test_an_unknown_app_is_a_message_not_an_error(admin_client, alice_phone) -> None:
    alice, _app = alice_phone
    response = delete(admin_client, alice.pk, 999999)
    assert response.status_code == 302
    page = admin_client.get(response["Location"]).content.decode()
    assert "This authenticator app no longer exists." in page


def test_another_users_app_is_not_found_through_this_user(admin_client, alice_phone, make_user):
    _alice, app = alice_phone
    bob = make_user("bob@contoso.example")
    assert delete(admin_client, bob.pk, app.device).status_code == 302
    assert AuthenticatorDevice.objects.filter(pk=app.device).exists()


def test_an_unknown_method_removes_nothing(admin_client, alice_phone) -> None:
    alice, app = alice_phone
    response = admin_client.post(
        f"/admin-portal/users/{alice.pk}/remove/nothing/{app.device}", {"confirmed": "on"}
    )
    assert response.status_code == 302
    assert AuthenticatorDevice.objects.filter(pk=app.device).exists()


def test_app_passwords_are_listed_by_name_never_deleted_one_by_one(admin_client, alice_phone):
    from twofold.methods.app_passwords import services as app_passwords

    alice, _app = alice_phone
    alice.organisation.allow_app_passwords = True
    alice.organisation.save(update_fields=["allow_app_passwords"])
    app_passwords.create(alice, "Mail client")
    page = admin_client.get(f"/admin-portal/users/{alice.pk}").content.decode()
    assert "Mail client" in page
    assert "/remove/app_passwords/" not in page


def test_another_organisations_admin_cannot_delete_it(other_admin_client, alice_phone) -> None:
    alice, app = alice_phone
    assert delete(other_admin_client, alice.pk, app.device).status_code == 404
    assert AuthenticatorDevice.objects.filter(pk=app.device).exists()
    denied = AuditEvent.objects.get(action=AuditAction.ADMIN_ACCESS_DENIED)
    assert denied.details["reason"] == "user of another organisation"

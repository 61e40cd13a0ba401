"""Only administrators, only their own organisation, and recent verification to act."""

import pytest

from twofold.audit.models import AuditAction, AuditEvent

from .conftest import signed_in_admin

pytestmark = pytest.mark.django_db

SUBJECT_URLS = [
    ("get", "/admin-portal/users/{id}"),
    ("post", "/admin-portal/users/{id}/unblock"),
    ("post", "/admin-portal/users/{id}/unlock"),
    ("post", "/admin-portal/users/{id}/restore"),
    ("post", "/admin-portal/users/{id}/app-passwords"),
    ("post", "/admin-portal/users/{id}/reregister"),
    ("post", "/admin-portal/users/{id}/password-link"),
    ("post", "/admin-portal/users/{id}/bypass"),
    ("post", "/admin-portal/users/{id}/mfa-state"),
]


def test_an_ordinary_user_is_refused_and_audited(client, user) -> None:
    client.post("/signin", {"username": user.username})
    client.post("/signin/password", {"password": "correct horse battery staple"})
    assert client.get("/admin-portal/users").status_code == 403
    assert AuditEvent.objects.filter(action=AuditAction.ADMIN_ACCESS_DENIED).exists()


def test_signed_out_visitors_go_to_sign_in(client) -> None:
    assert client.get("/admin-portal/users")["Location"].startswith("/signin?next=")


@pytest.mark.parametrize(("method", "url"), SUBJECT_URLS)
def test_another_organisations_admin_finds_nothing(other_admin_client, staff, method, url) -> None:
    target = url.format(id=staff[0].pk)
    data = {"minutes": "5", "reason": "x", "confirmed": "on"}
    response = getattr(other_admin_client, method)(target, data)
    assert response.status_code == 404
    assert AuditEvent.objects.filter(action=AuditAction.ADMIN_ACCESS_DENIED).exists()
    staff[0].refresh_from_db()
    assert not staff[0].must_reregister


def test_another_organisations_users_are_not_listed(other_admin_client, staff) -> None:
    body = other_admin_client.get("/admin-portal/users").content.decode()
    assert "user00@contoso.example" not in body


def test_a_bulk_action_never_reaches_another_organisations_users(other_admin_client, staff):
    data = {"action": "enforce", "selected": [u.pk for u in staff], "confirmed": "on"}
    other_admin_client.post("/admin-portal/users/bulk", data)
    data = {"action": "enforce", "all_matching": "on", "confirmed": "on"}
    other_admin_client.post("/admin-portal/users/bulk", data)
    assert {user.mfa_state for user in staff} == {"disabled"}
    for user in staff:
        user.refresh_from_db()
        assert user.mfa_state == "disabled"


@pytest.mark.parametrize("confirmed", ["", "on"])
def test_a_bulk_selection_with_a_foreign_user_is_refused_whole_and_audited(
    admin_client, staff, other_organisation, make_user, confirmed
) -> None:
    stranger = make_user("fred@fabrikam.example", organisation=other_organisation)
    selected = [staff[0].pk, stranger.pk]
    data = {"action": "enforce", "selected": selected, "confirmed": confirmed}
    response = admin_client.post("/admin-portal/users/bulk", data)
    assert response.status_code == 404
    denied = AuditEvent.objects.get(action=AuditAction.ADMIN_ACCESS_DENIED)
    assert denied.details["reason"] == "user of another organisation"
    for user in (staff[0], stranger):
        user.refresh_from_db()
        assert user.mfa_state == "disabled"


def test_a_bulk_selection_with_a_user_that_does_not_exist_is_not_found(admin_client, staff) -> None:
    data = {"action": "enforce", "selected": [staff[0].pk, 2**40], "confirmed": "on"}
    assert admin_client.post("/admin-portal/users/bulk", data).status_code == 404
    staff[0].refresh_from_db()
    assert staff[0].mfa_state == "disabled"


def test_the_audit_log_shows_only_the_organisations_events(other_admin_client, staff) -> None:
    body = other_admin_client.get("/admin-portal/audit").content.decode()
    assert "user00@contoso.example" not in body


def test_acting_needs_a_recent_second_factor(admin, staff) -> None:
    client = signed_in_admin(admin.username, recent=False)
    from twofold.methods.phone import services as phone_services

    phone_services.set_number(admin, "authentication", "+14255550134")
    response = client.post(f"/admin-portal/users/{staff[0].pk}/restore", {"confirmed": "on"})
    assert response["Location"].startswith("/account/verify")
    staff[0].refresh_from_db()
    assert staff[0].trusted_device_epoch == 0

"""/users: reading, creating, changing and deleting an organisation's users, with methods
shown masked and other organisations' users out of reach (docs/security.md 22, 23)."""

from __future__ import annotations

import pytest
from django.test import Client
from django.utils import timezone

from conftest import AUTH_NUMBER, OFFICE_NUMBER
from twofold.accounts.models import MfaState, User
from twofold.audit.models import AuditAction, AuditEvent, AuditResult
from twofold.methods import verification
from twofold.methods.app_passwords import services as app_passwords
from twofold.methods.app_passwords.models import AppPassword
from twofold.methods.phone import services as phone_services

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def reader(http, make_token):
    http.token = make_token("users:read")
    return http


@pytest.fixture
def writer(http, make_token):
    http.token = make_token("users:read", "users:write")
    return http


@pytest.fixture
def staff(make_user):
    return [make_user(f"user{index}@contoso.example", display_name=f"User {index}")
            for index in range(5)]  # fmt: skip


class TestList:
    def test_users_come_in_user_name_order_a_page_at_a_time(self, reader, staff, admin) -> None:
        first = reader.get("/users?limit=2").json()
        assert [user["username"] for user in first["users"]] == [
            "admin@contoso.example",
            "user0@contoso.example",
        ]
        second = reader.get(f"/users?limit=2&after={first['next']}").json()
        assert [user["username"] for user in second["users"]] == [
            "user1@contoso.example",
            "user2@contoso.example",
        ]

    def test_the_last_page_has_no_next(self, reader, staff, admin) -> None:
        page = reader.get("/users?limit=2&after=user2@contoso.example").json()
        assert [user["username"] for user in page["users"]] == [
            "user3@contoso.example",
            "user4@contoso.example",
        ]
        assert page["next"] is None

    def test_filter_by_mfa_state(self, reader, staff) -> None:
        # "enabled": no other user has it (the administrator is always enforced).
        User.objects.filter(pk=staff[3].pk).update(mfa_state=MfaState.ENABLED)
        page = reader.get("/users?mfa_state=enabled").json()
        assert [user["username"] for user in page["users"]] == ["user3@contoso.example"]

    def test_filter_by_having_methods_or_not(self, reader, staff, admin) -> None:
        phone_services.set_number(staff[1], "authentication", AUTH_NUMBER, mode="text")
        with_methods = reader.get("/users?methods=yes").json()["users"]
        without = reader.get("/users?methods=no").json()["users"]
        assert [user["username"] for user in with_methods] == ["user1@contoso.example"]
        assert "user1@contoso.example" not in [user["username"] for user in without]
        assert len(without) == len(staff)  # the other four and the administrator

    def test_filter_by_locked_second_factor(self, reader, staff) -> None:
        for _attempt in range(staff[2].organisation.lockout_threshold):
            verification.count_failure(staff[2], "text:authentication", "signin")
        User.objects.filter(pk=staff[4].pk).update(mfa_locked_until=timezone.now())  # ran out
        page = reader.get("/users?status=locked").json()
        assert [user["username"] for user in page["users"]] == ["user2@contoso.example"]

    def test_filter_by_blocked(self, reader, staff) -> None:
        User.objects.filter(pk=staff[0].pk).update(is_blocked=True, blocked_reason="fraud")
        page = reader.get("/users?status=blocked").json()
        assert [user["username"] for user in page["users"]] == ["user0@contoso.example"]

    @pytest.mark.parametrize("query", ["methods=maybe", "status=asleep"])
    def test_an_unknown_methods_or_status_filter_is_400(self, reader, query) -> None:
        assert reader.get(f"/users?{query}").status_code == 400

    def test_search_by_user_name_prefix(self, reader, staff) -> None:
        page = reader.get("/users?q=user4").json()
        assert [user["username"] for user in page["users"]] == ["user4@contoso.example"]

    def test_an_unknown_mfa_state_is_400(self, reader, staff) -> None:
        assert reader.get("/users?mfa_state=sometimes").status_code == 400

    @pytest.mark.parametrize("limit", ["0", "201", "many"])
    def test_a_limit_outside_1_to_200_is_400(self, reader, limit) -> None:
        assert reader.get(f"/users?limit={limit}").status_code == 400

    def test_another_organisations_users_are_never_listed(
        self, reader, staff, make_user, other_organisation
    ) -> None:
        make_user("fred@fabrikam.example", organisation=other_organisation)
        names = [user["username"] for user in reader.get("/users?limit=200").json()["users"]]
        assert "fred@fabrikam.example" not in names

    def test_kinds_of_methods_are_listed_but_never_numbers(self, reader, staff) -> None:
        phone_services.set_number(staff[0], "office", OFFICE_NUMBER)
        response = reader.get("/users")
        row = next(u for u in response.json()["users"] if u["username"] == staff[0].username)
        assert row["methods"] == ["Office phone"]
        assert OFFICE_NUMBER[2:] not in response.text


class TestOne:
    def test_a_user_with_masked_prompts_and_no_number(self, reader, texted) -> None:
        response = reader.get("/users/alice@contoso.example")
        body = response.json()
        assert body["mfa_state"] == "enabled"
        assert body["preferred_option"] == "text:authentication"
        assert AUTH_NUMBER[-2:] in body["options"][0]["prompt"]
        assert AUTH_NUMBER[2:] not in response.text

    def test_user_names_are_found_case_insensitively(self, reader, texted) -> None:
        assert reader.get("/users/Alice@Contoso.Example").status_code == 200

    def test_an_unknown_user_is_404(self, reader) -> None:
        response = reader.get("/users/nobody@contoso.example")
        assert response.status_code == 404
        assert response.json()["error"] == "not_found"

    def test_another_organisations_user_is_404_like_nobody_and_audited(
        self, reader, make_user, other_organisation
    ) -> None:
        make_user("fred@fabrikam.example", organisation=other_organisation)
        theirs = reader.get("/users/fred@fabrikam.example").json()
        nobody = reader.get("/users/nobody@contoso.example").json()
        assert (theirs["error"], theirs["message"]) == (nobody["error"], nobody["message"])
        event = AuditEvent.objects.get(action=AuditAction.ADMIN_ACCESS_DENIED)
        assert event.actor_label.startswith("api:")
        assert event.details["reason"] == "user of another organisation"


class TestCreate:
    def test_a_user_is_created_without_a_password_and_with_a_one_time_link(
        self, writer, live_server
    ) -> None:
        body = {"username": "dave@contoso.example", "display_name": "Dave", "mfa_state": "enforced"}
        response = writer.post("/users", body)
        assert response.status_code == 201
        created = response.json()
        assert created["user"]["mfa_state"] == "enforced"
        dave = User.objects.get(username="dave@contoso.example")
        assert not dave.has_usable_password()
        path = created["password_link"].split("://", 1)[1].split("/", 1)[1]
        assert Client().get(f"/{path}", follow=True).status_code == 200

    def test_the_creation_is_audited_with_the_client_as_actor(self, writer) -> None:
        writer.post("/users", {"username": "dave@contoso.example"})
        event = AuditEvent.objects.filter(
            action=AuditAction.API_CALL, actor_label__startswith="api:"
        ).get()
        assert event.subject_label == "dave@contoso.example"
        assert event.details["kind"] == "POST api/v1/users"
        assert event.details["did"] == "user.created"

    def test_the_users_creation_event_names_the_client(self, http, make_token) -> None:
        http.token = make_token("users:read", "users:write", name="Directory sync")
        http.post("/users", {"username": "dave@contoso.example"})
        event = AuditEvent.objects.get(
            action=AuditAction.USER_CREATED, subject_label="dave@contoso.example"
        )
        assert event.actor_label == "api:Directory sync"

    def test_a_user_name_of_another_organisations_domain_is_refused(self, writer) -> None:
        response = writer.post("/users", {"username": "eve@fabrikam.example"})
        assert response.status_code == 400
        assert not User.objects.filter(username="eve@fabrikam.example").exists()

    def test_an_existing_user_name_is_a_409_conflict(self, writer, texted) -> None:
        response = writer.post("/users", {"username": "alice@contoso.example"})
        assert (response.status_code, response.json()["error"]) == (409, "already_exists")

    def test_an_invalid_email_creates_nothing(self, writer) -> None:
        body = {"username": "dave@contoso.example", "email": "not an address"}
        assert writer.post("/users", body).status_code == 400
        assert not User.objects.filter(username="dave@contoso.example").exists()

    def test_a_reader_cannot_create(self, reader) -> None:
        response = reader.post("/users", {"username": "dave@contoso.example"})
        assert response.status_code == 403
        assert not User.objects.filter(username="dave@contoso.example").exists()


class TestChange:
    def test_profile_fields_change_and_others_stay(self, writer, texted) -> None:
        response = writer.patch("/users/alice@contoso.example", {"email": "a@example.org"})
        assert response.status_code == 200
        texted.refresh_from_db()
        assert (texted.email, texted.mfa_state) == ("a@example.org", MfaState.ENABLED)

    def test_turning_two_step_verification_off_forgets_trusted_devices(
        self, writer, texted
    ) -> None:
        epoch = texted.trusted_device_epoch
        writer.patch("/users/alice@contoso.example", {"mfa_state": "disabled"})
        texted.refresh_from_db()
        assert texted.mfa_state == MfaState.DISABLED
        assert texted.trusted_device_epoch == epoch + 1

    def test_a_bad_field_changes_nothing_at_all(self, writer, texted) -> None:
        body = {"display_name": "New name", "email": "nope", "mfa_state": "disabled"}
        assert writer.patch("/users/alice@contoso.example", body).status_code == 400
        texted.refresh_from_db()
        assert (texted.display_name, texted.mfa_state) == ("", MfaState.ENABLED)

    def test_the_change_is_audited_with_the_client_and_the_fields(self, writer, texted) -> None:
        writer.patch("/users/alice@contoso.example", {"display_name": "Alice A."})
        event = AuditEvent.objects.get(action=AuditAction.USER_UPDATED)
        assert event.actor_label.startswith("api:")
        assert event.details["fields"] == "display_name"
        assert "Alice A." not in str(event.details)

    def test_an_mfa_state_change_event_names_the_client(self, http, make_token, texted) -> None:
        http.token = make_token("users:read", "users:write", name="Directory sync")
        assert http.patch("/users/alice@contoso.example", {"mfa_state": "enforced"}).ok
        event = AuditEvent.objects.get(action=AuditAction.MFA_STATE_CHANGED, subject=texted)
        assert (event.details["kind"], event.actor_label) == ("enforced", "api:Directory sync")

    def test_another_organisations_user_cannot_be_changed(
        self, writer, make_user, other_organisation
    ) -> None:
        fred = make_user("fred@fabrikam.example", organisation=other_organisation)
        response = writer.patch("/users/fred@fabrikam.example", {"display_name": "Hacked"})
        assert response.status_code == 404
        fred.refresh_from_db()
        assert fred.display_name == ""


class TestDelete:
    def test_a_user_and_their_methods_are_deleted(self, writer, texted, organisation) -> None:
        organisation.allow_app_passwords = True
        organisation.save()
        app_passwords.create(texted, "Mail")
        response = writer.delete("/users/alice@contoso.example")
        assert response.status_code == 204
        assert not User.objects.filter(username="alice@contoso.example").exists()
        assert not AppPassword.objects.exists()

    def test_the_deletion_is_audited_by_user_name(self, writer, texted) -> None:
        writer.delete("/users/alice@contoso.example")
        event = AuditEvent.objects.get(action=AuditAction.USER_DELETED)
        assert (event.subject_label, event.result) == ("alice@contoso.example", AuditResult.SUCCESS)
        assert event.actor_label.startswith("api:")

    def test_an_administrator_cannot_be_deleted_through_the_api(self, writer, admin) -> None:
        response = writer.delete("/users/admin@contoso.example")
        assert response.status_code == 403
        assert User.objects.filter(pk=admin.pk).exists()

    def test_another_organisations_user_cannot_be_deleted(
        self, writer, make_user, other_organisation
    ) -> None:
        fred = make_user("fred@fabrikam.example", organisation=other_organisation)
        assert writer.delete("/users/fred@fabrikam.example").status_code == 404
        assert User.objects.filter(pk=fred.pk).exists()

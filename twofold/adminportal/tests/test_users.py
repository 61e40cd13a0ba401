"""The users list, bulk actions and one user's page."""

import csv
import io
import re
import zoneinfo
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from twofold.accounts.models import MfaState, User
from twofold.administration import services
from twofold.audit.models import AuditAction, AuditEvent, AuditResult
from twofold.audit.services import record
from twofold.core import context
from twofold.methods import resets, verification
from twofold.methods.app_passwords import services as app_passwords
from twofold.methods.models import ChallengePurpose, ResetNotice
from twofold.methods.phone import services as phone_services

pytestmark = pytest.mark.django_db


def _max_queries_per_users_page() -> int:
    """Session, administrator, organisation, the page of users, and one query a method that
    says what a page of users registered (``Method.kinds_for``): never one a user."""
    from twofold.methods import base

    listing = [
        m for m in base.registry().values() if type(m).kinds_for is not base.Method.kinds_for
    ]
    return 4 + len(listing)


def _waiting(body: str) -> list[str]:
    """The texts of the "notices waiting" paragraphs, whitespace collapsed."""
    found = re.findall(r'data-testid="notices-waiting">(.*?)</p>', body, re.DOTALL)
    return [" ".join(each.split()) for each in found]


def _rows(body: str, testid: str) -> list[str]:
    """The table rows marked ``data-testid=testid`` in a page."""
    return re.findall(rf'<tr data-testid="{testid}">(.*?)</tr>', body, re.DOTALL)


class TestList:
    def test_lists_users_with_kinds_of_methods_but_no_numbers(self, admin_client, staff) -> None:
        phone_services.set_number(staff[0], "office", "+14255550199")
        body = admin_client.get("/admin-portal/users").content.decode()
        assert "user00@contoso.example" in body
        assert "Office phone" in body
        assert "0199" not in body

    def test_search_by_user_name_prefix_or_display_name(self, admin_client, staff) -> None:
        body = admin_client.get("/admin-portal/users?q=user03").content.decode()
        assert "user03@contoso.example" in body
        assert "user01@contoso.example" not in body
        body = admin_client.get("/admin-portal/users?q=User 4").content.decode()
        assert "user04@contoso.example" in body

    @pytest.mark.parametrize(
        ("query", "shown", "hidden"),
        [
            ("mfa_state=enforced", "user01", "user02"),
            ("methods=yes", "user02", "user03"),
            ("status=blocked", "user03", "user04"),
            ("status=locked", "user04", "user00"),
        ],
    )
    def test_filters(self, admin_client, staff, query, shown, hidden) -> None:
        User.objects.filter(pk=staff[1].pk).update(mfa_state=MfaState.ENFORCED)
        phone_services.set_number(staff[2], "authentication", "+14255550134")
        User.objects.filter(pk=staff[3].pk).update(is_blocked=True)
        User.objects.filter(pk=staff[4].pk).update(
            mfa_locked_until=timezone.now() + timedelta(minutes=5)
        )
        body = admin_client.get(f"/admin-portal/users?{query}").content.decode()
        assert f"{shown}@contoso.example" in body
        assert f"{hidden}@contoso.example" not in body

    def test_pages_follow_user_names(self, admin_client, make_user) -> None:
        from twofold.administration import users

        users.PAGE_SIZE, saved = 2, users.PAGE_SIZE
        try:
            for index in range(5):
                make_user(f"p{index}@contoso.example")
            first = admin_client.get("/admin-portal/users?q=p").content.decode()
            assert "p0@contoso.example" in first
            assert "after=p1%40contoso.example" in first
            second = admin_client.get("/admin-portal/users?q=p&after=p1@contoso.example")
            body = second.content.decode()
            assert "p2@contoso.example" in body
            assert "p1@contoso.example" not in body
            back = admin_client.get("/admin-portal/users?q=p&before=p2@contoso.example")
            assert "p0@contoso.example" in back.content.decode()
        finally:
            users.PAGE_SIZE = saved

    @pytest.mark.parametrize(
        "query",
        ["", "q=user", "mfa_state=enabled", "methods=yes", "methods=no", "status=locked",
         "q=user&after=user01@contoso.example", "before=user03@contoso.example"],
    )  # fmt: skip
    def test_a_users_page_never_counts_and_needs_a_fixed_few_queries(
        self, admin_client, staff, query
    ) -> None:
        for person in staff[:3]:
            phone_services.set_number(person, "authentication", "+14255550134")
        admin_client.get("/admin-portal/users")  # the session's first read is not the page's
        with CaptureQueriesContext(connection) as queries:
            response = admin_client.get(f"/admin-portal/users?{query}")
        assert response.status_code == 200
        statements = [query["sql"] for query in queries.captured_queries]
        assert not [sql for sql in statements if "COUNT(" in sql.upper()], statements
        assert len(statements) <= _max_queries_per_users_page(), statements


class TestBulk:
    def test_a_change_of_state_asks_for_confirmation_first(self, admin_client, staff) -> None:
        data = {"action": "enforce", "selected": [staff[0].pk, staff[1].pk]}
        response = admin_client.post("/admin-portal/users/bulk", data)
        assert "This applies to 2 users." in response.content.decode()
        staff[0].refresh_from_db()
        assert staff[0].mfa_state == MfaState.DISABLED

    def test_enforcing_the_selection(self, admin_client, staff) -> None:
        data = {"action": "enforce", "selected": [staff[0].pk, staff[1].pk], "confirmed": "on"}
        admin_client.post("/admin-portal/users/bulk", data)
        states = dict(User.objects.values_list("username", "mfa_state"))
        assert states["user00@contoso.example"] == MfaState.ENFORCED
        assert states["user02@contoso.example"] == MfaState.DISABLED
        assert AuditEvent.objects.filter(action=AuditAction.MFA_STATE_CHANGED).count() == 2

    def test_disabling_the_selection(self, admin_client, staff) -> None:
        User.objects.filter(pk__in=[each.pk for each in staff]).update(mfa_state=MfaState.ENFORCED)
        data = {"action": "disable", "selected": [staff[0].pk, staff[1].pk], "confirmed": "on"}
        admin_client.post("/admin-portal/users/bulk", data)
        states = dict(User.objects.values_list("username", "mfa_state"))
        assert states["user00@contoso.example"] == MfaState.DISABLED
        assert states["user01@contoso.example"] == MfaState.DISABLED
        assert states["user02@contoso.example"] == MfaState.ENFORCED
        assert AuditEvent.objects.filter(action=AuditAction.MFA_STATE_CHANGED).count() == 2

    def test_all_that_match_the_filter(self, admin_client, staff, admin) -> None:
        data = {"action": "enable", "all_matching": "on", "q": "user0", "confirmed": "on"}
        admin_client.post("/admin-portal/users/bulk", data)
        assert User.objects.filter(mfa_state=MfaState.ENABLED).count() == 5
        admin.refresh_from_db()
        assert admin.mfa_state == MfaState.ENFORCED  # as created: not among the matches

    def test_manage_requires_contact_methods_again_and_shows_codes_once(
        self, admin_client, staff
    ) -> None:
        phone_services.set_number(staff[0], "authentication", "+14255550134")
        data = {"action": "manage", "selected": [staff[0].pk, staff[1].pk],
                "reregister": "on", "confirmed": "on"}  # fmt: skip
        body = admin_client.post("/admin-portal/users/bulk", data).content.decode()
        staff[0].refresh_from_db()
        assert staff[0].must_reregister
        assert not staff[0].phones.exists()
        code = resets.access_code(staff[0].pk, staff[0].reregister_nonce)
        assert code in body
        assert code not in str(list(AuditEvent.objects.values()))

    def test_manage_deletes_app_passwords_and_forgets_devices(
        self, admin_client, staff, organisation
    ) -> None:
        organisation.allow_app_passwords = True
        organisation.save()
        app_passwords.create(staff[0], "Mail")
        data = {"action": "manage", "selected": [staff[0].pk, staff[1].pk],
                "app_passwords": "on", "restore": "on", "confirmed": "on"}  # fmt: skip
        body = admin_client.post("/admin-portal/users/bulk", data).content.decode()
        assert not staff[0].app_passwords.exists()
        epochs = User.objects.filter(pk__in=[staff[0].pk, staff[1].pk]).values_list(
            "trusted_device_epoch", flat=True
        )
        assert set(epochs) == {1}
        assert "Users whose app passwords were deleted" in body

    def test_forgetting_devices_of_everyone_raises_the_organisations_epoch_once(
        self, admin_client, staff, organisation
    ) -> None:
        data = {"action": "manage", "all_matching": "on", "restore": "on", "confirmed": "on"}
        body = admin_client.post("/admin-portal/users/bulk", data).content.decode()
        organisation.refresh_from_db()
        assert organisation.trusted_device_epoch == 1
        assert set(User.objects.values_list("trusted_device_epoch", flat=True)) == {0}
        forgotten = AuditEvent.objects.filter(action=AuditAction.TRUSTED_DEVICES_FORGOTTEN)
        assert forgotten.count() == 1
        assert "Users whose remembered devices were forgotten" in body

    def test_forgetting_devices_of_a_filtered_selection_goes_user_by_user(
        self, admin_client, staff, organisation
    ) -> None:
        data = {"action": "manage", "all_matching": "on", "q": "user0", "restore": "on",
                "confirmed": "on"}  # fmt: skip
        admin_client.post("/admin-portal/users/bulk", data)
        organisation.refresh_from_db()
        assert organisation.trusted_device_epoch == 0
        epochs = User.objects.filter(username__startswith="user0").values_list(
            "trusted_device_epoch", flat=True
        )
        assert set(epochs) == {1}

    def test_choosing_what_to_manage_leads_to_a_confirmation_not_a_change(
        self, admin_client, staff
    ) -> None:
        data = {"action": "manage", "selected": [staff[0].pk, staff[1].pk]}
        body = admin_client.post("/admin-portal/users/bulk", data).content.decode()
        assert '<input type="hidden" name="chosen" value="on">' in body
        assert 'name="confirmed"' not in body

    def test_manage_user_settings_asks_for_confirmation_with_the_counts_and_changes_nothing(
        self, admin_client, staff, organisation
    ) -> None:
        organisation.allow_app_passwords = True
        organisation.save()
        app_passwords.create(staff[0], "Mail")
        phone_services.set_number(staff[1], "authentication", "+14255550134")
        data = {"action": "manage", "selected": [staff[0].pk, staff[1].pk, staff[2].pk],
                "reregister": "on", "app_passwords": "on", "chosen": "on"}  # fmt: skip
        body = admin_client.post("/admin-portal/users/bulk", data).content.decode()
        assert "This applies to 3 users." in body
        assert "3 users must provide contact methods again" in body
        assert "1 of them gets a text on their old authentication phone." in body
        assert "1 user has app passwords; they will all be deleted." in body
        assert '<input type="hidden" name="confirmed" value="on">' in body
        assert not User.objects.filter(must_reregister=True).exists()
        assert staff[0].app_passwords.exists()

    def test_confirming_nothing_chosen_asks_again_with_a_message(self, admin_client, staff):
        data = {"action": "manage", "selected": [staff[0].pk], "chosen": "on"}
        body = admin_client.post("/admin-portal/users/bulk", data).content.decode()
        assert "Choose at least one thing to do." in body
        assert 'data-testid="manage-reregister"' in body

    def test_manage_with_nothing_ticked_changes_nothing(self, admin_client, staff) -> None:
        data = {"action": "manage", "selected": [staff[0].pk], "confirmed": "on"}
        response = admin_client.post("/admin-portal/users/bulk", data, follow=True)
        assert "Choose at least one thing to do." in response.content.decode()

    def test_many_access_codes_come_as_a_csv_file(self, admin_client, make_user) -> None:
        from twofold.adminportal import views

        views.MAX_CODES_ON_PAGE, saved = 2, views.MAX_CODES_ON_PAGE
        try:
            for index in range(3):
                make_user(f"c{index}@contoso.example")
            data = {"action": "manage", "all_matching": "on", "q": "c",
                    "reregister": "on", "confirmed": "on"}  # fmt: skip
            response = admin_client.post("/admin-portal/users/bulk", data)
        finally:
            views.MAX_CODES_ON_PAGE = saved
        assert response["Content-Type"].startswith("text/csv")
        rows = list(csv.reader(io.StringIO(response.content.decode())))
        assert len(rows) == 4


class TestOneUser:
    def test_the_page_shows_methods_masked(self, admin_client, staff) -> None:
        phone_services.set_number(staff[0], "authentication", "+14255550134")
        body = admin_client.get(f"/admin-portal/users/{staff[0].pk}").content.decode()
        assert "Text +1 XXX XXX XX34" in body
        assert "555" not in body

    def test_unblock(self, admin_client, staff) -> None:
        User.objects.filter(pk=staff[0].pk).update(is_blocked=True, blocked_reason="fraud")
        admin_client.post(f"/admin-portal/users/{staff[0].pk}/unblock", {"confirmed": "on"})
        staff[0].refresh_from_db()
        assert not staff[0].is_blocked
        assert AuditEvent.objects.filter(action=AuditAction.USER_UNBLOCKED).exists()

    def test_unlock(self, admin_client, staff) -> None:
        User.objects.filter(pk=staff[0].pk).update(
            mfa_locked_until=timezone.now() + timedelta(minutes=9)
        )
        admin_client.post(f"/admin-portal/users/{staff[0].pk}/unlock", {"confirmed": "on"})
        staff[0].refresh_from_db()
        assert staff[0].mfa_locked_until is None

    def test_a_bypass_needs_a_reason_and_at_most_an_hour(self, admin_client, staff) -> None:
        url = f"/admin-portal/users/{staff[0].pk}/bypass"
        for data in ({"minutes": "61", "reason": "lost phone"}, {"minutes": "5", "reason": " "}):
            admin_client.post(url, {**data, "confirmed": "on"})
            staff[0].refresh_from_db()
            assert staff[0].mfa_bypass_until is None
        admin_client.post(
            url, {"minutes": "5", "reason": "lost phone, ticket 12345678", "confirmed": "on"}
        )
        staff[0].refresh_from_db()
        assert staff[0].mfa_bypass_until > timezone.now()
        event = AuditEvent.objects.get(action=AuditAction.BYPASS_GRANTED)
        assert "12345678" not in event.details["reason"]

    def test_a_password_link_is_shown_once_and_works(self, admin_client, staff, client) -> None:
        body = admin_client.post(
            f"/admin-portal/users/{staff[0].pk}/password-link", {"confirmed": "on"}
        ).content.decode()
        link = body.split('data-testid="password-link">')[1].split("<")[0]
        path = link.split("://", 1)[1].split("/", 1)[1]
        page = client.get("/" + path, follow=True)
        assert "Set your password" in page.content.decode()
        response = client.post(
            page.redirect_chain[-1][0],
            {"new_password1": "a brand new passphrase", "new_password2": "a brand new passphrase"},
        )
        assert response["Location"] == "/set-password/done"
        staff[0].refresh_from_db()
        assert staff[0].check_password("a brand new passphrase")
        again = client.get("/" + path, follow=True)
        assert "already been used or has expired" in again.content.decode()

    def test_an_action_asks_for_confirmation_first_and_changes_nothing(self, admin_client, staff):
        User.objects.filter(pk=staff[0].pk).update(is_blocked=True)
        response = admin_client.post(f"/admin-portal/users/{staff[0].pk}/unblock")
        assert 'data-testid="action-confirm"' in response.content.decode()
        staff[0].refresh_from_db()
        assert staff[0].is_blocked

    def test_recent_sign_ins_show_time_in_the_admins_zone_result_address_and_method(
        self, admin_client, admin, staff
    ) -> None:
        User.objects.filter(pk=admin.pk).update(time_zone="Asia/Shanghai")
        token = context.activate(context.RequestContext("cid-signin", "203.0.113.9"))
        try:
            event = record(
                AuditAction.SIGNIN_COMPLETED, AuditResult.SUCCESS, actor=staff[0],
                subject=staff[0], via="second factor", method="text:authentication",
            )  # fmt: skip
        finally:
            context.deactivate(token)
        local = event.at.astimezone(zoneinfo.ZoneInfo("Asia/Shanghai"))
        response = admin_client.get(f"/admin-portal/users/{staff[0].pk}")
        [row] = _rows(response.content.decode(), "subject-signin")
        assert local.strftime("%Y-%m-%d %H:%M:%S") in row
        assert "Success" in row
        assert "203.0.113.9" in row
        assert "Text message" in row

    def test_a_sign_in_by_a_remembered_device_says_so(self, admin_client, staff) -> None:
        record(AuditAction.SIGNIN_COMPLETED, AuditResult.SUCCESS, actor=staff[0],
               subject=staff[0], via="trusted device")  # fmt: skip
        record(AuditAction.SIGNOUT, AuditResult.SUCCESS, actor=staff[0], subject=staff[0])
        body = admin_client.get(f"/admin-portal/users/{staff[0].pk}").content.decode()
        [row] = _rows(body, "subject-signin")
        assert "Remembered device" in row

    def test_a_user_without_sign_ins_says_so(self, admin_client, staff) -> None:
        body = admin_client.get(f"/admin-portal/users/{staff[0].pk}").content.decode()
        assert _rows(body, "subject-signin") == []
        assert "No sign-ins yet." in body

    def test_organisation_wide_events_are_listed_and_labelled_on_each_users_page(
        self, admin_client, admin, staff, organisation
    ) -> None:
        services.restore_remembered_devices_everywhere(organisation, actor=admin)
        body = admin_client.get(f"/admin-portal/users/{staff[0].pk}").content.decode()
        assert "Remembered devices forgotten" in body
        assert 'data-testid="organisation-wide"' in body
        assert "Every user of the organisation" in body

    def test_organisation_wide_events_before_the_user_existed_are_not_theirs(
        self, admin_client, admin, make_user, organisation
    ) -> None:
        services.restore_remembered_devices_everywhere(organisation, actor=admin)
        newcomer = make_user("new@contoso.example")
        User.objects.filter(pk=newcomer.pk).update(created_at=timezone.now() + timedelta(1))
        body = admin_client.get(f"/admin-portal/users/{newcomer.pk}").content.decode()
        assert 'data-testid="organisation-wide"' not in body

    def test_requiring_contact_methods_again_shows_the_one_time_code(
        self, admin_client, staff
    ) -> None:
        phone_services.set_number(staff[0], "authentication", "+14255550134")
        url = f"/admin-portal/users/{staff[0].pk}/reregister"
        body = admin_client.post(url, {"confirmed": "on"}).content.decode()
        staff[0].refresh_from_db()
        assert staff[0].must_reregister
        assert not staff[0].phones.exists()
        assert body.count('data-testid="access-code"') == 1
        assert resets.access_code(staff[0].pk, staff[0].reregister_nonce) in body
        event = AuditEvent.objects.get(action=AuditAction.REREGISTRATION_REQUIRED)
        assert event.subject == staff[0]

    def test_requiring_contact_methods_again_texts_the_old_number(
        self, admin_client, staff, outbox, django_capture_on_commit_callbacks
    ) -> None:
        phone_services.set_number(staff[0], "authentication", "+14255550134")
        url = f"/admin-portal/users/{staff[0].pk}/reregister"
        with django_capture_on_commit_callbacks(execute=True):
            admin_client.post(url, {"confirmed": "on"})
        [text] = outbox.texts()
        assert text.to == "+14255550134"
        assert "register your verification methods again" in text.body

    def test_a_broken_gateway_setting_does_not_break_the_reset_page(
        self, admin_client, staff, settings, django_capture_on_commit_callbacks
    ) -> None:
        settings.TWOFOLD = {**settings.TWOFOLD, "gateway": "twofold.delivery.base.Text"}
        phone_services.set_number(staff[0], "authentication", "+14255550134")
        url = f"/admin-portal/users/{staff[0].pk}/reregister"
        with django_capture_on_commit_callbacks(execute=True):
            response = admin_client.post(url, {"confirmed": "on"})
        assert response.status_code == 200
        staff[0].refresh_from_db()
        assert staff[0].must_reregister

    @pytest.mark.django_db(transaction=True)
    def test_the_result_page_says_the_text_to_the_old_phone_was_sent(
        self, admin_client, staff, outbox
    ) -> None:
        phone_services.set_number(staff[0], "authentication", "+14255550134")
        url = f"/admin-portal/users/{staff[0].pk}/reregister"
        body = admin_client.post(url, {"confirmed": "on"}).content.decode()
        assert "1 text telling the user was sent to their old authentication phone." in body
        assert len(outbox.texts()) == 1

    @pytest.mark.django_db(transaction=True)
    def test_the_result_page_says_a_text_that_could_not_go_was_not_sent(
        self, admin_client, staff, outbox, settings, monkeypatch
    ) -> None:
        from twofold.methods import reset_notices

        monkeypatch.setattr(reset_notices, "MAX_ATTEMPTS", 1)  # given up at its first failure
        settings.TWOFOLD = {
            **settings.TWOFOLD,
            "gateway": "twofold.delivery.tests.gateways.UnreachableGateway",
        }
        phone_services.set_number(staff[0], "authentication", "+14255550134")
        url = f"/admin-portal/users/{staff[0].pk}/reregister"
        body = admin_client.post(url, {"confirmed": "on"}).content.decode()
        assert "was sent to their old authentication phone" not in body
        given_up = re.findall(r'data-testid="notices-given-up">(.*?)</p>', body, re.DOTALL)
        assert [" ".join(each.split()) for each in given_up] == [
            "1 text to an old authentication phone could not be sent: the text gateway failed"
            " or cannot reach that number. Tell that user another way."
        ]

    @pytest.mark.django_db(transaction=True)
    def test_the_result_page_says_when_a_text_held_back_by_a_cap_goes(
        self, admin_client, staff, outbox, settings
    ) -> None:
        settings.TWOFOLD = {**settings.TWOFOLD, "texts_per_number_per_hour": 1}
        phone_services.set_number(staff[0], "authentication", "+14255550134", mode="text")
        verification.start_challenge(staff[0], "text:authentication", ChallengePurpose.SIGNIN)
        url = f"/admin-portal/users/{staff[0].pk}/reregister"
        body = admin_client.post(url, {"confirmed": "on"}).content.decode()
        [waiting] = _waiting(body)
        due = timezone.localtime(ResetNotice.objects.get().not_before).strftime("%Y-%m-%d %H:%M")
        assert waiting.startswith("1 text to an old authentication phone waits")
        assert f"It is sent after {due}" in waiting
        assert "was sent" not in body

    def test_the_reset_panel_promises_a_text_only_to_a_user_with_an_authentication_phone(
        self, admin_client, staff
    ) -> None:
        body = admin_client.get(f"/admin-portal/users/{staff[0].pk}").content.decode()
        assert "no text tells them: tell them yourself" in body
        assert "Their authentication phone gets a text" not in body

    def test_the_reset_panel_promises_the_text_to_a_user_with_an_authentication_phone(
        self, admin_client, staff
    ) -> None:
        phone_services.set_number(staff[0], "authentication", "+14255550134")
        body = admin_client.get(f"/admin-portal/users/{staff[0].pk}").content.decode()
        assert "Their authentication phone gets a text saying so" in body

    def test_access_codes_of_no_action_select_nobody(self, staff) -> None:
        from twofold.adminportal import views

        assert User.objects.filter(reregister_nonce="").count() >= len(staff)
        assert views._access_codes("") == []

    def test_deleting_a_users_app_passwords(self, admin_client, staff, organisation) -> None:
        organisation.allow_app_passwords = True
        organisation.save()
        app_passwords.create(staff[0], "Mail")
        app_passwords.create(staff[1], "Mail")
        url = f"/admin-portal/users/{staff[0].pk}/app-passwords"
        response = admin_client.post(url, {"confirmed": "on"}, follow=True)
        assert "Their app passwords are deleted." in response.content.decode()
        assert not staff[0].app_passwords.exists()
        assert staff[1].app_passwords.exists()
        event = AuditEvent.objects.get(action=AuditAction.APP_PASSWORDS_DELETED_BY_ADMIN)
        assert event.subject == staff[0]

    def test_forgetting_a_users_remembered_devices(self, admin_client, staff) -> None:
        url = f"/admin-portal/users/{staff[0].pk}/restore"
        admin_client.post(url, {"confirmed": "on"})
        epochs = dict(User.objects.values_list("pk", "trusted_device_epoch"))
        assert (epochs[staff[0].pk], epochs[staff[1].pk]) == (1, 0)
        event = AuditEvent.objects.get(action=AuditAction.TRUSTED_DEVICES_FORGOTTEN)
        assert event.subject == staff[0]

    def test_changing_a_users_mfa_state(self, admin_client, staff) -> None:
        url = f"/admin-portal/users/{staff[0].pk}/mfa-state"
        admin_client.post(url, {"state": MfaState.ENFORCED, "confirmed": "on"})
        states = dict(User.objects.values_list("pk", "mfa_state"))
        assert (states[staff[0].pk], states[staff[1].pk]) == (MfaState.ENFORCED, MfaState.DISABLED)
        event = AuditEvent.objects.get(action=AuditAction.MFA_STATE_CHANGED)
        assert event.subject == staff[0]

    def test_an_unknown_mfa_state_changes_nothing(self, admin_client, staff) -> None:
        url = f"/admin-portal/users/{staff[0].pk}/mfa-state"
        response = admin_client.post(url, {"state": "sideways", "confirmed": "on"})
        assert response.status_code in (200, 302)
        staff[0].refresh_from_db()
        assert staff[0].mfa_state == MfaState.DISABLED

    def test_an_unknown_action_is_refused(self, admin_client, staff) -> None:
        response = admin_client.post(
            f"/admin-portal/users/{staff[0].pk}/self-destruct", follow=True
        )
        assert "Unknown action." in response.content.decode()


class TestOddInputAndFilters:
    def test_reregistering_all_users_with_methods_reaches_exactly_them(self, admin_client, staff):
        phone_services.set_number(staff[0], "authentication", "+14255550134")
        phone_services.set_number(staff[1], "office", "+14255550199")
        # Among the staff: the administrator has a method too (their phone).
        data = {"action": "manage", "all_matching": "on", "methods": "yes", "q": "user0",
                "reregister": "on", "confirmed": "on"}  # fmt: skip
        response = admin_client.post("/admin-portal/users/bulk", data)
        assert response.status_code == 200
        flagged = set(User.objects.filter(must_reregister=True).values_list("pk", flat=True))
        assert flagged == {staff[0].pk, staff[1].pk}
        assert response.content.decode().count('data-testid="access-code"') == 2
        events = AuditEvent.objects.filter(action=AuditAction.REREGISTRATION_REQUIRED)
        assert set(events.values_list("subject_id", flat=True)) == flagged

    @pytest.mark.parametrize(
        ("url", "data"),
        [
            ("/admin-portal/users/bulk", {"action": "enable", "selected": "99999999999999999999999",
                                          "confirmed": "on"}),
            ("/admin-portal/users/bulk", {"action": "enable", "selected": "²", "confirmed": "on"}),
        ],
    )  # fmt: skip
    def test_odd_ids_are_refused_without_an_error(self, admin_client, staff, url, data) -> None:
        assert admin_client.post(url, data).status_code in (200, 302)

    def test_odd_minutes_and_cursors_are_refused_without_an_error(self, admin_client, staff):
        url = f"/admin-portal/users/{staff[0].pk}/bypass"
        data = {"minutes": "²", "reason": "x", "confirmed": "on"}
        assert admin_client.post(url, data).status_code == 302
        assert admin_client.get("/admin-portal/audit?before=²").status_code == 200
        assert (
            admin_client.get("/admin-portal/audit?before=99999999999999999999999").status_code
            == 200
        )

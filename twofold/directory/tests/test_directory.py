"""The directory against a real slapd (conftest.py): passwords by bind, sync, groups, phones.

Runs on SQLite and on PostgreSQL + Redis alike (DATABASE_URL, REDIS_URL)."""

from __future__ import annotations

import ldap
import pytest
from cryptography.fernet import Fernet
from django.test import Client, RequestFactory

from twofold.accounts import services as accounts
from twofold.accounts.backends import AccountBlocked
from twofold.accounts.models import MfaState, User
from twofold.audit.models import AuditAction, AuditEvent
from twofold.directory import devslapd, passwords, services
from twofold.directory.client import DirectoryUnavailable
from twofold.directory.models import DirectoryAccount, Effect
from twofold.directory.sync import synchronise
from twofold.methods.phone import services as phone_services
from twofold.methods.phone.models import Phone, PhoneRole

pytestmark = [pytest.mark.xdist_group("slapd"), pytest.mark.django_db]

PASSWORD = devslapd.PEOPLE_PASSWORD


def configure(organisation, tree, *, urls=None, ca=True, start_tls=True):
    directory = services.configure(
        organisation,
        urls=urls or [tree.slapd.url],
        bind_dn=devslapd.SERVICE_DN,
        bind_password=devslapd.SERVICE_PASSWORD,
        base_dn=tree.people,
        preset="ad",
        start_tls=start_tls,
        ca_bundle=tree.slapd.ca_file.read_text() if ca else "",
        user_filter="(objectClass=adLikeUser)",
    )
    directory.page_size = 3  # below the server's limit of 5: every search is paged
    directory.save()
    services.map_group(directory, tree.group("MFA enforced"), Effect.ENFORCED)
    services.map_group(directory, tree.group("MFA disabled"), Effect.DISABLED)
    services.map_group(directory, tree.group("twofold administrators"), Effect.ADMIN)
    return directory


@pytest.fixture
def directory(organisation, tree):
    return configure(organisation, tree)


@pytest.fixture
def synced(directory):
    synchronise(directory)
    return directory


def user(name: str) -> User:
    return User.objects.get(username=f"{name}@contoso.example")


def password_check(name: str, password: str = PASSWORD, **options) -> User:
    request = RequestFactory().post("/signin/password")
    return accounts.check_password(request, f"{name}@contoso.example", password, **options)


class TestSync:
    def test_a_first_sync_creates_the_people_and_says_who_was_refused_and_why(
        self, directory
    ) -> None:
        report = synchronise(directory)
        assert sorted(report.created) == [
            f"{name}@contoso.example"
            for name in ("adele", "bianca", "emily", "grady", "henrietta", "isaiah")
        ]
        assert dict(report.refused) == {
            "diego@contoso.example": "disabled in the directory",
            "lee@fabrikam.example": "the user name's domain is not the organisation's",
        }
        adele = user("adele")
        assert (adele.display_name, adele.email) == ("Adele Vance", "adele@contoso.example")
        assert not adele.has_usable_password()  # no hash kept: the directory checks it
        assert AuditEvent.objects.filter(action=AuditAction.DIRECTORY_SYNCED).count() == 1

    def test_the_directory_refuses_an_unpaged_search_so_the_sync_really_pages(
        self, directory, tree
    ) -> None:
        connection = ldap.initialize(tree.slapd.url)
        connection.simple_bind_s(devslapd.SERVICE_DN, devslapd.SERVICE_PASSWORD)
        with pytest.raises(ldap.SIZELIMIT_EXCEEDED):
            connection.search_s(tree.people, ldap.SCOPE_SUBTREE, "(objectClass=adLikeUser)")
        assert len(synchronise(directory).created) == 6  # of 8 people, through pages of 3

    def test_nested_groups_give_mfa_states_and_administrators(self, synced) -> None:
        assert user("adele").mfa_state == MfaState.ENFORCED  # Sales, in "MFA enforced"
        assert user("emily").mfa_state == MfaState.ENFORCED  # Sales EMEA, in Sales
        assert user("isaiah").mfa_state == MfaState.DISABLED
        assert user("grady").mfa_state == MfaState.DISABLED  # in no group: as created
        bianca = user("bianca")
        assert bianca.is_admin
        assert bianca.mfa_state == MfaState.ENFORCED

    def test_leaving_the_admin_group_takes_back_only_what_the_sync_gave(self, synced, tree) -> None:
        tree.admin().modify_s(
            tree.group("twofold administrators"),
            [(ldap.MOD_REPLACE, "member", [tree.dn("adele").encode()])],
        )
        report = synchronise(synced)
        assert not user("bianca").is_admin
        assert user("adele").is_admin
        assert "bianca@contoso.example" in report.updated

    def test_a_change_is_read_incrementally_and_updates_the_user(self, synced, tree) -> None:
        tree.modify("adele", displayName="Adele Vance-Smith")
        report = synchronise(synced)
        assert report.incremental
        assert report.updated == ["adele@contoso.example"]
        assert user("adele").display_name == "Adele Vance-Smith"
        assert report.unchanged + len(report.updated) <= 6

    def test_someone_disabled_in_the_directory_is_blocked_and_signed_out_everywhere(
        self, synced, tree
    ) -> None:
        before = user("adele")
        tree.modify("adele", userAccountControl="514")
        report = synchronise(synced)
        assert report.blocked == ["adele@contoso.example"]
        after = user("adele")
        assert after.is_blocked
        assert after.session_epoch == before.session_epoch + 1
        assert after.trusted_device_epoch > before.trusted_device_epoch
        assert AuditEvent.objects.filter(action=AuditAction.USER_BLOCKED, subject=after).exists()
        tree.modify("adele", userAccountControl="512")
        assert synchronise(synced).unblocked == ["adele@contoso.example"]
        assert not user("adele").is_blocked

    def test_someone_removed_from_the_directory_is_blocked(self, synced, tree) -> None:
        tree.delete(tree.dn("isaiah"))
        report = synchronise(synced)
        assert report.blocked == ["isaiah@contoso.example"]
        assert user("isaiah").is_blocked

    def test_a_directory_that_lists_nobody_blocks_nobody(self, synced, tree) -> None:
        synced.user_filter = "(objectClass=nobodyHasThisClass)"
        synced.save()
        report = synchronise(synced, full=True)
        assert report.blocked == []
        assert not User.objects.filter(is_blocked=True).exists()

    def test_a_twofold_user_of_the_same_name_is_never_taken_over(
        self, directory, make_user
    ) -> None:
        make_user("adele@contoso.example")
        report = synchronise(directory)
        assert ("adele@contoso.example", "a user with this user name exists already") in (
            report.refused
        )
        assert not DirectoryAccount.objects.filter(user__username="adele@contoso.example")

    def test_a_dry_run_reports_and_changes_nothing(self, directory) -> None:
        report = synchronise(directory, dry_run=True)
        assert len(report.created) == 6
        assert not User.objects.filter(username="adele@contoso.example").exists()
        assert not AuditEvent.objects.filter(action=AuditAction.DIRECTORY_SYNCED).exists()


class TestPhones:
    def test_a_directory_number_waits_for_its_owner_to_prove_it(self, synced) -> None:
        phone = Phone.objects.get(user=user("adele"), role=PhoneRole.AUTHENTICATION)
        assert (phone.number, phone.pending_number) == ("", "+14255550101")
        office = Phone.objects.get(user=user("adele"), role=PhoneRole.OFFICE)
        assert office.pending_number == "+14255550102"

    def test_a_local_number_is_read_in_the_organisations_country(self, synced) -> None:
        phone = Phone.objects.get(user=user("isaiah"), role=PhoneRole.AUTHENTICATION)
        assert phone.pending_number == "+14255550107"

    def test_a_changed_number_does_not_replace_the_one_in_force_and_the_old_one_is_told(
        self, synced, tree, outbox, django_capture_on_commit_callbacks
    ) -> None:
        adele = user("adele")
        phone_services.set_number(adele, PhoneRole.AUTHENTICATION, "+14255550134")
        tree.modify("adele", mobile="+1 425 555 0166")
        with django_capture_on_commit_callbacks(execute=True):
            synchronise(synced)
        phone = Phone.objects.get(user=adele, role=PhoneRole.AUTHENTICATION)
        assert (phone.number, phone.pending_number) == ("+14255550134", "+14255550166")
        (notice,) = outbox.texts()
        assert notice.to == "+14255550134"
        assert "verify it on your settings page" in notice.body

    def test_an_unchanged_directory_number_does_not_undo_the_persons_own_choice(
        self, synced
    ) -> None:
        adele = user("adele")
        phone_services.set_number(adele, PhoneRole.AUTHENTICATION, "+14255550134")
        synchronise(synced)
        phone = Phone.objects.get(user=adele, role=PhoneRole.AUTHENTICATION)
        assert (phone.number, phone.pending_number) == ("+14255550134", "")


class TestPasswords:
    def test_the_directory_password_signs_in(self, synced) -> None:
        assert password_check("adele") == user("adele")

    def test_a_wrong_password_is_refused_and_counted(self, synced) -> None:
        with pytest.raises(accounts.InvalidCredentials):
            password_check("adele", "not the password")
        event = AuditEvent.objects.filter(action=AuditAction.SIGNIN_PASSWORD).latest("id")
        assert event.result == "failure"

    def test_an_empty_password_is_never_an_anonymous_bind(self, synced) -> None:
        with pytest.raises(accounts.InvalidCredentials):
            password_check("adele", "")

    def test_a_local_hash_is_never_a_fallback(self, synced) -> None:
        adele = user("adele")
        adele.set_password("a local password that must not work")
        adele.save()
        with pytest.raises(accounts.InvalidCredentials):
            password_check("adele", "a local password that must not work")

    @pytest.mark.parametrize(
        ("name", "state"),
        [("emily", "must_change"), ("grady", "account_expired"), ("henrietta", "locked")],
    )
    def test_account_states_refuse_with_their_own_message(self, synced, name, state) -> None:
        with pytest.raises(passwords.DirectoryAccountRefused) as refused:
            password_check(name, say_blocked=True)
        assert refused.value.state == state
        with pytest.raises(accounts.InvalidCredentials):  # a wrong password learns nothing
            password_check(name, "not the password", say_blocked=True)

    def test_disabled_in_the_directory_refuses_before_the_next_sync(self, synced, tree) -> None:
        tree.modify("adele", userAccountControl="514")
        with pytest.raises(AccountBlocked) as refused:
            password_check("adele", say_blocked=True)
        assert "disabled" in refused.value.message

    def test_a_directory_that_does_not_answer_is_unavailable_never_a_fallback(self, synced) -> None:
        synced.urls = f"ldap://127.0.0.1:{devslapd.free_port()}"
        synced.save()
        with pytest.raises(DirectoryUnavailable):
            password_check("adele")

    def test_the_sign_in_page_says_temporarily_unavailable_with_503(self, synced) -> None:
        synced.urls = f"ldap://127.0.0.1:{devslapd.free_port()}"
        synced.save()
        client = Client(raise_request_exception=False)
        client.post("/signin", {"username": "adele@contoso.example"})
        response = client.post("/signin/password", {"password": PASSWORD})
        assert response.status_code == 503
        assert "temporarily unavailable" in response.content.decode()

    def test_a_bind_password_no_configured_key_opens_is_a_503_counting_nothing(
        self, synced, settings
    ) -> None:
        """Another installation's keys: the service account cannot bind, which is an outage
        (never a 500, nor a wrong password counted against the person)."""
        settings.TWOFOLD = {
            **settings.TWOFOLD,
            "encryption_keys": (Fernet.generate_key().decode(),),
        }
        client = Client(raise_request_exception=False)
        client.post("/signin", {"username": "adele@contoso.example"})
        response = client.post("/signin/password", {"password": PASSWORD})
        assert response.status_code == 503
        assert "temporarily unavailable" in response.content.decode()
        by_user, _by_address = accounts._limits()
        assert by_user.count("adele@contoso.example") == 0

    def test_the_second_url_serves_when_the_first_does_not_answer(self, organisation, tree) -> None:
        dead = f"ldap://127.0.0.1:{devslapd.free_port()}"
        directory = configure(organisation, tree, urls=[dead, tree.slapd.url])
        synchronise(directory)
        assert password_check("adele") == user("adele")

    def test_ldaps_works_and_an_untrusted_certificate_is_no_directory(
        self, organisation, tree
    ) -> None:
        directory = configure(organisation, tree, urls=[tree.slapd.tls_url], start_tls=False)
        synchronise(directory)
        assert password_check("adele") == user("adele")
        directory.ca_bundle = ""  # the system's CAs do not know the test CA
        directory.save()
        with pytest.raises(DirectoryUnavailable):
            password_check("adele")

    def test_a_local_user_beside_directory_users_keeps_their_own_password(
        self, synced, make_user
    ) -> None:
        from conftest import STRONG_PASSWORD

        local = make_user("zoe@contoso.example")
        assert password_check("zoe", STRONG_PASSWORD) == local


def test_active_directorys_bind_diagnostics_name_the_account_state() -> None:
    info = "80090308: LdapErr: DSID-0C09042F, comment: AcceptSecurityContext error, data {}, v4563"
    assert passwords.state_from_diagnostic(info.format("52e")) == ""
    assert passwords.state_from_diagnostic(info.format("533")) == "disabled"
    assert passwords.state_from_diagnostic(info.format("775")) == "locked"
    assert passwords.state_from_diagnostic(info.format("773")) == "must_change"
    assert passwords.state_from_diagnostic(info.format("532")) == "password_expired"
    assert passwords.state_from_diagnostic(info.format("701")) == "account_expired"
    assert passwords.state_from_diagnostic(info.format("530")) == "not_now"


class TestWithoutThePassword:
    """A passwordless passkey and an app password skip the directory's password: the
    directory is still asked whether the account may sign in (docs/directory.md), so an
    account disabled or removed there is refused at once, not at the next sync."""

    def test_an_active_account_stands_and_a_local_user_is_not_asked_about(
        self, synced, make_user
    ) -> None:
        passwords.check_standing(user("adele"))
        local = make_user("zoe@contoso.example")
        synced.urls = f"ldap://127.0.0.1:{devslapd.free_port()}"  # not even asked
        synced.save()
        passwords.check_standing(local)

    def test_disabled_or_removed_in_the_directory_is_refused(self, synced, tree) -> None:
        tree.modify("adele", userAccountControl="514")
        with pytest.raises(passwords.DirectoryAccountRefused) as refused:
            passwords.check_standing(user("adele"))
        assert refused.value.state == "disabled"
        tree.delete(tree.dn("adele"))
        with pytest.raises(passwords.DirectoryAccountRefused):
            passwords.check_standing(user("adele"))

    def test_a_directory_that_does_not_answer_lets_nobody_in(self, synced) -> None:
        synced.urls = f"ldap://127.0.0.1:{devslapd.free_port()}"
        synced.save()
        with pytest.raises(DirectoryUnavailable):
            passwords.check_standing(user("adele"))

    def test_an_app_password_of_an_account_disabled_there_is_refused(
        self, synced, tree, organisation
    ) -> None:
        from twofold.api import checks
        from twofold.api.reasons import Reason
        from twofold.methods.app_passwords import services as app_passwords

        organisation.allow_app_passwords = True
        organisation.save()
        adele = user("adele")
        accounts.set_mfa_state(User.objects.filter(pk=adele.pk), MfaState.ENFORCED)
        _, secret = app_passwords.create(adele, "Mail")
        request = RequestFactory().post("/api/v1/validate/check")
        name = "adele@contoso.example"
        accepted = checks.check(request, organisation, name, secret)
        assert (accepted.result, accepted.reason) == (checks.ACCEPT, Reason.APP_PASSWORD)
        tree.modify("adele", userAccountControl="514")
        refused = checks.check(request, organisation, name, secret)
        assert (refused.result, refused.reason) == (checks.REJECT, Reason.INVALID_CREDENTIALS)

    def test_a_passwordless_passkey_of_an_account_disabled_there_is_refused(
        self, synced, tree, settings
    ) -> None:
        from django.contrib.sessions.backends.db import SessionStore

        from twofold.core.errors import InvalidInput
        from twofold.methods.passkeys import passwordless
        from twofold.methods.passkeys import services as passkeys
        from twofold.methods.passkeys.models import PasskeyAccount
        from twofold.methods.passkeys.tests.softkey import SoftKey

        settings.TWOFOLD_BASE_URL = "http://localhost:8000"
        adele, key, session = user("adele"), SoftKey(), SessionStore()
        options = passkeys.begin_registration(session, adele)
        passkeys.finish_registration(session, adele, key.create(options), "Laptop")
        key.user_handle = PasskeyAccount.objects.get(user=adele).handle.encode()

        def sign_in():
            return passwordless.finish(session, key.get(passwordless.begin(session)))

        assert sign_in().passkey.user == adele
        tree.modify("adele", userAccountControl="514")
        with pytest.raises(InvalidInput, match="disabled in your organisation's directory"):
            sign_in()

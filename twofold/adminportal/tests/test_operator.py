"""The operator's pages (/operator/): organisations made, listed, suspended and resumed."""

import io
import time
from urllib.parse import urlsplit

import pytest
from django.core.management import call_command
from django.test import Client

from conftest import STRONG_PASSWORD
from twofold.accounts.models import MfaState, User
from twofold.adminportal.tests.conftest import signed_in_admin
from twofold.api import clients
from twofold.audit.models import AuditAction, AuditEvent, AuditResult
from twofold.methods.phone import services as phone_services
from twofold.methods.stepup import VERIFIED_AT
from twofold.organisations.models import Organisation

pytestmark = pytest.mark.django_db
NEW = {
    "name": "Northwind",
    "domain": "northwind.example",
    "admin_username": "nora@northwind.example",
    "admin_display_name": "Nora North",
}


@pytest.fixture
def operator(make_user):
    user = make_user("op@contoso.example", is_operator=True)
    phone_services.set_number(user, "authentication", "+14255550100", mode="text")
    return user


def signed_in(user, *, verified_ago: int | None = 0) -> Client:
    """Signed in with both factors (``verified_ago`` seconds since; None: never)."""
    client = Client()
    client.force_login(user, backend="twofold.accounts.backends.PasswordBackend")
    if verified_ago is not None:
        session = client.session
        session[VERIFIED_AT] = int(time.time()) - verified_ago
        session.save()
    return client


@pytest.fixture
def operator_client(operator) -> Client:
    return signed_in(operator)


@pytest.fixture
def fabrikam_user(other_organisation, make_user):
    return make_user("fred@fabrikam.example", organisation=other_organisation)


def _suspend(client: Client, organisation: Organisation, **extra: str):
    url = f"/operator/organisations/{organisation.pk}/suspension"
    return client.post(url, {"confirmed": "on", **extra}, follow=True)


def test_an_operator_is_an_administrator_with_two_step_verification_enforced(operator) -> None:
    assert operator.is_admin
    assert operator.mfa_state == MfaState.ENFORCED


def test_an_administrator_who_is_not_the_operator_is_refused_and_audited(make_user) -> None:
    make_user("admin@contoso.example", is_admin=True)
    response = signed_in_admin("admin@contoso.example").get("/operator/")
    assert response.status_code == 403
    assert AuditEvent.objects.filter(action=AuditAction.OPERATOR_ACCESS_DENIED).exists()


def test_the_operator_without_a_recent_second_factor_is_sent_to_confirm_it(operator) -> None:
    response = signed_in(operator, verified_ago=None).get("/operator/")
    assert response.status_code == 302
    assert response["Location"].startswith("/account/verify?next=%2Foperator%2F")


def test_an_operator_without_any_method_is_told_to_set_one_up(make_user) -> None:
    newcomer = make_user("op2@contoso.example", is_operator=True)
    response = signed_in(newcomer).get("/operator/")
    assert response.status_code == 403
    assert 'data-testid="operator-no-method"' in response.content.decode()


def test_the_list_shows_each_organisation_with_domains_users_and_state(
    operator_client, fabrikam_user, other_organisation
) -> None:
    body = operator_client.get("/operator/").content.decode()
    assert "fabrikam.example" in body
    assert "contoso.example" in body
    assert body.count('data-testid="operator-organisation"') == 2


def test_creating_an_organisation_makes_its_first_administrator_and_a_link(
    operator_client, operator, client
) -> None:
    body = operator_client.post("/operator/organisations/new", NEW).content.decode()
    organisation = Organisation.objects.get(slug="northwind")
    admin = User.objects.get(username="nora@northwind.example")
    assert list(organisation.domains.values_list("domain", flat=True)) == ["northwind.example"]
    assert (admin.organisation, admin.is_admin, admin.mfa_state) == (
        organisation,
        True,
        MfaState.ENFORCED,
    )
    assert not admin.has_usable_password()
    link = body.split('data-testid="password-link">')[1].split("<")[0]
    form = client.get(urlsplit(link).path, follow=True).content.decode()
    assert 'name="new_password1"' in form
    created = AuditEvent.objects.get(
        action=AuditAction.ORGANISATION_CREATED, organisation=organisation
    )
    assert created.actor == operator


def test_a_taken_domain_is_refused_and_nothing_is_created(operator_client) -> None:
    data = {**NEW, "domain": "contoso.example", "admin_username": "nora@contoso.example"}
    body = operator_client.post("/operator/organisations/new", data).content.decode()
    assert "This domain already belongs to an organisation" in body
    assert not Organisation.objects.filter(name="Northwind").exists()
    assert not User.objects.filter(username="nora@contoso.example").exists()


def test_an_administrator_outside_the_domain_is_refused_and_no_organisation_is_left(
    operator_client,
) -> None:
    data = {**NEW, "admin_username": "nora@elsewhere.example"}
    response = operator_client.post("/operator/organisations/new", data)
    assert response.status_code == 200
    assert 'class="field has-error"' in response.content.decode()
    assert not Organisation.objects.filter(slug="northwind").exists()


def test_an_empty_form_is_refused_field_by_field(operator_client) -> None:
    body = operator_client.post("/operator/organisations/new", {}).content.decode()
    assert body.count('class="field-error"') == 3
    assert Organisation.objects.count() == 1


def test_suspending_asks_for_confirmation_first_and_changes_nothing(
    operator_client, other_organisation
) -> None:
    url = f"/operator/organisations/{other_organisation.pk}/suspension"
    body = operator_client.post(url).content.decode()
    assert 'data-testid="operator-confirm"' in body
    other_organisation.refresh_from_db()
    assert not other_organisation.is_suspended


def test_suspending_is_audited_and_resuming_reverses_it(
    operator_client, other_organisation
) -> None:
    _suspend(operator_client, other_organisation)
    other_organisation.refresh_from_db()
    assert other_organisation.is_suspended
    _suspend(operator_client, other_organisation, resume="on")
    other_organisation.refresh_from_db()
    assert not other_organisation.is_suspended
    actions = list(
        AuditEvent.objects.filter(organisation=other_organisation)
        .exclude(action=AuditAction.ORGANISATION_CREATED)
        .order_by("pk")
        .values_list("action", "result")
    )
    assert actions == [
        (AuditAction.ORGANISATION_SUSPENDED, AuditResult.SUCCESS),
        (AuditAction.ORGANISATION_RESUMED, AuditResult.SUCCESS),
    ]


def test_the_operator_cannot_suspend_their_own_organisation(operator_client, organisation):
    body = _suspend(operator_client, organisation).content.decode()
    assert "suspend your own organisation" in body
    organisation.refresh_from_db()
    assert not organisation.is_suspended


def test_a_person_of_a_suspended_organisation_is_told_so_at_sign_in(
    operator_client, other_organisation, fabrikam_user
) -> None:
    _suspend(operator_client, other_organisation)
    client = Client()
    client.post("/signin", {"username": fabrikam_user.username})
    response = client.post("/signin/password", {"password": STRONG_PASSWORD})
    assert response.status_code == 403
    assert "suspended Fabrikam" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_a_signed_in_person_is_signed_out_when_their_organisation_is_suspended(
    operator_client, other_organisation, fabrikam_user
) -> None:
    client = Client()
    client.post("/signin", {"username": fabrikam_user.username})
    client.post("/signin/password", {"password": STRONG_PASSWORD})
    assert client.get("/account").status_code == 200
    _suspend(operator_client, other_organisation)
    assert client.get("/account").status_code == 302


def test_a_resumed_organisations_people_sign_in_again(
    operator_client, other_organisation, fabrikam_user
) -> None:
    _suspend(operator_client, other_organisation)
    _suspend(operator_client, other_organisation, resume="on")
    client = Client()
    client.post("/signin", {"username": fabrikam_user.username})
    response = client.post("/signin/password", {"password": STRONG_PASSWORD})
    assert response.status_code == 302
    assert client.session.get("_auth_user_id") == str(fabrikam_user.pk)


def test_a_suspended_organisations_api_client_is_refused_with_a_clear_message(
    operator_client, other_organisation, make_user
) -> None:
    boss = make_user("boss@fabrikam.example", organisation=other_organisation, is_admin=True)
    _client, token = clients.create(other_organisation, "VPN", ["users:read"], actor=boss)
    _suspend(operator_client, other_organisation)
    response = Client().get("/api/v1/users", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 403
    assert response.json()["error"] == "organisation_suspended"
    assert "suspended" in response.json()["message"]


def test_a_post_without_a_recent_second_factor_changes_nothing(
    operator, other_organisation
) -> None:
    response = _suspend(signed_in(operator, verified_ago=3600), other_organisation)
    assert response.redirect_chain[0][0].startswith("/account/verify")
    other_organisation.refresh_from_db()
    assert not other_organisation.is_suspended


def test_the_command_line_makes_an_operator(organisation, monkeypatch) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(f"{STRONG_PASSWORD}\n"))
    call_command("createuser", "op9@contoso.example", "--operator", "--password-stdin")
    made = User.objects.get(username="op9@contoso.example")
    assert (made.is_operator, made.is_admin, made.mfa_state) == (True, True, MfaState.ENFORCED)


def test_the_operator_page_shows_the_installations_siem_destinations_and_their_state(
    operator_client, settings
) -> None:
    from twofold.audit import forwarding

    settings.TWOFOLD_SYSLOG_URL = "tcp+tls://siem.internal:6514"
    forwarding.sync_installation_destinations()
    page = operator_client.get("/operator/").content.decode()
    assert "tcp+tls://siem.internal:6514" in page
    assert "Nothing yet" in page
    assert "Receiving" in page

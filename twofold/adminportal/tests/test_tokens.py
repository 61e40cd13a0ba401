"""The admin portal's hardware tokens: the stock, uploads, assignment, and other
organisations kept out (docs/security.md 4, 22, 23)."""

from __future__ import annotations

import pytest
from django.test import Client

from twofold.accounts.models import User
from twofold.adminportal import uploads
from twofold.adminportal.tests.conftest import password_only, signed_in_admin
from twofold.audit.models import AuditAction, AuditEvent, AuditResult
from twofold.core import crypto
from twofold.methods import base, totp
from twofold.methods.oath import actions as token_actions
from twofold.methods.oath import importing, services
from twofold.methods.oath.models import HardwareToken
from twofold.methods.oath.tests.conftest import csv_bytes, row

pytestmark = pytest.mark.django_db

LIST = "/admin-portal/hardware-tokens/"
UPLOAD = "/admin-portal/hardware-tokens/upload"
SECRET = bytes(range(1, 21))


def token_url(token: HardwareToken, action: str = "") -> str:
    return f"{LIST}{token.pk}" + (f"/{action}" if action else "")


def browser(username: str, *, recent: bool = True) -> Client:
    """A browser signed in through the sign-in pages: an administrator with a second factor
    (just passed, or older than the step-up window), anyone else on the password."""
    if User.objects.get(username=username).is_admin:
        return signed_in_admin(username, recent=recent)
    return password_only(username)


def stock(organisation, *rows: str, actor) -> list[HardwareToken]:
    """Upload rows through the import service, as the upload page does."""
    report = importing.import_tokens(organisation, csv_bytes(*rows), actor)
    assert not report.refused, report.refused
    return list(HardwareToken.objects.filter(organisation=organisation).order_by("serial"))


def with_a_method(user) -> None:
    """Give ``user`` a second factor (an activated token), so step-up applies to them."""
    secret = crypto.random_otp_secret(20)
    (token,) = [
        found
        for found in stock(user.organisation, row(user.username, "ADMIN-1", secret), actor=user)
        if found.serial == "ADMIN-1"
    ]
    services.activate(user, token.pk, crypto.totp(secret, totp.clock()))


def upload(client: Client, data: bytes, name: str = "tokens.csv"):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return client.post(UPLOAD, {"file": SimpleUploadedFile(name, data, "text/csv")})


@pytest.fixture
def admin(make_user):
    return make_user("admin@contoso.example", is_admin=True)


@pytest.fixture
def admin_browser(admin) -> Client:
    return browser(admin.username)


@pytest.fixture
def rival(other_organisation, make_user):
    """An administrator of another organisation."""
    return make_user("boss@fabrikam.example", organisation=other_organisation, is_admin=True)


@pytest.fixture
def rival_browser(rival) -> Client:
    return browser(rival.username)


@pytest.fixture
def token(organisation, admin) -> HardwareToken:
    (only,) = stock(organisation, row("", "GALT12345678", SECRET), actor=admin)
    return only


def denied_events() -> int:
    return AuditEvent.objects.filter(
        action=AuditAction.ADMIN_ACCESS_DENIED, result=AuditResult.DENIED
    ).count()


# --- The list --------------------------------------------------------------------------------


def test_the_list_shows_the_organisations_tokens_with_their_holder_and_state(
    admin_browser, organisation, admin, user
) -> None:
    stock(
        organisation,
        row(user.username, "T-0001", SECRET, "30", "Acme", "Key-6"),
        row("", "T-0002", SECRET),
        actor=admin,
    )
    page = admin_browser.get(LIST).content.decode()
    assert page.count('data-testid="hardware-token"') == 2
    assert "Acme · Key-6" in page
    assert user.username in page
    assert "Waiting for activation" in page
    assert "In stock" in page


def test_the_list_never_shows_another_organisations_tokens(
    admin_browser, other_organisation, rival
) -> None:
    stock(other_organisation, row("", "FAB-0001", SECRET), actor=rival)
    page = admin_browser.get(LIST).content.decode()
    assert "FAB-0001" not in page
    assert 'data-testid="hardware-token"' not in page


def test_the_list_pages_by_serial(admin_browser, organisation, admin, monkeypatch) -> None:
    monkeypatch.setattr(services, "PAGE_SIZE", 2)
    stock(organisation, *(row("", f"T-000{n}", SECRET) for n in range(1, 6)), actor=admin)
    first = admin_browser.get(LIST).content.decode()
    assert "T-0002" in first
    assert "T-0003" not in first
    second = admin_browser.get(LIST, {"after": "T-0002"}).content.decode()
    assert second.count('data-testid="hardware-token"') == 2
    assert "T-0003" in second
    assert "T-0004" in second
    assert 'data-testid="previous-page"' in second
    back = admin_browser.get(LIST, {"before": "T-0003"}).content.decode()
    assert "T-0001" in back
    assert "T-0002" in back


def test_the_list_finds_tokens_by_serial_prefix(admin_browser, organisation, admin) -> None:
    stock(organisation, row("", "ABC-1", SECRET), row("", "XYZ-1", SECRET), actor=admin)
    page = admin_browser.get(LIST, {"q": "XY"}).content.decode()
    assert "XYZ-1" in page
    assert "ABC-1" not in page


def test_a_user_who_is_not_an_administrator_is_refused(user) -> None:
    assert browser(user.username).get(LIST).status_code == 403


def test_the_pages_have_no_inline_style_or_script(admin_browser, token) -> None:
    for url in (LIST, token_url(token), token_url(token, "delete")):
        page = admin_browser.get(url).content.decode()
        assert " style=" not in page
        assert "<style" not in page
        assert "<script>" not in page


# --- Uploading -------------------------------------------------------------------------------


def test_an_upload_reports_added_and_refused_rows_by_row_number(admin_browser, user) -> None:
    data = csv_bytes(
        row(user.username, "T-0001", SECRET),
        row("ghost@contoso.example", "T-0002", SECRET),
        row("", '=HYPERLINK("http://evil.example")', SECRET),
    )
    response = upload(admin_browser, data)
    page = response.content.decode()
    assert response.status_code == 200
    assert 'data-testid="import-report"' in page
    assert 'data-testid="import-added-row" data-row="2"' in page
    assert 'data-testid="import-refused-row" data-row="3"' in page
    assert "There is no user named “ghost@contoso.example” in your organisation." in page
    assert 'data-testid="import-refused-row" data-row="4"' in page
    assert list(HardwareToken.objects.values_list("serial", flat=True)) == ["T-0001"]


def test_an_upload_over_the_size_limit_gets_a_clear_message(admin_browser) -> None:
    data = csv_bytes(row("", "T-0001", SECRET)).ljust(importing.MAX_BYTES + 10, b"\n")
    page = upload(admin_browser, data).content.decode()
    assert "The file is larger than 5 MB" in page
    assert not HardwareToken.objects.exists()


def test_an_upload_declared_over_the_limit_is_refused_before_its_body_is_read(
    admin_browser,
) -> None:
    data = csv_bytes(row("", "T-0001", SECRET)).ljust(
        importing.MAX_BYTES + uploads.ENVELOPE_BYTES + 10, b"\n"
    )
    response = upload(admin_browser, data)
    assert response.status_code == 413
    assert "The file is larger than 5 MB" in response.content.decode()
    assert "_files" not in vars(response.wsgi_request)  # the multipart body was never parsed
    assert not HardwareToken.objects.exists()


def test_an_upload_still_needs_its_csrf_token(admin_browser) -> None:
    admin_browser.handler.enforce_csrf_checks = True
    response = upload(admin_browser, csv_bytes(row("", "T-0001", SECRET)))
    assert response.status_code == 403
    assert not HardwareToken.objects.exists()


def test_an_upload_that_is_not_utf8_gets_a_clear_message(admin_browser) -> None:
    data = csv_bytes(row("", "T-0001", SECRET, "30", "Société")).decode().encode("latin-1")
    page = upload(admin_browser, data).content.decode()
    assert "The file is not UTF-8 text" in page
    assert not HardwareToken.objects.exists()


def test_an_upload_without_a_file_asks_for_one(admin_browser) -> None:
    response = admin_browser.post(UPLOAD, {})
    assert response.status_code == 200
    assert 'class="field-error"' in response.content.decode()


def test_an_upload_goes_to_the_administrators_own_organisation(
    rival_browser, other_organisation
) -> None:
    upload(rival_browser, csv_bytes(row("", "T-0001", SECRET)))
    assert HardwareToken.objects.get().organisation == other_organisation


def test_an_upload_naming_another_organisations_user_assigns_nobody(rival_browser, user) -> None:
    page = upload(rival_browser, csv_bytes(row(user.username, "T-0001", SECRET))).content.decode()
    assert 'data-testid="import-refused-row" data-row="2"' in page
    assert not HardwareToken.objects.exists()


def test_an_upload_needs_a_recent_second_factor(admin) -> None:
    with_a_method(admin)
    stale = browser(admin.username, recent=False)
    response = upload(stale, csv_bytes(row("", "T-0001", SECRET)))
    assert response.status_code == 302
    assert "/account/verify" in response["Location"]
    assert list(HardwareToken.objects.values_list("serial", flat=True)) == ["ADMIN-1"]


# --- Assigning, unassigning, deleting ------------------------------------------------------


def test_assigning_gives_the_token_to_a_user_of_the_organisation(
    admin_browser, token, user
) -> None:
    response = admin_browser.post(token_url(token, "assign"), {"username": user.username})
    assert response.status_code == 302
    token.refresh_from_db()
    assert (token.user, token.activated_at) == (user, None)


def test_assigning_is_audited_without_the_full_serial(admin_browser, token, user, admin) -> None:
    admin_browser.post(token_url(token, "assign"), {"username": user.username})
    event = AuditEvent.objects.get(action=token_actions.CHANGED)
    assert (event.actor, event.subject, event.organisation_id) == (
        admin,
        user,
        token.organisation_id,
    )
    assert event.details == {"changes": "assigned", "serial": "…5678"}


def test_assigning_to_an_unknown_user_name_shows_an_error(admin_browser, token) -> None:
    response = admin_browser.post(token_url(token, "assign"), {"username": "ghost@contoso.example"})
    assert "There is no user with this user name in your organisation." in response.content.decode()
    token.refresh_from_db()
    assert token.user is None


def test_assigning_to_a_user_of_another_organisation_is_refused_like_an_unknown_name(
    admin_browser, token, rival
) -> None:
    response = admin_browser.post(token_url(token, "assign"), {"username": rival.username})
    assert "There is no user with this user name in your organisation." in response.content.decode()
    token.refresh_from_db()
    assert token.user is None
    assert denied_events() == 1


def test_an_assigned_token_must_be_unassigned_before_it_changes_hands(
    admin_browser, token, user, make_user
) -> None:
    admin_browser.post(token_url(token, "assign"), {"username": user.username})
    bob = make_user("bob@contoso.example")
    response = admin_browser.post(
        token_url(token, "assign"), {"username": bob.username}, follow=True
    )
    assert "Unassign it first" in response.content.decode()
    token.refresh_from_db()
    assert token.user == user


def test_unassigning_puts_the_token_back_in_stock_and_its_codes_stop_counting(
    admin_browser, organisation, admin, user
) -> None:
    (token,) = stock(organisation, row(user.username, "T-0001", SECRET), actor=admin)
    services.activate(user, token.pk, crypto.totp(SECRET, totp.clock()))
    assert base.find_option(user, "hardware_token") is not None
    admin_browser.post(token_url(token, "unassign"))
    token.refresh_from_db()
    assert (token.user, token.activated_at) == (None, None)
    assert base.find_option(user, "hardware_token") is None
    event = AuditEvent.objects.get(action=token_actions.CHANGED)
    assert (event.subject, event.details["changes"]) == (user, "unassigned")


def test_unassign_asks_for_confirmation_first(admin_browser, token, user, admin) -> None:
    services.assign(token, user.username, actor=admin)
    detail = admin_browser.get(token_url(token)).content.decode()
    assert f'href="{token_url(token, "unassign")}" data-testid="token-unassign"' in detail
    page = admin_browser.get(token_url(token, "unassign")).content.decode()
    assert 'data-testid="token-unassign-confirm"' in page
    assert user.username in page
    token.refresh_from_db()
    assert token.user == user


def test_the_unassign_page_of_a_token_in_stock_goes_back_to_the_token(admin_browser, token) -> None:
    response = admin_browser.get(token_url(token, "unassign"))
    assert response["Location"] == token_url(token)


def test_delete_asks_for_confirmation_first(admin_browser, token) -> None:
    page = admin_browser.get(token_url(token, "delete")).content.decode()
    assert 'data-testid="token-delete-confirm"' in page
    assert HardwareToken.objects.filter(pk=token.pk).exists()


def test_delete_removes_the_token_and_is_audited(admin_browser, token) -> None:
    response = admin_browser.post(token_url(token, "delete"))
    assert response.status_code == 302
    assert not HardwareToken.objects.filter(pk=token.pk).exists()
    event = AuditEvent.objects.get(action=token_actions.CHANGED)
    assert event.details == {"changes": "deleted", "serial": "…5678"}


def test_actions_need_a_recent_second_factor(admin, token, user) -> None:
    with_a_method(admin)
    stale = browser(admin.username, recent=False)
    response = stale.post(token_url(token, "assign"), {"username": user.username})
    assert response.status_code == 302
    assert "/account/verify" in response["Location"]
    token.refresh_from_db()
    assert token.user is None


# --- Another organisation's administrator ------------------------------------------------


@pytest.mark.parametrize(
    ("method", "action"), [("get", ""), ("get", "delete"), ("get", "unassign")]
)
def test_another_organisations_admin_cannot_see_a_token(
    rival_browser, token, method: str, action: str
) -> None:
    response = getattr(rival_browser, method)(token_url(token, action))
    assert response.status_code == 404
    assert "GALT12345678" not in response.content.decode()
    assert denied_events() == 1


@pytest.mark.parametrize("action", ["assign", "unassign", "delete"])
def test_another_organisations_admin_cannot_change_a_token(
    rival_browser, token, user, rival, action: str
) -> None:
    services.assign(token, user.username, actor=token.organisation.users.get(is_admin=True))
    response = rival_browser.post(token_url(token, action), {"username": rival.username})
    assert response.status_code == 404
    token.refresh_from_db()
    assert token.user == user
    assert denied_events() == 1


def test_a_token_that_does_not_exist_is_not_found(admin_browser) -> None:
    assert admin_browser.get(f"{LIST}999999").status_code == 404

"""The import page: administrators only, their own organisation only, links handed over once."""

from __future__ import annotations

import csv
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from conftest import AUTH_NUMBER, STRONG_PASSWORD
from twofold.accounts.models import User
from twofold.administration import importing
from twofold.adminportal import imports, uploads
from twofold.methods.phone import services as phone_services

from .conftest import signed_in_admin

pytestmark = pytest.mark.django_db

URL = "/admin-portal/import/"
HEADER = "user name,display name,e-mail,authentication phone,office phone,mfa state"
GOOD = ["bob@contoso.example,Bob,,(425) 555-0134,,enabled", "carol@contoso.example,Carol,,,,"]


def upload(*rows: str, data: bytes | None = None) -> SimpleUploadedFile:
    content = data if data is not None else ("\n".join([HEADER, *rows]) + "\n").encode()
    return SimpleUploadedFile("staff.csv", content, content_type="text/csv")


def imported() -> list[str]:
    return sorted(User.objects.filter(username__in=["bob@contoso.example", "carol@contoso.example",
                                                    "ivan@fabrikam.example"])
                  .values_list("username", flat=True))  # fmt: skip


def test_the_page_shows_the_upload_form(admin_client) -> None:
    body = admin_client.get(URL).content.decode()
    assert 'data-testid="import-form"' in body
    assert 'enctype="multipart/form-data"' in body


def test_an_ordinary_user_gets_403_and_imports_nothing(client, user) -> None:
    client.post("/signin", {"username": user.username})
    client.post("/signin/password", {"password": STRONG_PASSWORD})
    assert client.get(URL).status_code == 403
    assert client.post(URL, {"file": upload(*GOOD)}).status_code == 403
    assert imported() == []


def test_an_upload_creates_the_users_and_shows_the_report(admin_client) -> None:
    response = admin_client.post(URL, {"file": upload(*GOOD)})
    body = response.content.decode()
    assert 'data-testid="import-report"' in body
    assert '<dd data-testid="import-created">2</dd>' in body
    assert imported() == ["bob@contoso.example", "carol@contoso.example"]


def test_the_links_are_shown_once_on_the_result_page(admin_client) -> None:
    response = admin_client.post(URL, {"file": upload(*GOOD)})
    links = [made.link for made in response.context["report"].created]
    body = response.content.decode()
    assert all(link in body for link in links)
    assert "no-store" in response["Cache-Control"]


def test_refused_rows_are_listed_with_their_reasons(admin_client) -> None:
    rows = [*GOOD, "dan@contoso.example,Dan,,12,,", "=cmd|' /C calc'!A0,,,,,"]
    body = admin_client.post(URL, {"file": upload(*rows)}).content.decode()
    assert body.count('data-testid="import-refused-row"') == 2
    assert "This is not a valid phone number." in body
    assert "A cell may not start with =, +, - or @ (a spreadsheet formula)." in body


def test_users_are_created_only_in_the_admins_organisation(
    admin, admin_client, other_organisation
) -> None:
    response = admin_client.post(URL, {"file": upload(GOOD[0], "ivan@fabrikam.example,Ivan,,,,")})
    body = response.content.decode()
    assert "The user name&#x27;s domain does not belong to this organisation." in body
    assert imported() == ["bob@contoso.example"]
    assert User.objects.get(username="bob@contoso.example").organisation == admin.organisation


def test_another_organisations_admin_cannot_import_into_this_one(other_admin_client) -> None:
    other_admin_client.post(URL, {"file": upload(*GOOD)})
    assert imported() == []


def test_ticking_download_returns_the_results_as_a_csv_attachment(admin_client) -> None:
    response = admin_client.post(URL, {"file": upload(*GOOD, "bad,,,,,"), "download": "on"})
    assert response["Content-Disposition"] == 'attachment; filename="import-results.csv"'
    assert "no-store" in response["Cache-Control"]
    lines = list(csv.reader(io.StringIO(response.content.decode())))
    assert [line[:3] for line in lines[1:]] == [
        ["2", "bob@contoso.example", "created"],
        ["3", "carol@contoso.example", "created"],
        ["4", "bad", "refused"],
    ]
    assert all("/set-password/" in line[3] for line in lines[1:3])


def test_an_import_too_big_for_a_page_downloads_its_results(admin_client, monkeypatch) -> None:
    monkeypatch.setattr(imports, "MAX_LINKS_ON_PAGE", 1)
    response = admin_client.post(URL, {"file": upload(*GOOD)})
    assert response["Content-Type"] == "text/csv; charset=utf-8"


def test_a_file_over_the_upload_limit_is_refused(admin_client, monkeypatch) -> None:
    monkeypatch.setattr(importing, "MAX_BYTES", 100)
    response = admin_client.post(URL, {"file": upload(*GOOD, "x" * 100)})
    assert response.status_code == 400
    assert "The file is larger than" in response.content.decode()
    assert imported() == []


def test_a_file_declared_over_the_limit_is_refused_before_its_body_is_read(
    admin_client, monkeypatch
) -> None:
    monkeypatch.setattr(importing, "MAX_BYTES", 100)
    big = upload(*GOOD, "x" * (uploads.ENVELOPE_BYTES + 1000))
    response = admin_client.post(URL, {"file": big})
    assert response.status_code == 413
    assert "The file is larger than 0 MB. Split it into smaller files." in (
        response.content.decode()
    )
    assert "_files" not in vars(response.wsgi_request)  # the multipart body was never parsed
    assert imported() == []


def test_a_nul_in_an_upload_form_is_still_400(admin_client) -> None:
    response = admin_client.post(URL, {"file": upload(*GOOD), "download": "on\x00"})
    assert response.status_code == 400
    assert imported() == []


def test_an_upload_still_needs_its_csrf_token(admin_client) -> None:
    admin_client.handler.enforce_csrf_checks = True
    response = admin_client.post(URL, {"file": upload(*GOOD)})
    assert response.status_code == 403
    assert imported() == []


def test_a_file_that_is_not_utf8_is_refused_with_a_clear_message(admin_client) -> None:
    data = ("\n".join([HEADER, *GOOD, "zoé@contoso.example,Zoé,,,,"]) + "\n").encode("latin-1")
    response = admin_client.post(URL, {"file": upload(data=data)})
    assert response.status_code == 400
    assert "The file is not UTF-8 text (line 4)." in response.content.decode()
    assert imported() == []


def test_the_upload_needs_a_csrf_token(admin_client) -> None:
    admin_client.handler.enforce_csrf_checks = True
    assert admin_client.post(URL, {"file": upload(*GOOD)}).status_code == 403
    assert imported() == []


def test_an_upload_without_a_recent_second_factor_goes_to_step_up(admin) -> None:
    phone_services.set_number(admin, "authentication", AUTH_NUMBER, mode="text")
    client = signed_in_admin(admin.username, recent=False)
    response = client.post(URL, {"file": upload(*GOOD)})
    assert response["Location"].startswith("/account/verify")
    assert imported() == []


def test_refused_rows_beyond_the_page_limit_are_counted(admin_client, monkeypatch) -> None:
    monkeypatch.setattr(imports, "MAX_REFUSALS_ON_PAGE", 1)
    body = admin_client.post(URL, {"file": upload("bad,,,,,", "worse,,,,,")}).content.decode()
    assert body.count('data-testid="import-refused-row"') == 1
    assert "And 1 more refused row, not shown." in body

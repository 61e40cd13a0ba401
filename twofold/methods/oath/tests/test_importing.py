"""Importing tokens from a vendor's CSV file: good, bad and hostile rows, row by row."""

import base64

import pytest
from django.db import connection

from twofold.audit.models import AuditEvent, AuditResult
from twofold.core import crypto
from twofold.methods.oath import actions as token_actions
from twofold.methods.oath import importing
from twofold.methods.oath.importing import ImportRefused, decode_secret, import_tokens
from twofold.methods.oath.models import HardwareToken
from twofold.methods.oath.tests.conftest import HEADER, csv_bytes, row

pytestmark = pytest.mark.django_db

SECRET = bytes(range(1, 21))  # 160 bits


def stocked_serials(organisation) -> list[str]:
    return list(
        HardwareToken.objects.filter(organisation=organisation)
        .order_by("serial")
        .values_list("serial", flat=True)
    )


def refused_rows(report) -> dict[int, str]:
    return {refused.row: refused.message for refused in report.refused}


# --- Good rows ---------------------------------------------------------------------------


def test_good_rows_are_added_and_assigned_to_users_of_the_organisation(
    organisation, admin, user
) -> None:
    data = csv_bytes(row(user.username, "T-0001", SECRET), row("", "T-0002", SECRET, "60"))
    report = import_tokens(organisation, data, admin)
    assert [(r.row, r.serial, r.username) for r in report.imported] == [
        (2, "T-0001", user.username),
        (3, "T-0002", ""),
    ]
    first, second = HardwareToken.objects.order_by("serial")
    assert (first.user, first.period, first.manufacturer, first.model) == (
        user,
        30,
        "Acme",
        "TOTP-6",
    )
    assert (second.user, second.period) == (None, 60)


def test_an_imported_token_waits_for_its_user_to_activate_it(organisation, admin, user) -> None:
    import_tokens(organisation, csv_bytes(row(user.username, "T-0001", SECRET)), admin)
    assert HardwareToken.objects.get().activated_at is None


def test_user_names_are_matched_without_regard_to_case_or_surrounding_space(
    organisation, admin, user
) -> None:
    data = csv_bytes(row("  ALICE@Contoso.example ", "T-0001", SECRET))
    import_tokens(organisation, data, admin)
    assert HardwareToken.objects.get().user == user


def test_a_secret_in_base32_is_read_as_the_same_key_as_in_hex(organisation, admin) -> None:
    in_base32 = base64.b32encode(SECRET).decode().rstrip("=").lower()
    data = csv_bytes(row("", "T-HEX", SECRET.hex()), row("", "T-B32", in_base32))
    import_tokens(organisation, data, admin)
    keys = {token.serial: crypto.decrypt(token.secret) for token in HardwareToken.objects.all()}
    assert keys == {"T-HEX": SECRET, "T-B32": SECRET}


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        ("0102 0304 0506 0708 090a 0b0c 0d0e 0f10", bytes(range(1, 17))),
        ("aeba gbaf aydq qcik bmga 2dqp cair eeyu culb ogaz dinr yhi6", bytes(range(1, 31))),
        ("GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ====", b"12345678901234567890"),
    ],
)
def test_secrets_may_be_grouped_with_spaces_or_padded(written: str, expected: bytes) -> None:
    assert decode_secret(written) == expected


def test_the_secret_is_encrypted_at_rest(organisation, admin) -> None:
    import_tokens(organisation, csv_bytes(row("", "T-0001", SECRET)), admin)
    with connection.cursor() as cursor:
        cursor.execute("SELECT secret FROM oath_hardwaretoken")
        (stored,) = cursor.fetchone()
    assert SECRET.hex() not in stored.lower()
    assert base64.b32encode(SECRET).decode().rstrip("=") not in stored.upper()
    assert crypto.decrypt(stored) == SECRET


def test_a_quoted_cell_may_hold_a_comma(organisation, admin) -> None:
    data = csv_bytes(f'"",T-0001,{SECRET.hex()},30,"Acme, Inc.",TOTP-6')
    import_tokens(organisation, data, admin)
    assert HardwareToken.objects.get().manufacturer == "Acme, Inc."


def test_manufacturer_and_model_may_be_left_out(organisation, admin) -> None:
    report = import_tokens(organisation, csv_bytes(f",T-0001,{SECRET.hex()},30"), admin)
    assert len(report.imported) == 1
    assert HardwareToken.objects.get().manufacturer == ""


def test_a_file_with_a_byte_order_mark_is_read(organisation, admin) -> None:
    data = "\ufeff".encode() + csv_bytes(row("", "T-0001", SECRET)).replace(b"\n", b"\r\n")
    report = import_tokens(organisation, data, admin)
    assert [r.serial for r in report.imported] == ["T-0001"]


def test_the_same_serial_may_be_in_another_organisations_stock(
    organisation, other_organisation, admin
) -> None:
    import_tokens(other_organisation, csv_bytes(row("", "T-0001", SECRET)), admin)
    report = import_tokens(organisation, csv_bytes(row("", "T-0001", SECRET)), admin)
    assert len(report.imported) == 1


# --- Refused rows ------------------------------------------------------------------------


def test_an_unknown_user_name_refuses_the_row_and_says_so(organisation, admin) -> None:
    data = csv_bytes(row("nobody@contoso.example", "T-0001", SECRET))
    report = import_tokens(organisation, data, admin)
    assert refused_rows(report) == {
        2: "There is no user named “nobody@contoso.example” in your organisation."
    }
    assert not HardwareToken.objects.exists()


def test_a_user_of_another_organisation_is_refused_like_an_unknown_name(
    organisation, other_organisation, admin, make_user
) -> None:
    make_user("bob@fabrikam.example", organisation=other_organisation)
    data = csv_bytes(
        row("bob@fabrikam.example", "T-0001", SECRET),
        row("carol@fabrikam.example", "T-0002", SECRET),
    )
    report = import_tokens(organisation, data, admin)
    messages = refused_rows(report)
    assert messages[2] == messages[3].replace("carol", "bob")
    assert not HardwareToken.objects.exists()


def test_a_serial_already_in_stock_is_refused(organisation, admin) -> None:
    import_tokens(organisation, csv_bytes(row("", "T-0001", SECRET)), admin)
    report = import_tokens(organisation, csv_bytes(row("", "T-0001", SECRET)), admin)
    assert refused_rows(report) == {2: "A token with this serial number is already in your stock."}
    assert HardwareToken.objects.count() == 1


def test_a_serial_repeated_in_the_file_is_refused_on_its_later_row(organisation, admin) -> None:
    data = csv_bytes(row("", "T-0001", SECRET), row("", "T-0001", SECRET))
    report = import_tokens(organisation, data, admin)
    assert [r.row for r in report.imported] == [2]
    assert refused_rows(report) == {3: "The serial number is already on row 2 of this file."}


@pytest.mark.parametrize(
    "secret",
    [
        "",
        "not a secret",
        "0102030405060708090a0b0c0d0e0f1",  # odd hex length, and 1 is not Base32
        "0102030405060708090a0b0c0d0e0f",  # 120 bits: too short
        "JBSWY3DPEHPK3PXP",  # 80 bits: too short
        "AA" * 65,  # 520 bits: too long
        "=CMD|' /C calc'!A0",
        "GEZDGNBV=GY3TQOJQ",  # padding in the middle
    ],
)
def test_a_bad_secret_refuses_the_row(organisation, admin, secret: str) -> None:
    report = import_tokens(organisation, csv_bytes(f',T-0001,"{secret}",30'), admin)
    assert "secret key" in refused_rows(report)[2]
    assert not HardwareToken.objects.exists()


def test_the_report_never_repeats_the_secret(organisation, admin) -> None:
    secret = "0102030405060708090a0b0c0d0e0f"  # too short, so refused
    report = import_tokens(organisation, csv_bytes(f",T-0001,{secret},45"), admin)
    assert secret not in refused_rows(report)[2]


@pytest.mark.parametrize("interval", ["", "45", "30.0", "30s", "=30", "-30", "0x1e"])
def test_a_time_interval_other_than_30_or_60_refuses_the_row(
    organisation, admin, interval: str
) -> None:
    report = import_tokens(organisation, csv_bytes(row("", "T-0001", SECRET, interval)), admin)
    assert refused_rows(report) == {2: "The time interval must be 30 or 60 (seconds)."}


def test_a_row_with_too_many_columns_is_refused(organisation, admin) -> None:
    data = csv_bytes(row("", "T-0001", SECRET) + ",extra")
    report = import_tokens(organisation, data, admin)
    assert refused_rows(report) == {2: "Too many columns: 7 instead of 6."}


def test_a_row_with_too_few_columns_is_refused(organisation, admin) -> None:
    report = import_tokens(organisation, csv_bytes(f",T-0001,{SECRET.hex()}"), admin)
    assert "Too few columns" in refused_rows(report)[2]


@pytest.mark.parametrize(
    ("column", "value"),
    [
        (0, "=cmd|' /C calc'!A0"),
        (1, '=HYPERLINK("http://evil.example")'),
        (1, "+1234"),
        (1, "-1234"),
        (1, "@SUM(A1)"),
        (2, "=0102030405060708090a0b0c0d0e0f1011121314"),
        (3, "=30"),
        (4, '=HYPERLINK("http://evil.example","Acme")'),
        (4, "+Acme"),
        (5, "-TOTP"),
        (5, "@TOTP"),
    ],
)
def test_a_formula_in_any_cell_is_data_and_refuses_the_row(
    organisation, admin, column: int, value: str
) -> None:
    cells = ["", "T-0001", SECRET.hex(), "30", "Acme", "TOTP-6"]
    cells[column] = '"' + value.replace('"', '""') + '"'
    report = import_tokens(organisation, csv_bytes(",".join(cells)), admin)
    assert list(refused_rows(report)) == [2]
    assert not HardwareToken.objects.exists()


def test_a_control_character_in_free_text_refuses_the_row(organisation, admin) -> None:
    data = csv_bytes(row("", "T-0001", SECRET, "30", "Ac\x00me", "TOTP-6"))
    report = import_tokens(organisation, data, admin)
    assert "manufacturer" in refused_rows(report)[2]


def test_every_problem_of_a_row_is_reported(organisation, admin) -> None:
    report = import_tokens(organisation, csv_bytes("ghost@contoso.example,T 1,zz,45"), admin)
    message = refused_rows(report)[2]
    for part in ("no user named", "serial number", "secret key", "time interval"):
        assert part in message


def test_refused_rows_change_nothing_while_good_rows_are_saved(organisation, admin, user) -> None:
    data = csv_bytes(
        row(user.username, "T-0001", SECRET),
        row("ghost@contoso.example", "T-0002", SECRET),
        "",
        row(user.username, "T-0003", "zz"),
        row("", "T-0004", SECRET, "60"),
    )
    report = import_tokens(organisation, data, admin)
    assert [r.row for r in report.imported] == [2, 6]
    assert sorted(refused_rows(report)) == [3, 5]  # row 4 is blank, yet still counted
    assert stocked_serials(organisation) == ["T-0001", "T-0004"]


# --- Refused files -----------------------------------------------------------------------


def test_a_file_over_the_size_limit_is_refused_with_a_clear_message(organisation, admin) -> None:
    data = csv_bytes(row("", "T-0001", SECRET)).ljust(importing.MAX_BYTES + 1, b"\n")
    with pytest.raises(ImportRefused, match="larger than 5 MB"):
        import_tokens(organisation, data, admin)
    assert not HardwareToken.objects.exists()


@pytest.mark.parametrize("encoding", ["latin-1", "utf-16"])
def test_a_file_that_is_not_utf8_is_refused_with_a_clear_message(
    organisation, admin, encoding: str
) -> None:
    text = csv_bytes(row("", "T-0001", SECRET, "30", "Société Générale")).decode()
    with pytest.raises(ImportRefused, match="not UTF-8"):
        import_tokens(organisation, text.encode(encoding), admin)


def test_a_file_without_the_header_row_is_refused(organisation, admin) -> None:
    with pytest.raises(ImportRefused, match="first row must name the columns"):
        import_tokens(organisation, row("", "T-0001", SECRET).encode(), admin)
    assert not HardwareToken.objects.exists()


def test_a_file_separated_by_semicolons_is_refused_with_a_hint(organisation, admin) -> None:
    data = csv_bytes(header=HEADER.replace(",", ";"))
    with pytest.raises(ImportRefused, match="commas, not semicolons"):
        import_tokens(organisation, data, admin)


@pytest.mark.parametrize("data", [b"", b"\n\n", "\ufeff".encode()])
def test_an_empty_file_is_refused(organisation, admin, data: bytes) -> None:
    with pytest.raises(ImportRefused, match="empty"):
        import_tokens(organisation, data, admin)


def test_a_file_with_too_many_rows_is_refused_whole(organisation, admin, monkeypatch) -> None:
    monkeypatch.setattr(importing, "MAX_ROWS", 2)
    data = csv_bytes(*(row("", f"T-000{n}", SECRET) for n in range(3)))
    with pytest.raises(ImportRefused, match="more than 2 tokens"):
        import_tokens(organisation, data, admin)
    assert not HardwareToken.objects.exists()


# --- Audit -------------------------------------------------------------------------------


def test_the_import_is_audited_with_its_counts(organisation, admin, user) -> None:
    data = csv_bytes(
        row(user.username, "T-0001", SECRET), row("", "T-0002", SECRET), row("", "T-0003", "zz")
    )
    import_tokens(organisation, data, admin)
    event = AuditEvent.objects.get(action=token_actions.IMPORTED)
    assert (event.result, event.actor, event.organisation_id) == (
        AuditResult.SUCCESS,
        admin,
        organisation.pk,
    )
    assert event.details == {"count": 2, "assigned": 1, "refused": 1}


def test_a_refused_file_is_audited_as_a_failure(organisation, admin) -> None:
    with pytest.raises(ImportRefused):
        import_tokens(organisation, b"\xff\xfe\x00", admin)
    event = AuditEvent.objects.get(action=token_actions.IMPORTED)
    assert event.result == AuditResult.FAILURE
    assert event.details == {"count": 0, "reason": "not UTF-8"}

"""Importing users from CSV: good, bad and hostile rows, the links, and the command."""

from __future__ import annotations

import csv
import io
import stat
from urllib.parse import urlsplit

import pytest
from django.core.management import CommandError, call_command

from twofold.accounts.models import User
from twofold.administration import importing
from twofold.administration.importing import ImportFileError, import_users
from twofold.audit.models import AuditAction, AuditEvent
from twofold.methods.phone.models import Phone

pytestmark = pytest.mark.django_db

HEADER = "user name,display name,e-mail,authentication phone,office phone,mfa state"
BOB = "bob@contoso.example,Bob Example,bob@mail.example,(425) 555-0134,,enabled"
CAROL = "carol@contoso.example,Carol,,,,"
NEW_PASSWORD = "violet kitchen telescope morning"
FORMULA_MESSAGE = "A cell may not start with =, +, - or @ (a spreadsheet formula)."


def csv_file(*rows: str, header: str = HEADER) -> bytes:
    return ("\n".join([header, *rows]) + "\n").encode()


def problems_of(report: importing.ImportReport) -> dict[int, dict[str, str]]:
    return {
        refused.row: {problem.column: problem.message for problem in refused.problems}
        for refused in report.refused
    }


# Good rows.


def test_good_rows_create_users_with_their_details(organisation) -> None:
    report = import_users(organisation, csv_file(BOB, CAROL))
    bob = User.objects.get(username="bob@contoso.example")
    assert (bob.organisation, bob.display_name, bob.email, bob.mfa_state) == (
        organisation,
        "Bob Example",
        "bob@mail.example",
        "enabled",
    )
    assert [made.username for made in report.created] == [
        "bob@contoso.example",
        "carol@contoso.example",
    ]


def test_user_names_are_stored_in_lower_case(organisation) -> None:
    import_users(organisation, csv_file("Dave@Contoso.Example,Dave,,,,"))
    assert User.objects.filter(username="dave@contoso.example").exists()


def test_phones_are_stored_in_e164_in_their_roles(organisation) -> None:
    import_users(organisation, csv_file(f"{BOB[:-8]}(425) 555-0199,enabled"))
    phones = {
        phone.role: phone for phone in Phone.objects.filter(user__username="bob@contoso.example")
    }
    assert phones["authentication"].number == "+14255550134"
    assert phones["authentication"].mode == "text"
    assert phones["office"].number == "+14255550199"


def test_a_number_written_with_another_countrys_code_is_accepted(organisation) -> None:
    import_users(organisation, csv_file("erin@contoso.example,Erin,,+44 20 7946 0958,,"))
    assert Phone.objects.get(user__username="erin@contoso.example").number == "+442079460958"


def test_an_office_phone_keeps_its_extension(organisation) -> None:
    import_users(organisation, csv_file("fay@contoso.example,Fay,,,(425) 555-0199 ext. 42,"))
    office = Phone.objects.get(user__username="fay@contoso.example", role="office")
    assert (office.number, office.extension) == ("+14255550199", "42")


def test_an_empty_mfa_state_means_disabled(organisation) -> None:
    import_users(organisation, csv_file(CAROL))
    assert User.objects.get(username="carol@contoso.example").mfa_state == "disabled"


def test_the_mfa_state_may_be_written_in_capitals(organisation) -> None:
    import_users(organisation, csv_file("gus@contoso.example,Gus,,,,Enforced"))
    assert User.objects.get(username="gus@contoso.example").mfa_state == "enforced"


def test_rows_may_be_given_as_lists_with_the_header_first(organisation) -> None:
    rows = [HEADER.split(","), CAROL.split(",")]
    assert len(import_users(organisation, rows).created) == 1


# Passwords, links and audit.


def test_imported_users_have_no_usable_password(organisation) -> None:
    import_users(organisation, csv_file(BOB, CAROL))
    assert not any(user.has_usable_password() for user in User.objects.all())


def test_each_created_user_gets_a_set_password_link(organisation, settings) -> None:
    report = import_users(organisation, csv_file(BOB, CAROL))
    links = [made.link for made in report.created]
    assert len(set(links)) == 2
    assert all(link.startswith(f"{settings.TWOFOLD_BASE_URL}/set-password/") for link in links)


def test_the_link_lets_the_user_set_a_password_and_sign_in(organisation, client) -> None:
    report = import_users(organisation, csv_file(CAROL))
    page = client.get(urlsplit(report.created[0].link).path, follow=True)
    assert page.context["validlink"]
    done = client.post(
        page.redirect_chain[-1][0],
        {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )
    assert done["Location"] == "/set-password/done"
    client.post("/signin", {"username": "carol@contoso.example"})
    signed_in = client.post("/signin/password", {"password": NEW_PASSWORD})
    assert signed_in["Location"] == "/account"
    assert client.session["_auth_user_id"] == str(User.objects.get().pk)


def test_one_users_imported_event_is_written_per_created_user(organisation, make_user) -> None:
    admin = make_user("admin@contoso.example", is_admin=True)
    import_users(organisation, csv_file(BOB, CAROL, "not a user name,,,,,"), actor=admin)
    events = AuditEvent.objects.filter(action=AuditAction.USERS_IMPORTED)
    assert sorted(events.values_list("subject_label", flat=True)) == [
        "bob@contoso.example",
        "carol@contoso.example",
    ]
    assert {event.actor_id for event in events} == {admin.pk}


def test_no_audit_event_holds_a_phone_number(organisation) -> None:
    import_users(organisation, csv_file(BOB))
    event = AuditEvent.objects.get(action=AuditAction.USERS_IMPORTED)
    assert "5550134" not in str(event.details)


# Bad rows.


def test_a_refused_row_creates_nothing_while_the_good_rows_are_created(organisation) -> None:
    report = import_users(organisation, csv_file(CAROL, f"{BOB[:-8]}12,enabled"))
    assert not User.objects.filter(username="bob@contoso.example").exists()
    assert not Phone.objects.filter(number="+14255550134").exists()
    assert User.objects.filter(username="carol@contoso.example").exists()
    assert list(problems_of(report)[3]) == ["office phone"]


def test_every_problem_of_a_row_is_reported(organisation) -> None:
    report = import_users(organisation, csv_file("hal@contoso.example,Hal,not-an-email,,,maybe"))
    assert problems_of(report)[2] == {
        "e-mail": "Enter a valid e-mail address, or leave it empty.",
        "mfa state": "Use disabled, enabled or enforced, or leave it empty.",
    }


def test_a_user_name_repeated_in_the_file_is_refused_on_its_later_row(organisation) -> None:
    report = import_users(organisation, csv_file(CAROL, "CAROL@contoso.example,Carol 2,,,,"))
    assert problems_of(report) == {3: {"user name": "This user name is also on row 2."}}
    assert User.objects.get().display_name == "Carol"


def test_a_user_name_that_already_exists_is_refused(organisation, make_user) -> None:
    make_user("carol@contoso.example", display_name="The first Carol")
    report = import_users(organisation, csv_file(CAROL))
    assert problems_of(report) == {2: {"user name": "A user with this user name already exists."}}
    assert User.objects.get().display_name == "The first Carol"


def test_a_user_name_created_during_the_import_is_refused_not_a_crash(
    organisation, make_user, monkeypatch
) -> None:
    real_taken = importing._taken
    calls = []

    def taken_after_the_check(usernames):
        calls.append(usernames)
        if len(calls) == 1:  # the check saw it free; someone creates it before the insert
            make_user("carol@contoso.example", display_name="Created meanwhile")
            return set()
        return real_taken(usernames)

    monkeypatch.setattr(importing, "_taken", taken_after_the_check)
    report = import_users(organisation, csv_file(BOB, CAROL))
    assert [made.username for made in report.created] == ["bob@contoso.example"]
    assert problems_of(report) == {3: {"user name": "A user with this user name already exists."}}


def test_a_user_name_in_another_organisations_domain_is_refused(
    organisation, other_organisation
) -> None:
    report = import_users(organisation, csv_file("ivan@fabrikam.example,Ivan,,,,"))
    assert problems_of(report)[2] == {
        "user name": "The user name's domain does not belong to this organisation."
    }
    assert not User.objects.exists()


@pytest.mark.parametrize("name", ["ivan", "ivan@", "", "ivan@@contoso.example"])
def test_a_user_name_that_is_not_like_an_email_address_is_refused(organisation, name) -> None:
    report = import_users(organisation, csv_file(f"{name},Ivan,,,,"))
    assert problems_of(report)[2] == {
        "user name": "Enter a user name such as alice@contoso.example."
    }


@pytest.mark.parametrize(
    ("column", "number"),
    [
        ("authentication phone", "12"),
        ("authentication phone", "not a phone"),
        ("authentication phone", "+44 1"),
        ("office phone", "555"),
        ("office phone", "+999 123 456"),
    ],
)
def test_a_bad_phone_number_is_refused(organisation, column, number) -> None:
    cells = {"authentication phone": "", "office phone": ""} | {column: number}
    row = f"jo@contoso.example,Jo,,{cells['authentication phone']},{cells['office phone']},"
    report = import_users(organisation, csv_file(row))
    assert list(problems_of(report)[2]) == [column]
    assert "not a valid phone number" in problems_of(report)[2][column]


def test_an_authentication_phone_with_an_extension_is_refused(organisation) -> None:
    report = import_users(organisation, csv_file("jo@contoso.example,Jo,,(425) 555-0134 x12,,"))
    assert problems_of(report)[2] == {
        "authentication phone": "An authentication phone cannot have an extension."
    }


def test_a_display_name_over_150_characters_is_refused(organisation) -> None:
    report = import_users(organisation, csv_file(f"kim@contoso.example,{'K' * 151},,,,"))
    assert problems_of(report)[2] == {"display name": "Use at most 150 characters."}
    import_users(organisation, csv_file(f"kim@contoso.example,{'K' * 150},,,,"))
    assert User.objects.filter(username="kim@contoso.example").exists()


def test_a_row_with_too_few_cells_is_refused(organisation) -> None:
    report = import_users(organisation, csv_file("lee@contoso.example,Lee"))
    assert problems_of(report)[2] == {"": "This row has 2 cells; the first row names 6 columns."}


def test_blank_lines_are_skipped_and_rows_keep_their_spreadsheet_numbers(organisation) -> None:
    report = import_users(organisation, csv_file(CAROL, "", "bad,,,,,"))
    assert report.rows == 2
    assert list(problems_of(report)) == [4]


# Hostile rows.


@pytest.mark.parametrize(
    ("column", "row"),
    [
        ("user name", "=cmd|' /C calc'!A0@contoso.example,Mal,,,,"),
        ("user name", "+mal@contoso.example,Mal,,,,"),
        ("display name", 'mal@contoso.example,"=HYPERLINK(""http://evil.example"",""x"")",,,,'),
        ("display name", "mal@contoso.example,+SUM(1;2),,,,"),
        ("display name", "mal@contoso.example,-2+3,,,,"),
        ("display name", "mal@contoso.example,@SUM(A1),,,,"),
        ("e-mail", "mal@contoso.example,Mal,=cmd|x@mail.example,,,"),
        ("authentication phone", "mal@contoso.example,Mal,,=4255550134,,"),
        ("office phone", "mal@contoso.example,Mal,,,-4255550199,"),
        ("mfa state", "mal@contoso.example,Mal,,,,=enabled"),
    ],
)
def test_a_cell_starting_a_formula_is_refused_as_data(organisation, column, row) -> None:
    report = import_users(organisation, csv_file(row))
    assert problems_of(report)[2][column] == FORMULA_MESSAGE
    assert not User.objects.exists()


@pytest.mark.parametrize("display_name", ["Bob\x00", "Bob\x1b[31m", '"Bob\nSmith"'])
def test_a_cell_with_a_control_character_is_refused(organisation, display_name) -> None:
    report = import_users(organisation, csv_file(f"bob@contoso.example,{display_name},,,,"))
    assert list(problems_of(report)[2]) == ["display name"]
    assert not User.objects.exists()


def test_a_refused_user_name_is_shown_without_its_control_characters(organisation) -> None:
    report = import_users(organisation, csv_file("\x1b[2Jbob@contoso.example,Bob,,,,"))
    assert "\x1b" not in report.refused[0].username


# The file as a whole.


def test_a_utf8_byte_order_mark_is_tolerated(organisation) -> None:
    report = import_users(organisation, b"\xef\xbb\xbf" + csv_file(CAROL))
    assert len(report.created) == 1


def test_column_names_are_read_in_any_case_and_order(organisation) -> None:
    header = "MFA State,User Name,E-Mail,Display Name,Office Phone,Authentication Phone"
    import_users(organisation, csv_file("enabled,nia@contoso.example,,Nia,,", header=header))
    assert User.objects.get().mfa_state == "enabled"


def test_a_semicolon_separated_file_is_read(organisation) -> None:
    import_users(organisation, csv_file(CAROL.replace(",", ";"), header=HEADER.replace(",", ";")))
    assert User.objects.filter(username="carol@contoso.example").exists()


@pytest.mark.parametrize(
    "data",
    [
        csv_file(BOB, "zoé@contoso.example,Zoé,,,,").decode().encode("latin-1"),
        csv_file(BOB, CAROL).decode().encode("utf-16"),
    ],
    ids=["latin-1", "utf-16"],
)
def test_a_file_that_is_not_utf8_is_refused_and_nothing_is_imported(organisation, data) -> None:
    with pytest.raises(ImportFileError, match="UTF"):
        import_users(organisation, data)
    assert not User.objects.exists()


def test_a_file_over_the_size_limit_is_refused(organisation) -> None:
    huge = io.BytesIO(csv_file(CAROL) + b"x" * importing.MAX_BYTES)
    with pytest.raises(ImportFileError, match="larger than 20 MB"):
        import_users(organisation, huge)
    assert not User.objects.exists()


def test_a_file_over_the_row_limit_is_refused(organisation, monkeypatch) -> None:
    monkeypatch.setattr(importing, "MAX_ROWS", 2)
    with pytest.raises(ImportFileError, match="more than 2 rows"):
        import_users(organisation, csv_file(BOB, CAROL, "dan@contoso.example,,,,,"))
    assert not User.objects.exists()


def test_a_missing_column_is_named(organisation) -> None:
    with pytest.raises(ImportFileError, match="Missing columns: office phone"):
        import_users(
            organisation, csv_file("x,x,x,x,x", header=HEADER.replace(",office phone", ""))
        )


def test_an_extra_column_is_named(organisation) -> None:
    with pytest.raises(ImportFileError, match="Unknown columns: department"):
        import_users(organisation, csv_file(f"{CAROL},Sales", header=f"{HEADER},department"))


def test_a_file_without_a_header_row_is_refused(organisation) -> None:
    with pytest.raises(ImportFileError, match="first row must name these columns"):
        import_users(organisation, csv_file(CAROL, header=BOB))
    assert not User.objects.exists()


def test_an_empty_file_is_refused(organisation) -> None:
    with pytest.raises(ImportFileError, match="empty"):
        import_users(organisation, b"\n\n")


def test_a_file_with_broken_quotes_is_refused(organisation) -> None:
    with pytest.raises(ImportFileError, match="Line 3 cannot be read as CSV"):
        import_users(organisation, csv_file(CAROL, 'bob@contoso.example,"Bob"x,,,,'))
    assert not User.objects.exists()


def test_progress_is_reported_after_each_batch(organisation, monkeypatch) -> None:
    monkeypatch.setattr(importing, "BATCH_SIZE", 2)
    seen = []
    rows = [f"u{index}@contoso.example,,,,," for index in range(5)]
    import_users(
        organisation, csv_file(*rows), progress=lambda done, total: seen.append((done, total))
    )
    assert seen == [(0, 5), (2, 5), (4, 5), (5, 5)]


# The CSV files written for the administrator.


def test_the_links_csv_escapes_cells_that_would_start_a_formula() -> None:
    report = importing.ImportReport(
        rows=1,
        created=[importing.CreatedUser(2, "=cmd|' /C calc'!A0", "@http://x/set-password/a/b")],
    )
    out = io.StringIO()
    importing.write_links_csv(report, out)
    assert list(csv.reader(io.StringIO(out.getvalue()))) == [
        ["user name", "set-password link"],
        ["'=cmd|' /C calc'!A0", "'@http://x/set-password/a/b"],
    ]


def test_the_results_csv_lists_every_row_and_escapes_formula_cells(organisation) -> None:
    report = import_users(organisation, csv_file(CAROL, "-bad@contoso.example,,,,,"))
    out = io.StringIO()
    importing.write_results_csv(report, out)
    lines = list(csv.reader(io.StringIO(out.getvalue())))
    assert lines[1][:3] == ["2", "carol@contoso.example", "created"]
    assert lines[1][3] == report.created[0].link
    assert lines[2] == [
        "3",
        "'-bad@contoso.example",
        "refused",
        "",
        f"user name: {FORMULA_MESSAGE}",
    ]


# The `twofold users import` command.


@pytest.fixture
def users_csv(tmp_path):
    path = tmp_path / "staff.csv"
    path.write_bytes(csv_file(BOB, CAROL, "bad,,,,,"))
    return path


def run_import(*args: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("users", "import", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_the_command_writes_the_links_to_a_file_only_its_owner_can_read(
    organisation, users_csv
) -> None:
    run_import(str(users_csv), "--org", "contoso")
    links = users_csv.with_name("staff-links.csv")
    assert stat.S_IMODE(links.stat().st_mode) == 0o600
    rows = list(csv.reader(links.open()))
    assert [row[0] for row in rows] == ["user name", "bob@contoso.example", "carol@contoso.example"]
    assert all("/set-password/" in row[1] for row in rows[1:])


def test_the_command_writes_the_links_where_it_is_told(organisation, users_csv, tmp_path) -> None:
    run_import(str(users_csv), "--links", str(tmp_path / "out.csv"))
    assert len((tmp_path / "out.csv").read_text().splitlines()) == 3


def test_the_command_shows_a_progress_bar_on_stderr(organisation, users_csv) -> None:
    _out, err = run_import(str(users_csv))
    assert err.startswith("\r[")
    assert err.endswith("\r[##############################] 3/3 rows (100%)\n")


def test_the_command_prints_a_summary_and_the_refused_rows(organisation, users_csv) -> None:
    out, _err = run_import(str(users_csv))
    assert "2 users created, 1 of 3 rows refused." in out
    assert "row 4 (bad): user name: Enter a user name such as alice@contoso.example." in out


def test_the_command_uses_the_only_organisation_when_none_is_named(organisation, users_csv):
    run_import(str(users_csv))
    assert User.objects.filter(organisation=organisation).count() == 2


def test_the_command_asks_which_organisation_when_there_are_several(
    organisation, other_organisation, users_csv
) -> None:
    with pytest.raises(CommandError, match="--org: contoso, fabrikam"):
        run_import(str(users_csv))
    assert not User.objects.exists()


@pytest.mark.parametrize(
    "data", [b"\xff\xfe\x00garbage", b"just,some,columns\n"], ids=["encoding", "columns"]
)
def test_an_unusable_file_fails_the_command_and_leaves_no_links_file(
    organisation, tmp_path, data
) -> None:
    source = tmp_path / "staff.csv"
    source.write_bytes(data)
    with pytest.raises(CommandError, match="Nothing was imported"):
        run_import(str(source))
    assert not (tmp_path / "staff-links.csv").exists()


def test_an_existing_links_file_is_never_overwritten(organisation, users_csv) -> None:
    earlier = users_csv.with_name("staff-links.csv")
    earlier.write_text("links of an earlier import")
    with pytest.raises(CommandError, match="already exists"):
        run_import(str(users_csv))
    assert earlier.read_text() == "links of an earlier import"
    assert not User.objects.exists()


def test_a_missing_input_file_fails_the_command(organisation, tmp_path) -> None:
    with pytest.raises(CommandError, match="Cannot read"):
        run_import(str(tmp_path / "nowhere.csv"))


def test_twofold_users_runs_the_users_command(monkeypatch) -> None:
    from django.core import management

    from twofold import cli

    ran = []
    monkeypatch.setattr(management, "execute_from_command_line", ran.append)
    cli.main(["users", "import", "staff.csv", "--org", "contoso"])
    assert ran == [["twofold", "users", "import", "staff.csv", "--org", "contoso"]]

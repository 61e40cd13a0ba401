"""The audit page says when the hash chain was last verified; the CSV export carries the
digests, and the standalone verifier (examples/verify_audit_csv.py) checks it offline."""

import csv
import io
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import connection

from twofold.audit.models import AuditAction, AuditEvent, AuditResult
from twofold.audit.services import record

pytestmark = pytest.mark.django_db
VERIFIER = Path(__file__).resolve().parents[3] / "examples" / "verify_audit_csv.py"


def _export(admin_client, tmp_path: Path, query: str = "") -> Path:
    response = admin_client.get(f"/admin-portal/audit.csv{query}")
    path = tmp_path / "audit-log.csv"
    path.write_bytes(b"".join(response.streaming_content))
    return path


def _verify(path: Path, *options: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(VERIFIER), str(path), *options],
        capture_output=True,
        text=True,
        check=False,
    )


def _staff_events(admin) -> None:
    record(AuditAction.SIGNOUT, AuditResult.SUCCESS, subject=admin)
    record(AuditAction.USER_UPDATED, AuditResult.SUCCESS, actor=admin, subject_label="=cmd")
    for index in range(2):
        record(AuditAction.SIGNOUT, AuditResult.SUCCESS, subject=admin, index=index)


def test_an_exported_log_verifies_offline(admin_client, admin, tmp_path) -> None:
    _staff_events(admin)
    result = _verify(_export(admin_client, tmp_path))
    assert (result.returncode, result.stdout.splitlines()[-1].endswith("intact")) == (0, True)


def test_a_row_changed_in_the_database_is_named_by_the_offline_verifier(
    admin_client, admin, tmp_path
) -> None:
    _staff_events(admin)
    target = AuditEvent.objects.filter(action=AuditAction.SIGNOUT).order_by("id")[1]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("DROP TRIGGER audit_event_no_change ON audit_auditevent")
        else:
            cursor.execute("DROP TRIGGER audit_event_no_update")
        cursor.execute("UPDATE audit_auditevent SET result = 'failure' WHERE id = %s", [target.pk])
    result = _verify(_export(admin_client, tmp_path))
    assert result.returncode == 1
    assert f"event {target.pk}: its digest does not match its content" in result.stdout


def test_a_shown_cell_changed_in_the_file_is_found(admin_client, admin, tmp_path) -> None:
    _staff_events(admin)
    path = _export(admin_client, tmp_path)
    rows = list(csv.reader(io.StringIO(path.read_text())))
    rows[2][2] = "failure" if rows[2][2] != "failure" else "success"
    out = io.StringIO()
    csv.writer(out).writerows(rows)
    path.write_text(out.getvalue())
    result = _verify(path)
    assert (result.returncode, f"event {rows[2][8]}: result differs" in result.stdout) == (1, True)


def test_a_filtered_export_verifies_with_gaps_allowed(admin_client, admin, tmp_path) -> None:
    _staff_events(admin)
    path = _export(admin_client, tmp_path, "?action=signout")
    assert (_verify(path).returncode, _verify(path, "--allow-gaps").returncode) == (1, 0)


def test_the_audit_page_says_the_chain_was_never_verified(admin_client) -> None:
    body = admin_client.get("/admin-portal/audit").content.decode()
    assert "has not been verified yet" in body


def test_the_audit_page_shows_the_last_verification(admin_client, admin) -> None:
    _staff_events(admin)
    call_command("audit", "verify", "--org", admin.organisation.slug)
    body = admin_client.get("/admin-portal/audit").content.decode()
    assert ("Last verified:" in body, 'data-testid="chain-intact"' in body) == (True, True)

"""Organisation policy (audited before/after, logos checked) and the audit log."""

import csv
import io
import struct
import time
import zlib
import zoneinfo

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from twofold.accounts.models import User
from twofold.audit.models import AuditAction, AuditEvent, AuditResult
from twofold.audit.services import record
from twofold.core import context
from twofold.core.spreadsheet import escape_cell
from twofold.organisations.models import Organisation

pytestmark = pytest.mark.django_db
SVG = b'<svg xmlns="http://www.w3.org/2000/svg">'


def policy_data(organisation: Organisation, **changes) -> dict[str, object]:
    data = {
        "allowed_methods": organisation.allowed_methods,
        "remember_device_days": organisation.remember_device_days,
        "lockout_threshold": organisation.lockout_threshold,
        "lockout_window_minutes": organisation.lockout_window_minutes,
        "lockout_duration_minutes": organisation.lockout_duration_minutes,
        "fraud_report_enabled": "on",
        "fraud_report_blocks_user": "on",
        "trusted_ip_ranges": "",
        "reregistration_grace_days": 0,
        "session_idle_minutes": 30,
        "session_absolute_hours": 12,
        "display_name": "",
        "accent_colour": "#0b5cad",
        "help_desk_url": "",
        "custom_settings_url": "",
        "default_language": "en",
        "default_country": "US",
    }
    data.update(changes)
    return data


def png(width: int = 10, height: int = 10) -> bytes:
    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IEND", b"")


class TestPolicy:
    def test_a_change_is_saved_and_audited_with_before_and_after(
        self, admin_client, organisation
    ) -> None:
        data = policy_data(organisation, remember_device_days=30, lockout_threshold=5,
                           trusted_ip_ranges="10.0.0.0/8\n2001:db8::/32")  # fmt: skip
        admin_client.post("/admin-portal/policy", data)
        organisation.refresh_from_db()
        assert organisation.remember_device_days == 30
        assert organisation.trusted_ip_ranges == ["10.0.0.0/8", "2001:db8::/32"]
        event = AuditEvent.objects.get(action=AuditAction.POLICY_CHANGED)
        assert event.details["changes"]["remember_device_days"] == {"before": 14, "after": 30}
        assert event.details["changes"]["lockout_threshold"] == {"before": 10, "after": 5}

    @pytest.mark.parametrize(
        ("changes", "message"),
        [
            ({"trusted_ip_ranges": "10.0.0.0/33"}, "is not an IPv4 or IPv6 range"),
            ({"trusted_ip_ranges": "2001:db8::/129"}, "2001:db8::/129 is not an IPv4 or IPv6"),
            ({"trusted_ip_ranges": "2001:db8:::/32"}, "2001:db8:::/32 is not an IPv4 or IPv6"),
            ({"trusted_ip_ranges": "10.0.0.0/8\n2001:db8::/129"}, "is not an IPv4 or IPv6"),
            ({"remember_device_days": 366}, "less than or equal to 365"),
            ({"lockout_threshold": 101}, "less than or equal to 100"),
            ({"accent_colour": "red"}, "Enter a colour"),
            ({"allowed_methods": ["pigeon"]}, "Select a valid choice"),
        ],
    )
    def test_bad_values_are_refused_and_nothing_changes(
        self, admin_client, organisation, changes, message
    ) -> None:
        response = admin_client.post("/admin-portal/policy", policy_data(organisation, **changes))
        assert message in response.content.decode()
        organisation.refresh_from_db()
        assert organisation.remember_device_days == 14
        assert not AuditEvent.objects.filter(action=AuditAction.POLICY_CHANGED).exists()

    def test_a_png_logo_is_kept_and_served_sandboxed(self, admin_client, organisation, client):
        upload = SimpleUploadedFile("logo.png", png(), content_type="image/png")
        admin_client.post(
            "/admin-portal/policy", {**policy_data(organisation), "logo_file": upload}
        )
        response = client.get("/branding/contoso/logo")
        assert response["Content-Type"] == "image/png"
        assert "sandbox" in response["Content-Security-Policy"]

    @pytest.mark.parametrize(
        ("content", "message"),
        [
            (b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>', "scripts"),
            (b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"></svg>', "event handlers"),
            (b'<svg xmlns="http://www.w3.org/2000/svg"><image href="https://evil.example/x.png"/></svg>',
             "refer to other files"),
            (SVG + b'<style>@import url(https://evil.example/a.css);</style></svg>',
             "refer to other files"),
            (SVG + b'<style>rect { fill: url(http://evil.example/p) }</style></svg>',
             "refer to other files"),
            (SVG + b'<style><![CDATA[@IMPORT "https://evil.example/a.css";]]></style></svg>',
             "refer to other files"),
            (SVG + b'<style>rect { fill: \\75 rl(http://evil.example/p) }</style></svg>',
             "refer to other files"),
            (SVG + b'<rect style="fill: url ( \'http://evil.example/p\' )"/></svg>',
             "refer to other files"),
            (SVG + b'<rect filter="url(#a) url(https://evil.example/f.svg#x)"/></svg>',
             "refer to other files"),
            (SVG + b'<rect fill="\\75 rl(https://evil.example/p)"/></svg>',
             "refer to other files"),
            (b'<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY a "a">]><svg></svg>', "DTD"),
            (b"GIF89a....", "PNG or SVG"),
            (png(5000, 10), "2048 pixels"),
            (b"\x89PNG\r\n\x1a\n" + b"0" * 300_000, "256 KB"),
        ],
    )  # fmt: skip
    def test_unsafe_or_unsuitable_logos_are_refused(
        self, admin_client, organisation, content, message
    ) -> None:
        upload = SimpleUploadedFile("logo", content)
        response = admin_client.post(
            "/admin-portal/policy", {**policy_data(organisation), "logo_file": upload}
        )
        assert message in response.content.decode()
        organisation.refresh_from_db()
        assert not organisation.logo

    def test_an_svg_logo_whose_style_refers_only_to_itself_is_accepted(
        self, admin_client, organisation
    ) -> None:
        svg = (b'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10">'
               b'<defs><linearGradient id="g"/></defs><style>rect { fill: url(#g) }</style>'
               b'<rect width="10" height="10" style="stroke: url(#g)"/></svg>')  # fmt: skip
        upload = SimpleUploadedFile("logo.svg", svg)
        admin_client.post(
            "/admin-portal/policy", {**policy_data(organisation), "logo_file": upload}
        )
        organisation.refresh_from_db()
        assert organisation.logo_content_type == "image/svg+xml"

    def test_a_plain_svg_logo_is_accepted(self, admin_client, organisation) -> None:
        svg = (b'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10">'
               b'<rect width="10" height="10" fill="#0b5cad"/></svg>')  # fmt: skip
        upload = SimpleUploadedFile("logo.svg", svg)
        admin_client.post(
            "/admin-portal/policy", {**policy_data(organisation), "logo_file": upload}
        )
        organisation.refresh_from_db()
        assert organisation.logo_content_type == "image/svg+xml"


class TestAuditLog:
    def _event(self, user, correlation_id: str, result=AuditResult.SUCCESS):
        token = context.activate(context.RequestContext(correlation_id))
        try:
            return record(AuditAction.SIGNOUT, result, subject=user)
        finally:
            context.deactivate(token)

    def test_an_event_is_found_by_its_correlation_id(self, admin_client, staff) -> None:
        self._event(staff[0], "cid-wanted")
        self._event(staff[1], "cid-other")
        body = admin_client.get("/admin-portal/audit?correlation_id=cid-wanted").content.decode()
        assert "cid-wanted" in body
        assert "cid-other" not in body

    def test_filters_by_user_and_result(self, admin_client, staff) -> None:
        self._event(staff[0], "cid-a", AuditResult.FAILURE)
        self._event(staff[1], "cid-b")
        body = admin_client.get(
            "/admin-portal/audit?user=user00@contoso.example&result=failure"
        ).content.decode()
        assert "cid-a" in body
        assert "cid-b" not in body

    def test_filtering_by_a_user_lists_organisation_wide_events_labelled(
        self, admin_client, admin, staff, organisation
    ) -> None:
        from twofold.administration import services

        services.restore_remembered_devices_everywhere(organisation, actor=admin)
        self._event(staff[1], "cid-someone-else")
        body = admin_client.get("/admin-portal/audit?user=user00@contoso.example").content.decode()
        assert "Remembered devices forgotten" in body
        assert 'data-testid="organisation-wide"' in body
        assert "cid-someone-else" not in body

    def test_filters_by_action(self, admin_client, staff) -> None:
        self._event(staff[0], "cid-signout")
        token = context.activate(context.RequestContext("cid-unlocked"))
        try:
            record(AuditAction.USER_UNLOCKED, AuditResult.SUCCESS, subject=staff[0])
        finally:
            context.deactivate(token)
        body = admin_client.get("/admin-portal/audit?action=user.unlocked").content.decode()
        assert "cid-unlocked" in body
        assert "cid-signout" not in body

    def test_an_unknown_action_filter_shows_nothing_and_no_error(self, admin_client, staff):
        self._event(staff[0], "cid-any")
        response = admin_client.get("/admin-portal/audit?action=no.such.action")
        assert response.status_code == 200
        assert "cid-any" not in response.content.decode()

    def _before_and_after(self, staff) -> str:
        """An event, a moment (in Shanghai time, the administrator's zone), another event."""
        self._event(staff[0], "cid-earlier")
        time.sleep(0.01)
        moment = timezone.now().astimezone(zoneinfo.ZoneInfo("Asia/Shanghai"))
        time.sleep(0.01)
        self._event(staff[0], "cid-later")
        return moment.strftime("%Y-%m-%dT%H:%M:%S.%f")

    def test_since_and_until_filter_in_the_administrators_time_zone(
        self, admin_client, admin, staff
    ) -> None:
        User.objects.filter(pk=admin.pk).update(time_zone="Asia/Shanghai")
        moment = self._before_and_after(staff)
        since = admin_client.get(f"/admin-portal/audit?since={moment}").content.decode()
        assert ("cid-later" in since, "cid-earlier" in since) == (True, False)
        until = admin_client.get(f"/admin-portal/audit?until={moment}").content.decode()
        assert ("cid-later" in until, "cid-earlier" in until) == (False, True)

    def test_the_csv_export_holds_only_the_filtered_rows(self, admin_client, admin, staff):
        User.objects.filter(pk=admin.pk).update(time_zone="Asia/Shanghai")
        moment = self._before_and_after(staff)
        self._event(staff[1], "cid-someone-else")
        response = admin_client.get(
            f"/admin-portal/audit.csv?since={moment}&user=user00@contoso.example&action=signout"
        )
        rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
        assert [row[6] for row in rows[1:]] == ["cid-later"]

    def test_pages_go_back_in_time(self, admin_client, staff) -> None:
        from twofold.adminportal import auditlog

        auditlog.PAGE_SIZE, saved = 2, auditlog.PAGE_SIZE
        try:
            for index in range(5):
                self._event(staff[0], f"cid-page-{index}")
            first = admin_client.get("/admin-portal/audit?user=user00@contoso.example")
            body = first.content.decode()
            assert "cid-page-4" in body
            assert "cid-page-2" not in body
            older = first.context["next"]
            second = admin_client.get(
                f"/admin-portal/audit?user=user00@contoso.example&before={older}"
            )
            assert "cid-page-2" in second.content.decode()
        finally:
            auditlog.PAGE_SIZE = saved

    def test_the_csv_export_escapes_formulas_and_is_audited(self, admin_client, make_user) -> None:
        hostile = make_user("=cmd@contoso.example")
        self._event(hostile, "cid-csv")
        response = admin_client.get("/admin-portal/audit.csv?correlation_id=cid-csv")
        rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
        assert rows[1][4] == "'=cmd@contoso.example"
        assert AuditEvent.objects.filter(action=AuditAction.AUDIT_EXPORTED).exists()

    @pytest.mark.parametrize("cell", ["=1+1", "+1", "-1", "@SUM(A1)", "\tx"])
    def test_cells_that_a_spreadsheet_would_run_are_quoted(self, cell) -> None:
        assert escape_cell(cell) == "'" + cell
        assert escape_cell("plain") == "plain"

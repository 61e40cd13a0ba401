"""The admin portal's SIEM page: a webhook added with its secret shown once, removed,
audited, step-up protected, and scoped to the administrator's organisation."""

from __future__ import annotations

import pytest

from twofold.audit import forwarding
from twofold.audit.models import AuditAction, AuditEvent, ForwardDestination
from twofold.core import crypto

from .conftest import signed_in_admin

pytestmark = pytest.mark.django_db

PAGE = "/admin-portal/siem"
NEW = "/admin-portal/siem/new"
# An organisation's webhook must be a public address; nothing is sent in these tests.
URL = "https://8.8.8.8/twofold"


def test_an_added_webhook_shows_its_secret_once_and_stores_it_encrypted(admin_client) -> None:
    response = admin_client.post(NEW, {"url": URL})
    secret = response.context["secret"]
    stored = ForwardDestination.objects.get()
    assert secret.encode() == crypto.decrypt(stored.secret)
    assert secret not in stored.secret
    assert secret not in admin_client.get(PAGE).content.decode()


def test_adding_a_webhook_is_audited(admin_client, admin) -> None:
    admin_client.post(NEW, {"url": URL})
    assert AuditEvent.objects.filter(
        action=AuditAction.SIEM_WEBHOOK_ADDED, actor=admin, organisation=admin.organisation
    ).exists()


def test_a_webhook_that_is_not_http_is_refused_and_nothing_is_added(admin_client) -> None:
    response = admin_client.post(NEW, {"url": "ftp://siem.contoso.example/"})
    assert response.status_code == 200
    assert response.context["form"].errors["url"]
    assert not ForwardDestination.objects.exists()


def test_removing_a_webhook_is_audited(admin_client, admin) -> None:
    webhook, _ = forwarding.add_webhook(admin.organisation, URL)
    admin_client.post(f"/admin-portal/siem/{webhook.pk}/remove")
    assert not ForwardDestination.objects.exists()
    assert AuditEvent.objects.filter(action=AuditAction.SIEM_WEBHOOK_REMOVED, actor=admin).exists()


def test_another_organisations_webhook_cannot_be_removed(other_admin_client, admin) -> None:
    webhook, _ = forwarding.add_webhook(admin.organisation, URL)
    response = other_admin_client.post(f"/admin-portal/siem/{webhook.pk}/remove")
    assert response.status_code == 404
    assert ForwardDestination.objects.filter(pk=webhook.pk).exists()


def test_adding_a_webhook_needs_a_recent_second_factor(admin) -> None:
    client = signed_in_admin(admin.username, recent=False)
    client.post(NEW, {"url": URL})
    assert not ForwardDestination.objects.exists()


SYSLOG_NEW = "/admin-portal/siem/syslog/new"
SYSLOG_URL = "tcp+tls://8.8.8.8:6514"


def test_a_syslog_destination_is_added_from_the_page_and_audited(admin_client, admin) -> None:
    response = admin_client.post(
        SYSLOG_NEW, {"syslog-url": SYSLOG_URL, "syslog-start": "beginning"}, follow=True
    )
    destination = ForwardDestination.objects.get()
    first = AuditEvent.objects.filter(organisation=admin.organisation).order_by("id").first()
    assert (destination.kind, destination.url) == ("syslog", SYSLOG_URL)
    assert destination.cursor == first.pk - 1  # from the beginning of the retained log
    assert "The syslog destination is added." in response.content.decode()
    assert AuditEvent.objects.filter(
        action=AuditAction.SIEM_SYSLOG_ADDED, actor=admin, organisation=admin.organisation
    ).exists()


def test_a_syslog_destination_over_udp_is_refused_on_the_page(admin_client) -> None:
    response = admin_client.post(SYSLOG_NEW, {"syslog-url": "udp://8.8.8.8:514"})
    assert response.status_code == 200
    assert "tcp+tls://" in response.context["syslog_form"].errors["url"][0]
    assert not ForwardDestination.objects.exists()


def test_a_webhook_from_the_beginning_starts_before_the_organisations_first_event(
    admin_client, admin
) -> None:
    admin_client.post(NEW, {"url": URL, "start": "beginning"})
    first = AuditEvent.objects.filter(organisation=admin.organisation).order_by("id").first()
    assert ForwardDestination.objects.get().cursor == first.pk - 1


def test_the_page_shows_each_destinations_state(admin_client, admin) -> None:
    from django.utils import timezone

    webhook, _ = forwarding.add_webhook(admin.organisation, URL)
    since = timezone.now()
    ForwardDestination.objects.filter(pk=webhook.pk).update(
        failures=3, failing_since=since, last_error="webhook https://8.8.8.8:443: timed out"
    )
    page = admin_client.get(PAGE).content.decode()
    assert "Failing since" in page
    assert "(3 tries)" in page
    assert "webhook https://8.8.8.8:443: timed out" in page
    assert "Nothing yet" in page


def test_removing_a_syslog_destination_is_audited(admin_client, admin) -> None:
    destination = forwarding.add_syslog(admin.organisation, SYSLOG_URL)
    admin_client.post(f"/admin-portal/siem/{destination.pk}/remove")
    assert not ForwardDestination.objects.exists()
    assert AuditEvent.objects.filter(action=AuditAction.SIEM_SYSLOG_REMOVED, actor=admin).exists()

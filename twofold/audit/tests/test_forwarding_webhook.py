"""Audit events to a webhook: signed, in order, and nothing lost while the receiver is down."""

from __future__ import annotations

import hashlib
import hmac
import io
import json
import socket
import ssl
import threading
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from cryptography.fernet import Fernet
from django.test import override_settings
from django.utils import timezone

from twofold.audit import forwarding, transports
from twofold.audit.models import AuditAction, AuditEvent, AuditResult, ForwardDestination
from twofold.audit.services import record
from twofold.core.errors import InvalidInput

pytestmark = pytest.mark.django_db

SECRET = "a-webhook-secret-for-tests"


class Redirecting(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        self.send_response(302)
        self.send_header("Location", "/elsewhere")
        self.end_headers()

    def do_GET(self) -> None:
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


class Receiver:
    """A local webhook receiver (http.server in a thread) that can go down and come back."""

    def __init__(self) -> None:
        self.received: list[tuple[bytes, str]] = []
        self.port = 0
        self.server: ThreadingHTTPServer | None = None

    def start(self, context: ssl.SSLContext | None = None, address: str = "127.0.0.1") -> None:
        received = self.received

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                received.append((body, self.headers.get("X-Twofold-Signature", "")))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        ThreadingHTTPServer.allow_reuse_address = True
        self.server = ThreadingHTTPServer((address, self.port), Handler)
        if context is not None:
            self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        assert self.server is not None
        self.server.shutdown()
        self.server.server_close()

    @property
    def ids(self) -> list[int]:
        return [json.loads(body)["id"] for body, _ in self.received]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    receiver = Receiver()
    receiver.start()
    yield receiver
    if receiver.server is not None:
        receiver.server.server_close()


def _events(user, count: int) -> list[int]:
    return [record(AuditAction.SIGNOUT, AuditResult.SUCCESS, subject=user).pk for _ in range(count)]


def _installation_webhook(receiver: Receiver):
    return override_settings(
        TWOFOLD_WEBHOOK_URL=f"http://127.0.0.1:{receiver.port}/siem",
        TWOFOLD_WEBHOOK_SECRET=SECRET,
    )


def test_each_event_reaches_the_webhook_with_its_id(user, receiver) -> None:
    with _installation_webhook(receiver):
        forwarding.sync_installation_destinations()
        written = _events(user, 3)
        forwarding.forward_due()
    assert receiver.ids == written


def test_each_webhook_body_is_signed_with_the_secret(user, receiver) -> None:
    with _installation_webhook(receiver):
        forwarding.sync_installation_destinations()
        _events(user, 2)
        forwarding.forward_due()
    for body, signature in receiver.received:
        expected = hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
        assert signature == f"sha256={expected}"


def test_nothing_is_lost_while_the_webhook_receiver_is_down(user, receiver) -> None:
    with _installation_webhook(receiver):
        forwarding.sync_installation_destinations()
        written = _events(user, 2)
        receiver.stop()
        assert forwarding.forward_due() == 0
        written += _events(user, 3)
        receiver.start()  # back on the same port
        forwarding.forward_due(timezone.now() + timedelta(hours=1))
    assert receiver.ids == written


def test_a_failing_receiver_is_tried_again_only_after_a_growing_wait(user, receiver) -> None:
    with _installation_webhook(receiver):
        forwarding.sync_installation_destinations()
        _events(user, 1)
        receiver.stop()
        now = timezone.now()
        forwarding.forward_due(now)
        first = ForwardDestination.objects.get().next_attempt_at
        forwarding.forward_due(first)
        second = ForwardDestination.objects.get().next_attempt_at
    assert second - first > first - now


# The receiver listens on loopback: organisations' webhooks may go there only if the
# operator allows private addresses (by default they may not: see the tests below).
local_receiver_allowed = override_settings(TWOFOLD_SIEM_TO_PRIVATE_ADDRESSES=True)


@local_receiver_allowed
def test_an_organisations_webhook_receives_only_its_own_events(
    user, make_user, other_organisation, receiver
) -> None:
    forwarding.add_webhook(user.organisation, f"http://127.0.0.1:{receiver.port}/siem")
    mine = _events(user, 2)
    theirs = _events(make_user("bob@fabrikam.example", organisation=other_organisation), 2)
    forwarding.forward_due()
    assert set(mine) <= set(receiver.ids)
    assert not set(theirs) & set(receiver.ids)


@local_receiver_allowed
def test_an_organisations_webhook_is_signed_with_the_secret_shown_once(user, receiver) -> None:
    _, secret = forwarding.add_webhook(user.organisation, f"http://127.0.0.1:{receiver.port}/")
    _events(user, 1)
    forwarding.forward_due()
    body, signature = receiver.received[0]
    assert signature == "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def test_a_signing_secret_no_configured_key_opens_fails_the_destination_and_loses_nothing(
    user, receiver, settings
) -> None:
    """Another installation's keys: the destination says why it is failing and keeps its
    place (never an unsigned body, nor a crash of the sender), until the keys are right."""
    # The settings fixture, not local_receiver_allowed: the two restore in the wrong order.
    settings.TWOFOLD_SIEM_TO_PRIVATE_ADDRESSES = True
    forwarding.add_webhook(user.organisation, f"http://127.0.0.1:{receiver.port}/")
    written = _events(user, 1)
    ours = settings.TWOFOLD["encryption_keys"]
    settings.TWOFOLD = {**settings.TWOFOLD, "encryption_keys": (Fernet.generate_key().decode(),)}
    now = timezone.now()
    forwarding.forward_due(now)
    destination = ForwardDestination.objects.get()
    assert (receiver.ids, destination.failures) == ([], 1)
    assert "no configured encryption key opens it" in destination.last_error
    settings.TWOFOLD = {**settings.TWOFOLD, "encryption_keys": ours}
    forwarding.forward_due(now + timedelta(hours=1))
    assert written[0] in receiver.ids


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8080/",
        "http://localhost/",
        "http://10.0.0.7/",
        "http://192.168.1.1/",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]/",
        "http://[fd00::1]/",
        "http://no-such-host.invalid/",
    ],
)
def test_an_organisations_webhook_to_a_private_address_is_refused(user, url) -> None:
    with pytest.raises(InvalidInput, match="public server"):
        forwarding.add_webhook(user.organisation, url)
    assert not ForwardDestination.objects.exists()


def test_an_organisations_webhook_that_became_private_is_not_sent_to(user, receiver) -> None:
    with override_settings(TWOFOLD_SIEM_TO_PRIVATE_ADDRESSES=True):
        forwarding.add_webhook(user.organisation, f"http://127.0.0.1:{receiver.port}/siem")
    _events(user, 1)
    forwarding.forward_due()
    assert receiver.ids == []
    assert ForwardDestination.objects.get().failures == 1


@pytest.mark.parametrize(
    "url", ["file:///etc/passwd", "https://8.8.8.8:99999/", "https://8.8.8.8:port/"]
)
def test_an_organisations_webhook_must_be_an_http_address(user, url) -> None:
    with pytest.raises(InvalidInput):
        forwarding.add_webhook(user.organisation, url)
    assert not ForwardDestination.objects.exists()


def test_a_new_installation_webhook_starts_after_the_events_already_written(user, receiver) -> None:
    _events(user, 2)
    with _installation_webhook(receiver):
        forwarding.sync_installation_destinations()
        later = _events(user, 1)
        forwarding.forward_due()
    assert receiver.ids == later


def _with_a_gap(user) -> list[int]:
    """An event, an ID taken by a transaction that rolled back (PostgreSQL's sequences do
    not give it back), and an event after it."""
    from django.db import transaction

    first = _events(user, 1)
    try:
        with transaction.atomic():
            _events(user, 1)
            raise RuntimeError("rolled back")
    except RuntimeError:
        pass
    return first + _events(user, 1)


def test_the_sender_waits_at_a_gap_an_uncommitted_event_may_still_fill(user, receiver) -> None:
    with _installation_webhook(receiver):
        forwarding.sync_installation_destinations()
        first, after_gap = _with_a_gap(user)
        if after_gap == first + 1:
            pytest.skip("this database gives a rolled-back ID back: no gap")
        forwarding.forward_due()
    assert receiver.ids == [first]


def test_the_sender_moves_past_a_gap_once_it_is_older_than_any_transaction(user, receiver) -> None:
    with _installation_webhook(receiver):
        forwarding.sync_installation_destinations()
        written = _with_a_gap(user)
        forwarding.forward_due(timezone.now() + forwarding.GAP_GRACE * 2)
    assert receiver.ids == written


def test_a_webhook_that_redirects_has_not_received_the_event(user) -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Redirecting)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        with override_settings(
            TWOFOLD_WEBHOOK_URL=f"http://127.0.0.1:{server.server_address[1]}/",
            TWOFOLD_WEBHOOK_SECRET=SECRET,
        ):
            forwarding.sync_installation_destinations()
            _events(user, 1)
            forwarding.forward_due()
    finally:
        server.shutdown()
        server.server_close()
    assert ForwardDestination.objects.get().failures == 1


@local_receiver_allowed
def test_twofold_forward_once_sends_past_other_organisations_events(
    user, make_user, other_organisation, receiver
) -> None:
    from django.core.management import call_command

    forwarding.add_webhook(other_organisation, f"http://127.0.0.1:{receiver.port}/siem")
    forwarding.BATCH_SIZE, saved = 2, forwarding.BATCH_SIZE
    try:
        _events(user, 3)
        theirs = _events(make_user("bob@fabrikam.example", organisation=other_organisation), 1)
        call_command("forward", "--once", stdout=io.StringIO())
    finally:
        forwarding.BATCH_SIZE = saved
    assert receiver.ids[-1:] == theirs


def test_a_changed_installation_webhook_address_keeps_what_was_not_sent(user, receiver) -> None:
    with override_settings(
        TWOFOLD_WEBHOOK_URL="http://127.0.0.1:9/nothing-listens", TWOFOLD_WEBHOOK_SECRET=SECRET
    ):
        forwarding.sync_installation_destinations()
        written = _events(user, 2)
        forwarding.forward_due()
    with _installation_webhook(receiver):
        forwarding.forward_due(timezone.now() + timedelta(hours=1))
    assert receiver.ids == written


# --- Each destination's state (the SIEM and operator pages) ---------------------------------


def test_a_destination_behind_says_how_many_events_wait_and_since_when(user, receiver) -> None:
    with _installation_webhook(receiver):
        forwarding.sync_installation_destinations()
        written = _events(user, 3)
        (state,) = forwarding.states_of(None)
    assert (state.behind, state.behind_more) == (3, False)
    assert state.waiting_since == AuditEvent.objects.get(pk=written[0]).at
    assert state.destination.delivered_at is None


def test_a_failing_destination_says_its_last_error_and_since_when(user, receiver) -> None:
    with _installation_webhook(receiver):
        forwarding.sync_installation_destinations()
        _events(user, 1)
        receiver.stop()
        first_failure = timezone.now()
        forwarding.forward_due(first_failure)
        forwarding.forward_due(first_failure + timedelta(hours=1))
        (state,) = forwarding.states_of(None)
    destination = state.destination
    assert destination.failures == 2
    assert destination.failing_since == first_failure  # the first of the run, not the last
    assert destination.last_error.startswith(f"webhook http://127.0.0.1:{receiver.port}: ")
    assert "signout" not in destination.last_error  # nothing of the event itself
    assert state.behind == 1


def test_a_destination_that_caught_up_says_its_last_event_and_nothing_waits(user, receiver) -> None:
    with _installation_webhook(receiver):
        forwarding.sync_installation_destinations()
        receiver.stop()
        _events(user, 1)
        forwarding.forward_due()
        receiver.start()
        written = _events(user, 2)
        delivered = timezone.now() + timedelta(hours=1)
        forwarding.forward_due(delivered)
        (state,) = forwarding.states_of(None)
    destination = state.destination
    assert (destination.delivered_event_id, destination.delivered_at) == (written[-1], delivered)
    assert (destination.failures, destination.last_error, destination.failing_since) == (
        0,
        "",
        None,
    )
    assert (state.behind, state.waiting_since) == (0, None)


def test_an_organisations_destination_counts_only_its_own_events_as_waiting(
    user, make_user, other_organisation
) -> None:
    forwarding.add_webhook(user.organisation, "https://8.8.8.8/siem")
    _events(make_user("bob@fabrikam.example", organisation=other_organisation), 2)
    _events(user, 1)
    (state,) = forwarding.states_of(user.organisation)
    assert state.behind == 2  # the webhook's own "added" event, and Alice's


# --- From the next event, or from the beginning of the retained log -------------------------


@local_receiver_allowed
def test_a_new_organisations_webhook_starts_from_the_next_event_by_default(user, receiver) -> None:
    _events(user, 2)
    forwarding.add_webhook(user.organisation, f"http://127.0.0.1:{receiver.port}/siem")
    later = _events(user, 1)
    forwarding.forward_due()
    assert receiver.ids[-1:] == later
    assert set(receiver.ids) <= {later[0]} | set(
        AuditEvent.objects.filter(action=AuditAction.SIEM_WEBHOOK_ADDED).values_list(
            "pk", flat=True
        )
    )


@local_receiver_allowed
def test_a_new_organisations_webhook_from_the_beginning_gets_every_retained_event(
    user, make_user, other_organisation, receiver
) -> None:
    theirs = _events(make_user("bob@fabrikam.example", organisation=other_organisation), 1)
    before = _events(user, 2)
    forwarding.add_webhook(
        user.organisation,
        f"http://127.0.0.1:{receiver.port}/siem",
        start=forwarding.Start.BEGINNING,
    )
    after = _events(user, 1)
    while forwarding.forward_due():
        pass
    ours = list(
        AuditEvent.objects.filter(organisation=user.organisation)
        .order_by("id")
        .values_list("pk", flat=True)
    )
    assert receiver.ids == ours
    assert set(before + after) <= set(ours)
    assert not set(theirs) & set(receiver.ids)


def test_a_start_that_is_neither_is_refused(user) -> None:
    with pytest.raises(InvalidInput):
        forwarding.add_webhook(user.organisation, "https://8.8.8.8/siem", start="yesterday")
    assert not ForwardDestination.objects.exists()


# --- DNS rebinding: the address checked is the address connected to -------------------------


class Resolver:
    """A resolver this test controls, as a rebinding attacker's DNS server would be: the
    name answers each address in ``answers`` in turn (the last one from then on). Address
    literals resolve as usual. Installed in place of the system's (socket.getaddrinfo)."""

    def __init__(self, name: str, *answers: str) -> None:
        self.name, self.answers, self.asked = name, list(answers), 0
        self.system = socket.getaddrinfo

    def __call__(self, host, port, *args, **kwargs):
        if host != self.name:
            return self.system(host, port, *args, **kwargs)
        answer = self.answers[min(self.asked, len(self.answers) - 1)]
        self.asked += 1
        return self.system(answer, port, *args, **kwargs)


def test_a_webhook_is_sent_to_the_address_its_name_was_checked_at(
    user, receiver, monkeypatch
) -> None:
    """The name answers 127.0.0.1 (the receiver) when checked, 127.0.0.2 (another service,
    listening on the same port) on any later lookup: the event goes to the first."""
    other = Receiver()
    other.port = receiver.port
    other.start(address="127.0.0.2")
    # The test talks to loopback only: 127.0.0.1 stands for a public address here, and
    # 127.0.0.2 for a private one (the operator's network).
    monkeypatch.setattr(transports, "_is_public", lambda address: address == "127.0.0.1")
    # Checked when added, checked again when sent; any later lookup answers 127.0.0.2.
    resolver = Resolver("siem.contoso.example", "127.0.0.1", "127.0.0.1", "127.0.0.2")
    monkeypatch.setattr(socket, "getaddrinfo", resolver)
    try:
        forwarding.add_webhook(user.organisation, f"http://siem.contoso.example:{receiver.port}/")
        written = _events(user, 1)
        ForwardDestination.objects.update(cursor=written[0] - 1)  # this one event, one send
        forwarding.forward_due()
    finally:
        other.stop()
    assert receiver.ids == written
    assert other.ids == []
    assert resolver.asked == 2


def test_a_pinned_https_webhook_still_checks_the_certificate_against_the_name(
    user, monkeypatch, tmp_path
) -> None:
    """Connected to the checked address, TLS still verifies the name: a server whose
    certificate is for that name is received by; one for another name is not."""
    ca_pem, server = _tls_receiver(tmp_path, "siem.contoso.example")
    try:
        monkeypatch.setattr(socket, "getaddrinfo", Resolver("siem.contoso.example", "127.0.0.1"))
        with override_settings(TWOFOLD_SIEM_TO_PRIVATE_ADDRESSES=True):
            good = f"https://siem.contoso.example:{server.port}/"
            forwarding.add_webhook(user.organisation, good)
            ForwardDestination.objects.update(ca_pem=ca_pem)
            written = _events(user, 1)
            forwarding.forward_due()
            assert server.ids[-1:] == written
            monkeypatch.setattr(
                socket, "getaddrinfo", Resolver("other.contoso.example", "127.0.0.1")
            )
            ForwardDestination.objects.update(url=f"https://other.contoso.example:{server.port}/")
            before = len(server.received)
            _events(user, 1)
            forwarding.forward_due()
    finally:
        server.stop()
    assert len(server.received) == before
    assert "CERTIFICATE_VERIFY_FAILED" in ForwardDestination.objects.get().last_error


def _tls_receiver(folder, name: str) -> tuple[str, Receiver]:
    """A receiver over https with a certificate for ``name`` from a new test CA (PEM)."""
    from twofold.audit.tests.test_forwarding_syslog import _write_certificates

    _write_certificates(folder, name)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(folder / "server.pem", folder / "server.key")
    server = Receiver()
    server.start(context)
    return (folder / "ca.pem").read_text(), server

"""Access-Requests from pyrad's client to a running RADIUS front: the validate check's
rules (password, app passwords, codes appended or in a challenge round, push, lockout,
trusted addresses), protocol hygiene (silence, duplicates) and the audit trail."""

from __future__ import annotations

import socket
import threading

import pytest
from cryptography.fernet import Fernet
from django.test import Client as BrowserClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import STRONG_PASSWORD
from twofold.accounts import services as accounts
from twofold.accounts.models import MfaState
from twofold.audit.models import AuditAction, AuditEvent, AuditResult
from twofold.core import crypto
from twofold.core.ratelimit import integration_ceiling
from twofold.directory import devslapd
from twofold.directory import services as directory_services
from twofold.directory.models import DirectoryAccount
from twofold.methods import verification
from twofold.methods.app_passwords import services as app_passwords
from twofold.methods.authenticator import activation
from twofold.methods.authenticator.models import PushNotice
from twofold.methods.authenticator.tests.phone_app import PhoneApp
from twofold.methods.models import Challenge
from twofold.methods.phone import services as phones
from twofold.methods.recovery import services as recovery
from twofold.radius import answers, clients, server
from twofold.radius.models import RadiusClient
from twofold.radius.server import Server
from twofold.radius.tests.conftest import SILENCE_SECONDS, ask, request_packet

pytestmark = pytest.mark.django_db(transaction=True)

ALICE, BOB = "alice@contoso.example", "bob@contoso.example"
#: A password whose tail reads as an app code.
DIGITS_PASSWORD = "lighthouse keeper 204817"


def events(action: AuditAction) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action=action).order_by("id"))


def dropped_events() -> list[AuditEvent]:
    """The drop events, once a worker has written one (a silence has no reply to wait for)."""
    for _ in range(200):
        found = events(AuditAction.RADIUS_DROPPED)
        if found:
            return found
        threading.Event().wait(0.05)
    return []


class TestPassword:
    def test_a_user_without_two_step_verification_is_accepted_with_the_replies_attributes(
        self, organisation, radius_admin, radius_port, make_user
    ) -> None:
        make_user(ALICE)
        _client, secret = clients.create(
            organisation,
            "VPN",
            "127.0.0.1",
            actor=radius_admin,
            reply_class="staff",
            reply_filter_id="vpn-staff",
        )
        reply = ask(radius_port, secret, ALICE, STRONG_PASSWORD)
        assert reply.accepted
        assert (reply.packet["Class"], reply.packet["Filter-Id"]) == ([b"staff"], ["vpn-staff"])

    def test_a_wrong_password_is_rejected_with_a_reply_message(self, gateway, make_user) -> None:
        make_user(ALICE)
        reply = gateway.ask(ALICE, "not the password")
        assert reply.rejected
        assert reply.message == "Your user name or password is incorrect."

    def test_an_unknown_user_is_rejected_as_a_wrong_password(self, gateway) -> None:
        reply = gateway.ask("nobody@contoso.example", STRONG_PASSWORD)
        assert (reply.rejected, reply.message) == (True, "Your user name or password is incorrect.")

    @pytest.mark.parametrize(
        ("user", "password"),
        [("ali\x00ce@contoso.example", STRONG_PASSWORD), (ALICE, "pass\x00word"), (ALICE, None)],
    )
    def test_a_nul_or_no_password_is_rejected_with_a_reply_message(
        self, gateway, make_user, user, password
    ) -> None:
        make_user(ALICE)
        reply = gateway.ask(user, password)
        assert (reply.rejected, reply.message) == (True, "Send a user name and a password (PAP).")

    def test_an_app_password_is_accepted(self, gateway, texted, organisation) -> None:
        organisation.allow_app_passwords = True
        organisation.save()
        _app, password = app_passwords.create(texted, "VPN")
        assert gateway.ask(ALICE, password).accepted

    def test_the_request_is_audited_with_the_client_as_actor(self, gateway, make_user) -> None:
        make_user(ALICE)
        gateway.ask(ALICE, STRONG_PASSWORD)
        (event,) = events(AuditAction.RADIUS_REQUEST)
        assert (event.actor_label, event.subject_label) == ("radius:VPN", ALICE)
        assert event.result == AuditResult.SUCCESS
        # The password check wrote its own event under the request's correlation ID.
        password = AuditEvent.objects.get(action=AuditAction.SIGNIN_PASSWORD)
        assert password.correlation_id == event.correlation_id


class TestSilence:
    def test_a_wrong_shared_secret_gets_no_answer_and_is_audited(self, gateway, make_user) -> None:
        make_user(ALICE)
        reply = ask(gateway.port, "not the secret", ALICE, STRONG_PASSWORD, wait=SILENCE_SECONDS)
        assert reply is None
        (dropped,) = dropped_events()
        assert (dropped.actor_label, dropped.result) == ("radius:VPN", AuditResult.DENIED)

    def test_a_request_without_message_authenticator_gets_no_answer(
        self, gateway, make_user
    ) -> None:
        make_user(ALICE)
        reply = gateway.ask(
            ALICE, STRONG_PASSWORD, message_authenticator=False, wait=SILENCE_SECONDS
        )
        assert reply is None
        assert events(AuditAction.RADIUS_REQUEST) == []

    def test_a_packet_from_an_address_of_no_client_gets_no_answer(
        self, organisation, radius_admin, radius_port, make_user
    ) -> None:
        make_user(ALICE)
        _client, secret = clients.create(organisation, "VPN", "127.0.0.2", actor=radius_admin)
        assert ask(radius_port, secret, ALICE, STRONG_PASSWORD, wait=SILENCE_SECONDS) is None
        (dropped,) = dropped_events()
        assert (dropped.actor_label, dropped.details["reason"]) == (
            "radius:unknown",
            "unknown source",
        )

    def test_drops_are_audited_at_a_bounded_rate(self, gateway) -> None:
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        packet = request_packet("wrong", ALICE, "x").RequestPacket()
        for _ in range(12):
            sock.sendto(packet[:1] + bytes([0]) + packet[2:], ("127.0.0.1", gateway.port))
        sock.close()
        # Wait until the workers have counted all 12 and written what they audit.
        for _ in range(300):
            counted = server.DROPS_AUDITED.count("127.0.0.1")
            if counted >= 12 and len(events(AuditAction.RADIUS_DROPPED)) >= 5:
                break
            threading.Event().wait(0.05)
        assert server.DROPS_AUDITED.count("127.0.0.1") == 12
        assert len(events(AuditAction.RADIUS_DROPPED)) == 5


class TestCodes:
    def test_a_code_appended_to_the_password_signs_in_in_one_round(
        self, gateway, with_app, clock
    ) -> None:
        reply = gateway.ask(BOB, STRONG_PASSWORD + clock.code(with_app.secret))
        assert reply.accepted

    def test_a_password_ending_in_digits_sent_alone_counts_no_failure(
        self, gateway, make_user
    ) -> None:
        # Read first as a password and an appended code, then as the whole: one attempt, and
        # a right whole leaves nothing counted against the person or the gateway.
        alice = make_user(ALICE, password=DIGITS_PASSWORD, mfa_state=MfaState.ENABLED)
        phones.set_number(alice, "authentication", "+14255550134", mode="text")

        assert gateway.ask(ALICE, DIGITS_PASSWORD).challenged

        by_user, _by_address = accounts._limits()
        assert by_user.count(ALICE) == 0
        assert integration_ceiling().count(gateway.client.integration_key) == 0
        failed = [e for e in events(AuditAction.SIGNIN_PASSWORD) if e.result != "success"]
        assert failed == []

    def test_a_wrong_password_with_a_code_appended_is_one_failed_attempt(
        self, gateway, with_app, clock
    ) -> None:
        reply = gateway.ask(BOB, "not the password" + clock.code(with_app.secret))

        assert (reply.rejected, reply.message) == (True, "Your user name or password is incorrect.")
        by_user, _by_address = accounts._limits()
        assert by_user.count(BOB) == 1
        assert integration_ceiling().count(gateway.client.integration_key) == 1
        failed = [e for e in events(AuditAction.SIGNIN_PASSWORD) if e.result != "success"]
        assert len(failed) == 1

    def test_a_wrong_code_appended_is_rejected(self, gateway, with_app) -> None:
        reply = gateway.ask(BOB, STRONG_PASSWORD + "000000")
        assert (reply.rejected, reply.message) == (
            True,
            "That code didn't work. Check it and try again.",
        )

    def test_a_password_alone_starts_a_challenge_round_for_the_app_code(
        self, gateway, with_app, clock
    ) -> None:
        first = gateway.ask(BOB, STRONG_PASSWORD)
        assert first.challenged
        assert first.state
        assert "type the code" in first.message
        second = gateway.ask(BOB, clock.code(with_app.secret), state=first.state)
        assert second.accepted

    def test_a_state_answered_once_is_finished(self, gateway, with_app, clock) -> None:
        first = gateway.ask(BOB, STRONG_PASSWORD)
        assert gateway.ask(BOB, clock.code(with_app.secret), state=first.state).accepted
        again = gateway.ask(BOB, clock.code(with_app.secret, 1), state=first.state)
        assert again.rejected

    def test_a_state_is_only_good_for_its_own_user(self, gateway, with_app, make_user) -> None:
        make_user(ALICE)
        first = gateway.ask(BOB, STRONG_PASSWORD)
        assert gateway.ask(ALICE, "123456", state=first.state).rejected

    def test_a_texted_code_answers_the_challenge_round(self, gateway, texted, outbox) -> None:
        first = gateway.ask(ALICE, STRONG_PASSWORD)
        assert first.challenged
        assert "XX34" in first.message  # the masked number, never the whole
        assert gateway.ask(ALICE, outbox.last_code(), state=first.state).accepted

    def test_an_app_code_answers_a_round_that_texted_a_code(
        self, gateway, texted, outbox, clock
    ) -> None:
        from twofold.methods.authenticator import services as authenticator

        secret = authenticator.new_secret()
        authenticator.add_device(texted, "Phone", secret, clock.code(secret, steps=-1))
        texted.preferred_option = "text:authentication"
        texted.save()
        first = gateway.ask(ALICE, STRONG_PASSWORD)
        assert first.challenged
        assert gateway.ask(ALICE, clock.code(secret), state=first.state).accepted

    def test_a_recovery_code_appended_or_in_the_round_signs_in(
        self, gateway, with_app, clock
    ) -> None:
        one, two = recovery.make_set(with_app.user)[:2]
        assert gateway.ask(BOB, STRONG_PASSWORD + one).accepted
        first = gateway.ask(BOB, STRONG_PASSWORD)
        assert gateway.ask(BOB, two, state=first.state).accepted
        assert gateway.ask(BOB, STRONG_PASSWORD + one).rejected  # spent

    def test_wrong_codes_lock_the_second_factor_and_a_right_one_is_then_refused(
        self, gateway, with_app, clock, organisation
    ) -> None:
        organisation.lockout_threshold = 2
        organisation.save()
        gateway.ask(BOB, STRONG_PASSWORD + "000000")
        gateway.ask(BOB, STRONG_PASSWORD + "000001")
        right = gateway.ask(BOB, STRONG_PASSWORD + clock.code(with_app.secret))
        assert right.rejected
        assert AuditEvent.objects.filter(action=AuditAction.MFA_LOCKED).exists()

    def test_a_directory_that_does_not_answer_gets_no_answer_and_counts_nothing(
        self, gateway, make_user, organisation
    ) -> None:
        """The person's password is their directory's, which is down: the gateway asks its
        other server rather than telling the person their password is wrong."""
        directory = directory_services.configure(
            organisation,
            urls=[f"ldap://127.0.0.1:{devslapd.free_port()}"],
            bind_dn="cn=twofold,dc=contoso,dc=example",
            bind_password="service password",
            base_dn="dc=contoso,dc=example",
            preset="ad",
            start_tls=True,  # never tried: nothing answers on the port
            user_filter="(objectClass=user)",
        )
        alice = make_user(ALICE)
        DirectoryAccount.objects.create(
            user=alice, directory=directory, entry_id="1", dn="cn=alice,dc=contoso,dc=example"
        )
        assert gateway.ask(ALICE, STRONG_PASSWORD, wait=SILENCE_SECONDS) is None
        by_user, _by_address = accounts._limits()
        assert by_user.count(ALICE) == 0
        assert integration_ceiling().count(gateway.client.integration_key) == 0

    def test_a_seed_no_configured_key_opens_gets_no_answer_and_counts_nothing(
        self, gateway, with_app, clock, organisation, settings
    ) -> None:
        """The key that encrypted the app's seed was taken out too soon (the gateway's own
        secret is under the new one): an outage, so no answer, and the gateway asks its
        other server; not a wrong code (docs/radius.md)."""
        organisation.lockout_threshold = 2
        organisation.save()
        new = Fernet.generate_key().decode()
        settings.TWOFOLD = {**settings.TWOFOLD, "encryption_keys": (new,)}
        sealed = crypto.encrypt(gateway.secret.encode())
        RadiusClient.objects.filter(pk=gateway.client.pk).update(secret=sealed)
        code = clock.code(with_app.secret)
        for _attempt in range(3):
            assert gateway.ask(BOB, STRONG_PASSWORD + code, wait=SILENCE_SECONDS) is None
        assert verification._failures(with_app.user).count(str(with_app.user.pk)) == 0
        assert not AuditEvent.objects.filter(action=AuditAction.MFA_LOCKED).exists()


class TestLanguage:
    def test_the_challenge_and_the_reject_speak_the_persons_language(
        self, gateway, with_app, clock
    ) -> None:
        with_app.user.language = "zh-hans"
        with_app.user.save()
        first = gateway.ask(BOB, STRONG_PASSWORD)
        assert "请输入验证码作为回答" in first.message
        wrong = gateway.ask(BOB, "000000", state=first.state)
        assert wrong.rejected
        assert wrong.message != "That code didn't work. Check it and try again."

    def test_someone_unknown_is_answered_in_the_organisations_language(
        self, gateway, organisation
    ) -> None:
        organisation.default_language = "zh-hans"
        organisation.save()
        reply = gateway.ask("nobody@contoso.example", STRONG_PASSWORD)
        assert reply.rejected
        assert reply.message != "Your user name or password is incorrect."


class TestPush:
    @pytest.fixture
    def phone(self, make_user) -> PhoneApp:
        user = make_user(ALICE, mfa_state=MfaState.ENABLED)
        app = PhoneApp()
        _issued, code = activation.issue(user)
        assert app.activate(BrowserClient(), code).status_code == 200
        return app

    def test_a_push_approved_in_the_app_accepts_the_next_round(self, gateway, phone) -> None:
        first = gateway.ask(ALICE, STRONG_PASSWORD)
        assert first.challenged
        (request,) = phone.poll(BrowserClient()).json()["requests"]
        assert request["application"] == "VPN"  # the RADIUS client's name on the phone
        challenge = Challenge.objects.get()
        number = PushNotice.objects.get().number
        assert f"number {number}" in first.message
        waiting = gateway.ask(ALICE, "", state=first.state)
        assert (waiting.challenged, waiting.state) == (True, first.state)
        decided = phone.decide(BrowserClient(), str(challenge.pk), "approve", number)
        assert decided.json()["state"] == "approved"
        assert gateway.ask(ALICE, "", state=first.state).accepted


class TestAddresses:
    @pytest.fixture
    def ranges(self, organisation):
        organisation.trusted_ip_ranges = ["192.0.2.0/24"]
        organisation.save()
        return organisation

    def test_a_trusted_client_reporting_an_address_in_a_trusted_range_skips_the_code(
        self, ranges, radius_admin, radius_port, texted
    ) -> None:
        _client, secret = clients.create(
            ranges, "VPN", "127.0.0.1", actor=radius_admin, reports_person_address=True
        )
        reply = ask(radius_port, secret, ALICE, STRONG_PASSWORD, calling="192.0.2.10")
        assert reply.accepted

    def test_an_untrusted_clients_reported_address_is_ignored(
        self, ranges, gateway, texted
    ) -> None:
        reply = gateway.ask(ALICE, STRONG_PASSWORD, calling="192.0.2.10")
        assert reply.challenged
        (event,) = events(AuditAction.RADIUS_REQUEST)
        assert event.details["person_address_ignored"] == "the client is not trusted to report it"

    def test_a_mac_address_as_calling_station_id_is_ignored(
        self, ranges, radius_admin, radius_port, texted
    ) -> None:
        _client, secret = clients.create(
            ranges, "Wi-Fi", "127.0.0.1", actor=radius_admin, reports_person_address=True
        )
        reply = ask(radius_port, secret, ALICE, STRONG_PASSWORD, calling="00-11-22-33-44-55")
        assert reply.challenged


class TestRetransmission:
    def test_a_retransmitted_request_gets_the_cached_reply_and_is_verified_once(
        self, gateway, with_app, clock
    ) -> None:
        raw = request_packet(
            gateway.secret, BOB, STRONG_PASSWORD + clock.code(with_app.secret)
        ).RequestPacket()
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.settimeout(5)
        try:
            sock.sendto(raw, ("127.0.0.1", gateway.port))
            first = sock.recv(4096)
            sock.sendto(raw, ("127.0.0.1", gateway.port))
            second = sock.recv(4096)
        finally:
            sock.close()
        assert first == second
        assert first[0] == 2  # Access-Accept
        assert len(events(AuditAction.RADIUS_REQUEST)) == 1
        assert len(events(AuditAction.CHALLENGE_VERIFIED)) == 1


class TestRobustness:
    def test_a_request_held_up_in_its_worker_holds_up_no_other(
        self, gateway, make_user, monkeypatch
    ) -> None:
        """A slow gateway (a text that takes long to send) keeps one worker, not the loop."""
        make_user(ALICE)
        make_user(BOB)
        release, held = threading.Event(), threading.Event()
        respond = answers.respond

        def slow(client, request, source):
            if request.user_name == ALICE:
                held.set()
                release.wait(timeout=30)
            return respond(client, request, source)

        monkeypatch.setattr(answers, "respond", slow)
        replies: list = []
        alice = threading.Thread(
            target=lambda: replies.append(gateway.ask(ALICE, STRONG_PASSWORD, wait=30))
        )
        alice.start()
        assert held.wait(timeout=30)
        assert gateway.ask(BOB, STRONG_PASSWORD).accepted  # while Alice's is still held
        assert replies == []
        release.set()
        alice.join(timeout=30)
        assert replies[0].accepted

    @settings(
        max_examples=150,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(
        st.one_of(
            st.binary(max_size=64),
            st.binary(min_size=20, max_size=600).map(lambda data: b"\x01" + data[1:]),
            st.binary(min_size=4097, max_size=9000),
            st.builds(
                lambda prefix, length, rest: b"\x01\x01" + length.to_bytes(2, "big") + rest,
                st.none(),
                st.integers(0, 65535),
                st.binary(max_size=300),
            ),
        )
    )
    def test_fuzzed_datagrams_never_crash_or_stall_the_server(self, gateway, data) -> None:
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            sock.sendto(data, ("127.0.0.1", gateway.port))
        finally:
            sock.close()

    def test_after_the_fuzzing_the_server_still_answers(self, gateway, make_user) -> None:
        make_user(ALICE)
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        for size in (0, 1, 19, 20, 4096, 4097, 65000):
            sock.sendto(b"\x01" * size, ("127.0.0.1", gateway.port))
        sock.close()
        assert gateway.ask(ALICE, STRONG_PASSWORD).accepted


class TestSeveralServers:
    @pytest.fixture
    def second_port(self):
        """Another RADIUS process's worth of server (the database and cache shared)."""
        front = Server("127.0.0.1", 0, workers=2)
        thread = front.start_in_thread()
        yield front.port
        front.stop()
        thread.join(timeout=10)

    def test_a_challenge_started_on_one_server_is_answered_on_another(
        self, gateway, second_port, with_app, clock
    ) -> None:
        first = gateway.ask(BOB, STRONG_PASSWORD)
        assert first.challenged
        second = ask(second_port, gateway.secret, BOB, clock.code(with_app.secret),
                     state=first.state)  # fmt: skip
        assert second.accepted


def test_a_copy_that_arrives_while_the_first_is_answered_is_dropped_then_answered_from_the_cache(
    gateway, make_user, monkeypatch
) -> None:
    make_user(ALICE)
    release, held = threading.Event(), threading.Event()
    respond = answers.respond
    calls = []

    def slow(client, request, source):
        calls.append(request.identifier)
        held.set()
        release.wait(timeout=30)
        return respond(client, request, source)

    monkeypatch.setattr(answers, "respond", slow)
    raw = request_packet(gateway.secret, ALICE, STRONG_PASSWORD).RequestPacket()
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.settimeout(30)
    try:
        sock.sendto(raw, ("127.0.0.1", gateway.port))
        assert held.wait(timeout=30)
        sock.sendto(raw, ("127.0.0.1", gateway.port))  # while the first is held: no answer
        release.set()
        first = sock.recv(4096)
        sock.sendto(raw, ("127.0.0.1", gateway.port))
        again = sock.recv(4096)
    finally:
        sock.close()
    assert first == again
    assert len(calls) == 1


def test_a_requests_events_are_written_together_in_one_insert(
    organisation, radius_admin, with_app, clock
) -> None:
    """One transaction per Access-Request (docs/design.md, a check as one transaction): the
    password's, the decision's, the challenge's and the request's events, one INSERT."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from twofold.audit import chain
    from twofold.radius import codec

    client, secret = clients.create(organisation, "VPN", "127.0.0.1", actor=radius_admin)
    packet = request_packet(secret, BOB, STRONG_PASSWORD + clock.code(with_app.secret))
    request = codec.decode(packet.RequestPacket(), secret.encode())
    with CaptureQueriesContext(connection) as captured:
        reply = answers.respond(client, request, "127.0.0.1")
    assert reply[0] == codec.ACCESS_ACCEPT
    inserts = [
        query["sql"]
        for query in captured.captured_queries
        if 'INSERT INTO "audit_auditevent"' in query["sql"]  # after WITH on PostgreSQL
    ]
    assert len(inserts) == 1, inserts
    last = AuditEvent.objects.latest("id")
    written = AuditEvent.objects.filter(correlation_id=last.correlation_id).order_by("id")
    assert list(written.values_list("action", flat=True)) == [
        "signin.password",
        "signin.decided",
        "challenge.started",
        "challenge.verified",
        "radius.request",
    ]
    assert chain.verify(organisation.pk).ok

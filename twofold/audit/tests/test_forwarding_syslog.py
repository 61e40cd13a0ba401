"""Audit events to a real rsyslog (Debian's, with rsyslog-gnutls) over TCP with TLS, plain
TCP and UDP, started by the test on free loopback ports with its own configuration."""

from __future__ import annotations

import datetime as dt
import ipaddress
import shutil
import socket
import ssl
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from django.test import override_settings
from django.utils import timezone

from twofold.audit import forwarding, transports
from twofold.audit.models import AuditAction, AuditEvent, AuditResult, ForwardDestination
from twofold.audit.services import record
from twofold.core.errors import InvalidInput

RSYSLOGD = shutil.which("rsyslogd") or "/usr/sbin/rsyslogd"
pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(not Path(RSYSLOGD).exists(), reason="rsyslog is not installed"),
]

CONFIG = """
global(workDirectory="{d}" maxMessageSize="64k"
       DefaultNetstreamDriverCAFile="{d}/ca.pem"
       DefaultNetstreamDriverCertFile="{d}/server.pem"
       DefaultNetstreamDriverKeyFile="{d}/server.key")
module(load="imtcp" StreamDriver.Name="gtls" StreamDriver.Mode="1" StreamDriver.AuthMode="anon")
input(type="imtcp" address="127.0.0.1" port="{tls}" name="tls")
input(type="imtcp" address="127.0.0.1" port="{tcp}" name="tcp"
      StreamDriver.Name="ptcp" StreamDriver.Mode="0")
module(load="imudp")
input(type="imudp" address="127.0.0.1" port="{udp}" name="udp")
template(name="line" type="string" string="%inputname% %msgid% %structured-data%\\n")
action(type="omfile" file="{d}/received.log" template="line")
"""


def _free_port(kind: int) -> int:
    with socket.socket(socket.AF_INET, kind) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _write_certificates(folder: Path, name: str = "127.0.0.1") -> None:
    """A test CA and a certificate for ``name`` (an address or a host name) signed by it."""
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "twofold test CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    server = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([_alternative_name(name)]),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    (folder / "ca.pem").write_bytes(ca.public_bytes(pem))
    (folder / "server.pem").write_bytes(server.public_bytes(pem))
    (folder / "server.key").write_bytes(
        key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )


def _alternative_name(name: str) -> x509.GeneralName:
    try:
        return x509.IPAddress(ipaddress.ip_address(name))
    except ValueError:
        return x509.DNSName(name)


@dataclass
class Rsyslog:
    folder: Path
    tls: int
    tcp: int
    udp: int
    process: subprocess.Popen | None = None
    # Where the current test's lines begin in received.log: one rsyslog serves the module.
    offset: int = 0

    def start(self) -> None:
        config = self.folder / "rsyslog.conf"
        config.write_text(CONFIG.format(d=self.folder, tls=self.tls, tcp=self.tcp, udp=self.udp))
        self.process = subprocess.Popen(
            [RSYSLOGD, "-n", "-f", str(config), "-i", str(self.folder / "rsyslogd.pid")],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.tcp), timeout=1).close()
                self._handshake()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("rsyslogd did not start")

    def _handshake(self) -> None:
        """A TLS handshake with the test CA: rsyslog's TLS listener is up, and the port is
        rsyslog's (not another process's that took it while rsyslog was stopped)."""
        context = ssl.create_default_context(cafile=str(self.folder / "ca.pem"))
        raw = socket.create_connection(("127.0.0.1", self.tls), timeout=5)
        with context.wrap_socket(raw, server_hostname="127.0.0.1"):
            pass

    def stop(self) -> None:
        assert self.process is not None
        self.process.terminate()
        self.process.wait(timeout=20)

    @property
    def ca_file(self) -> str:
        return str(self.folder / "ca.pem")

    def mark(self) -> None:
        """From here on, ``lines`` reads only what arrives after this point."""
        path = self.folder / "received.log"
        self.offset = path.stat().st_size if path.exists() else 0

    def _read(self) -> list[str]:
        path = self.folder / "received.log"
        if not path.exists():
            return []
        with path.open("rb") as received:
            received.seek(self.offset)
            text = received.read().decode()
        # Only whole lines: rsyslog may be writing the last one.
        return text.splitlines() if text.endswith("\n") else text.splitlines()[:-1]

    def lines(self, count: int) -> list[str]:
        """The lines rsyslog wrote since the mark, once there are ``count`` of them (or after
        a wait; the tests that expect nothing use ``nothing_since_mark`` instead)."""
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            lines = self._read()
            if len(lines) >= count:
                return lines
            time.sleep(0.05)
        return lines

    def lines_until(self, event_id: int) -> list[str]:
        """The lines since the mark, once the one of ``event_id`` is among them: what came
        with it on its connection (before it, in order) has come too."""
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            lines = self._read()
            if event_id in _ids(lines):
                return lines
            time.sleep(0.05)
        return lines

    def nothing_since_mark(self) -> bool:
        """Whether nothing arrived since the mark, asked without waiting on time: a marker
        sent over plain TCP after whatever was (not) sent is waited for; anything sent
        before it was taken before it (each is sent on a connection that has ended)."""
        marker = b'<134>1 - - twofold - marker [twofold@32473 id="0"] -'
        transports.send_syslog(f"tcp://127.0.0.1:{self.tcp}", [marker])
        lines = self.lines(1)
        return len(lines) == 1 and lines[0].startswith("tcp marker ")


@pytest.fixture(scope="module")
def rsyslog_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Rsyslog]:
    """One rsyslog for the module's tests (in each worker that runs them): started once,
    as starting one per test cost most of their time."""
    folder = tmp_path_factory.mktemp("rsyslog")
    _write_certificates(folder)
    server = Rsyslog(
        folder,
        _free_port(socket.SOCK_STREAM),
        _free_port(socket.SOCK_STREAM),
        _free_port(socket.SOCK_DGRAM),
    )
    server.start()
    yield server
    if server.process and server.process.poll() is None:
        server.stop()


@pytest.fixture
def rsyslog(rsyslog_server: Rsyslog) -> Rsyslog:
    """The module's rsyslog, running (a test may have stopped it), read from this test on."""
    if rsyslog_server.process is None or rsyslog_server.process.poll() is not None:
        rsyslog_server.start()
    rsyslog_server.mark()
    return rsyslog_server


def _events(user, count: int) -> list[int]:
    return [record(AuditAction.SIGNOUT, AuditResult.SUCCESS, subject=user).pk for _ in range(count)]


def _ids(lines: list[str]) -> list[int]:
    return [int(line.split(' id="')[1].split('"')[0]) for line in lines]


def _syslog(url: str, ca_file: str = ""):
    return override_settings(TWOFOLD_SYSLOG_URL=url, TWOFOLD_SYSLOG_CA_FILE=ca_file)


def test_each_event_reaches_rsyslog_over_tls_with_its_id(user, rsyslog) -> None:
    with _syslog(f"tcp+tls://127.0.0.1:{rsyslog.tls}", rsyslog.ca_file):
        forwarding.sync_installation_destinations()
        written = _events(user, 3)
        forwarding.forward_due()
    lines = rsyslog.lines(3)
    assert _ids(lines) == written
    assert all(line.startswith("tls signout [twofold@32473 ") for line in lines)


def test_a_syslog_server_whose_certificate_is_not_trusted_gets_nothing(user, rsyslog) -> None:
    with _syslog(f"tcp+tls://127.0.0.1:{rsyslog.tls}"):  # the system's CAs only
        forwarding.sync_installation_destinations()
        _events(user, 1)
        assert forwarding.forward_due() == 0
    assert "CERTIFICATE_VERIFY_FAILED" in ForwardDestination.objects.get().last_error
    assert rsyslog.nothing_since_mark()


def test_each_event_reaches_rsyslog_over_plain_tcp(user, rsyslog) -> None:
    with _syslog(f"tcp://127.0.0.1:{rsyslog.tcp}"):
        forwarding.sync_installation_destinations()
        written = _events(user, 2)
        forwarding.forward_due()
    assert _ids(rsyslog.lines(2)) == written


def test_each_event_reaches_rsyslog_over_udp(user, rsyslog) -> None:
    with _syslog(f"udp://127.0.0.1:{rsyslog.udp}"):
        forwarding.sync_installation_destinations()
        written = _events(user, 2)
        forwarding.forward_due()
    assert sorted(_ids(rsyslog.lines(2))) == written


def test_nothing_is_lost_while_rsyslog_is_down(user, rsyslog) -> None:
    with _syslog(f"tcp+tls://127.0.0.1:{rsyslog.tls}", rsyslog.ca_file):
        forwarding.sync_installation_destinations()
        written = _events(user, 2)
        forwarding.forward_due()
        rsyslog.lines(2)
        rsyslog.stop()
        written += _events(user, 3)
        assert forwarding.forward_due() == 0
        rsyslog.start()
        forwarding.forward_due(timezone.now() + timedelta(hours=1))
    # At least once: a batch may come twice, never not at all.
    assert set(_ids(rsyslog.lines(5))) == set(written), ForwardDestination.objects.get().last_error


def test_a_batch_rsyslog_took_over_tls_is_not_sent_again(user, rsyslog) -> None:
    with _syslog(f"tcp+tls://127.0.0.1:{rsyslog.tls}", rsyslog.ca_file):
        forwarding.sync_installation_destinations()
        written = _events(user, 2)
        forwarding.forward_due()
        written += _events(user, 1)
        forwarding.forward_due()
    # The second batch (and any event sent again with it) comes on one connection, in order.
    received = _ids(rsyslog.lines_until(written[-1]))
    assert received == written, ForwardDestination.objects.get().last_error


# --- An organisation's own syslog destination (the admin portal's SIEM page) ----------------

# rsyslog listens on loopback: organisations' destinations may go there only if the operator
# allows private addresses (by default they may not: see below).
private_allowed = override_settings(TWOFOLD_SIEM_TO_PRIVATE_ADDRESSES=True)


@private_allowed
def test_an_organisations_syslog_gets_its_own_events_over_tls_checked_by_its_ca(
    user, make_user, other_organisation, rsyslog
) -> None:
    ca_pem = Path(rsyslog.ca_file).read_text()
    forwarding.add_syslog(user.organisation, f"tcp+tls://127.0.0.1:{rsyslog.tls}", ca_pem=ca_pem)
    theirs = _events(make_user("bob@fabrikam.example", organisation=other_organisation), 1)
    mine = _events(user, 2)
    forwarding.forward_due()
    lines = rsyslog.lines_until(mine[-1])
    added = AuditEvent.objects.get(action=AuditAction.SIEM_SYSLOG_ADDED).pk
    assert _ids(lines) == [added, *mine]  # its own "added" event is the first it receives
    assert not set(theirs) & set(_ids(lines))
    assert all(line.startswith("tls ") for line in lines)


@private_allowed
def test_an_organisations_syslog_whose_certificate_its_ca_does_not_sign_gets_nothing(
    user, rsyslog
) -> None:
    forwarding.add_syslog(user.organisation, f"tcp+tls://127.0.0.1:{rsyslog.tls}")  # public CAs
    _events(user, 1)
    assert forwarding.forward_due() == 0
    destination = ForwardDestination.objects.get()
    assert "CERTIFICATE_VERIFY_FAILED" in destination.last_error
    assert destination.failing_since is not None
    assert rsyslog.nothing_since_mark()


@private_allowed
def test_an_organisations_syslog_from_the_beginning_gets_the_retained_log_first(
    user, rsyslog
) -> None:
    before = _events(user, 2)
    forwarding.add_syslog(
        user.organisation,
        f"tcp+tls://127.0.0.1:{rsyslog.tls}",
        ca_pem=Path(rsyslog.ca_file).read_text(),
        start=forwarding.Start.BEGINNING,
    )
    after = _events(user, 1)
    forwarding.forward_due()
    ids = _ids(rsyslog.lines_until(after[-1]))
    # The organisation's earlier events (its creation and the user's too), then the new ones.
    assert ids[-1:] == after
    assert set(before) <= set(ids)
    assert ids == sorted(ids)


@pytest.mark.parametrize(
    "url",
    [
        "udp://siem.contoso.example:514",  # lost unseen: no acknowledgement
        "tcp://siem.contoso.example:514",  # names and addresses in clear
        "tcp+tls://siem.contoso.example",  # no port
        "tcp+tls://siem.contoso.example:99999",  # no such port
        "tcp+tls://siem.contoso.example:port",
        "https://siem.contoso.example/",
    ],
)
def test_an_organisations_syslog_must_be_tls_with_a_port(user, url) -> None:
    with pytest.raises(InvalidInput, match="tcp\\+tls://"):
        forwarding.add_syslog(user.organisation, url)
    assert not ForwardDestination.objects.exists()


@pytest.mark.parametrize("host", ["127.0.0.1", "10.1.2.3", "[::1]", "no-such-host.invalid"])
def test_an_organisations_syslog_to_a_private_address_is_refused(user, host) -> None:
    with pytest.raises(InvalidInput, match="public server"):
        forwarding.add_syslog(user.organisation, f"tcp+tls://{host}:6514")
    assert not ForwardDestination.objects.exists()


def test_a_ca_bundle_that_is_not_pem_certificates_is_refused(user) -> None:
    with pytest.raises(InvalidInput) as refused:
        forwarding.add_syslog(
            user.organisation, "tcp+tls://8.8.8.8:6514", ca_pem="not a certificate"
        )
    assert refused.value.field == "ca_pem"
    assert not ForwardDestination.objects.exists()


def test_adding_and_removing_an_organisations_syslog_is_audited(user) -> None:
    destination = forwarding.add_syslog(user.organisation, "tcp+tls://8.8.8.8:6514", actor=user)
    forwarding.remove_destination(user.organisation, destination.pk, actor=user)
    actions = AuditEvent.objects.filter(actor=user).values_list("action", flat=True)
    assert set(actions) == {AuditAction.SIEM_SYSLOG_ADDED, AuditAction.SIEM_SYSLOG_REMOVED}

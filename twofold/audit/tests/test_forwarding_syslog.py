"""Audit events to a real rsyslog (Debian's, with rsyslog-gnutls) over TCP with TLS, plain
TCP and UDP, started by the test on free loopback ports with its own configuration."""

from __future__ import annotations

import datetime as dt
import ipaddress
import shutil
import socket
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

from twofold.audit import forwarding
from twofold.audit.models import AuditAction, AuditResult
from twofold.audit.services import record

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


def _write_certificates(folder: Path) -> None:
    """A test CA and a certificate for 127.0.0.1 signed by it."""
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
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
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


@dataclass
class Rsyslog:
    folder: Path
    tls: int
    tcp: int
    udp: int
    process: subprocess.Popen | None = None

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
                for port in (self.tls, self.tcp):
                    socket.create_connection(("127.0.0.1", port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("rsyslogd did not start")

    def stop(self) -> None:
        assert self.process is not None
        self.process.terminate()
        self.process.wait(timeout=20)

    def lines(self, count: int) -> list[str]:
        """The lines rsyslog wrote, once there are ``count`` of them (or after a wait)."""
        path = self.folder / "received.log"
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            lines = path.read_text().splitlines() if path.exists() else []
            if len(lines) >= count:
                return lines
            time.sleep(0.1)
        return lines


@pytest.fixture
def rsyslog(tmp_path: Path) -> Iterator[Rsyslog]:
    _write_certificates(tmp_path)
    server = Rsyslog(
        tmp_path,
        _free_port(socket.SOCK_STREAM),
        _free_port(socket.SOCK_STREAM),
        _free_port(socket.SOCK_DGRAM),
    )
    server.start()
    yield server
    if server.process and server.process.poll() is None:
        server.stop()


def _events(user, count: int) -> list[int]:
    return [record(AuditAction.SIGNOUT, AuditResult.SUCCESS, subject=user).pk for _ in range(count)]


def _ids(lines: list[str]) -> list[int]:
    return [int(line.split(' id="')[1].split('"')[0]) for line in lines]


def _syslog(url: str, ca_file: str = ""):
    return override_settings(TWOFOLD_SYSLOG_URL=url, TWOFOLD_SYSLOG_CA_FILE=ca_file)


def test_each_event_reaches_rsyslog_over_tls_with_its_id(user, rsyslog) -> None:
    with _syslog(f"tcp+tls://127.0.0.1:{rsyslog.tls}", str(rsyslog.folder / "ca.pem")):
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
    assert rsyslog.lines(1) == []


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
    with _syslog(f"tcp+tls://127.0.0.1:{rsyslog.tls}", str(rsyslog.folder / "ca.pem")):
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
    assert set(_ids(rsyslog.lines(5))) == set(written)


def test_a_batch_rsyslog_took_over_tls_is_not_sent_again(user, rsyslog) -> None:
    with _syslog(f"tcp+tls://127.0.0.1:{rsyslog.tls}", str(rsyslog.folder / "ca.pem")):
        forwarding.sync_installation_destinations()
        written = _events(user, 2)
        forwarding.forward_due()
        written += _events(user, 1)
        forwarding.forward_due()
    assert _ids(rsyslog.lines(4)) == written

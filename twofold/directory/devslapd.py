"""A local OpenLDAP slapd with Contoso's people, for the tests, the benchmark and trying
the directory out (README.md, "A directory to try"). Never the system's slapd: this one
runs from a folder of its own, with its own cn=config, on loopback ports.

``python -m twofold.directory.devslapd FOLDER [--port 3389] [--tls-port 3636]`` starts one
and prints how to point an organisation at it; it stays in the foreground until Ctrl-C.

Active Directory's attributes come from a small schema (examples/directory/adlike.ldif).
Nested groups are plain groupOfNames whose members may be groups: twofold follows them
itself on OpenLDAP (docs/directory.md), so no memberof overlay is loaded.
"""

from __future__ import annotations

import argparse
import datetime as dt
import ipaddress
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parent.parent.parent / "examples" / "directory"
SLAPD = "/usr/sbin/slapd"
SLAPADD = "/usr/sbin/slapadd"
SUFFIX = "dc=contoso,dc=example"
ROOT_DN = f"cn=admin,{SUFFIX}"
ROOT_PASSWORD = "root horse battery staple"  # noqa: S105 - a throwaway test directory
SERVICE_DN = f"cn=twofold,ou=service,{SUFFIX}"
SERVICE_PASSWORD = "service horse battery staple"  # noqa: S105 - likewise
PEOPLE_PASSWORD = "Directory horse battery staple"  # noqa: S105 - examples/directory/contoso.ldif


def available() -> bool:
    """Whether Debian's slapd and slapadd are installed (``make slapd``)."""
    return Path(SLAPD).exists() and Path(SLAPADD).exists()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def write_certificates(folder: Path) -> None:
    """A test CA (ca.pem) and a certificate for 127.0.0.1 and localhost signed by it."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "twofold test directory CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    names = [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
    server = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    (folder / "ca.pem").write_bytes(ca.public_bytes(pem))
    (folder / "server.pem").write_bytes(server.public_bytes(pem))
    (folder / "server.key").write_bytes(
        key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )


def _config_ldif(folder: Path, size_limit: int) -> str:
    """cn=config: one mdb database for Contoso; the twofold service account reads
    everything but passwords, and its searches stop at ``size_limit`` entries unless they
    are paged (RFC 2696): a sync that forgets to page fails here as it would on AD."""
    schema = "/etc/ldap/schema"
    return f"""dn: cn=config
objectClass: olcGlobal
cn: config
olcPidFile: {folder}/slapd.pid
olcTLSCACertificateFile: {folder}/ca.pem
olcTLSCertificateFile: {folder}/server.pem
olcTLSCertificateKeyFile: {folder}/server.key

dn: cn=module{{0}},cn=config
objectClass: olcModuleList
cn: module{{0}}
olcModulePath: /usr/lib/ldap
olcModuleLoad: back_mdb

dn: cn=schema,cn=config
objectClass: olcSchemaConfig
cn: schema

include: file://{schema}/core.ldif
include: file://{schema}/cosine.ldif
include: file://{schema}/inetorgperson.ldif
include: file://{EXAMPLES}/adlike.ldif

dn: olcDatabase={{-1}}frontend,cn=config
objectClass: olcDatabaseConfig
objectClass: olcFrontendConfig
olcDatabase: {{-1}}frontend

dn: olcDatabase={{0}}config,cn=config
objectClass: olcDatabaseConfig
olcDatabase: {{0}}config
olcAccess: {{0}}to * by * none

dn: olcDatabase={{1}}mdb,cn=config
objectClass: olcDatabaseConfig
objectClass: olcMdbConfig
olcDatabase: {{1}}mdb
olcSuffix: {SUFFIX}
olcRootDN: {ROOT_DN}
olcRootPW: {ROOT_PASSWORD}
olcDbDirectory: {folder}/data
olcDbMaxSize: 4294967296
olcDbIndex: objectClass eq
olcDbIndex: entryUUID eq
olcDbIndex: uid,userPrincipalName,mail eq
olcDbIndex: member eq
olcLimits: {{0}}dn.exact="{SERVICE_DN}" size.soft={size_limit} size.hard={size_limit}
  size.pr={size_limit} size.prtotal=unlimited
olcAccess: {{0}}to attrs=userPassword by self write by anonymous auth by * none
olcAccess: {{1}}to * by dn.exact="{SERVICE_DN}" read by self read by * none
"""


def _base_ldif() -> str:
    return f"""dn: {SUFFIX}
objectClass: dcObject
objectClass: organization
dc: contoso
o: Contoso

dn: ou=service,{SUFFIX}
objectClass: organizationalUnit
ou: service

dn: {SERVICE_DN}
objectClass: person
cn: twofold
sn: twofold
userPassword: {SERVICE_PASSWORD}
"""


@dataclass
class Slapd:
    """A running slapd: plain LDAP (StartTLS offered) on ``port``, ldaps:// on ``tls_port``."""

    folder: Path
    port: int
    tls_port: int
    process: subprocess.Popen

    @property
    def url(self) -> str:
        return f"ldap://127.0.0.1:{self.port}"

    @property
    def tls_url(self) -> str:
        return f"ldaps://127.0.0.1:{self.tls_port}"

    @property
    def ca_file(self) -> Path:
        return self.folder / "ca.pem"

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def start(
    folder: Path,
    *,
    port: int | None = None,
    tls_port: int | None = None,
    size_limit: int = 1000,
    seed: bool = True,
    extra: Path | None = None,
) -> Slapd:
    """Write the configuration and certificates into ``folder`` (which must be empty or
    missing), load Contoso's people (``seed``) and the LDIF file ``extra``, start slapd and
    wait until it answers."""
    folder.mkdir(parents=True, exist_ok=True)
    for part in ("config", "data"):
        (folder / part).mkdir()
    write_certificates(folder)
    (folder / "config.ldif").write_text(_config_ldif(folder, size_limit))
    _slapadd(folder, ["-n", "0", "-l", str(folder / "config.ldif")])
    (folder / "base.ldif").write_text(_base_ldif())
    _slapadd(folder, ["-b", SUFFIX, "-l", str(folder / "base.ldif")])
    if seed:
        _slapadd(folder, ["-b", SUFFIX, "-l", str(EXAMPLES / "contoso.ldif")])
    if extra is not None:  # more entries (the benchmark's), loaded offline: fast
        _slapadd(folder, ["-b", SUFFIX, "-l", str(extra)])
    port, tls_port = port or free_port(), tls_port or free_port()
    urls = f"ldap://127.0.0.1:{port}/ ldaps://127.0.0.1:{tls_port}/"
    log = (folder / "slapd.log").open("wb")
    process = subprocess.Popen(  # noqa: S603 - fixed program, our own arguments
        [SLAPD, "-d", "0", "-h", urls, "-F", str(folder / "config")],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    server = Slapd(folder, port, tls_port, process)
    _wait_until_answering(server)
    return server


def _slapadd(folder: Path, arguments: list[str]) -> None:
    subprocess.run(  # noqa: S603 - fixed program, our own arguments
        [SLAPADD, "-F", str(folder / "config"), "-q", *arguments],
        check=True,
        capture_output=True,
    )


def _wait_until_answering(server: Slapd, seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            log = (server.folder / "slapd.log").read_text(errors="replace")
            raise RuntimeError(f"slapd stopped at once:\n{log[-2000:]}")
        with socket.socket() as probe:
            probe.settimeout(0.5)
            if probe.connect_ex(("127.0.0.1", server.port)) == 0:
                return
        time.sleep(0.05)
    server.stop()
    raise RuntimeError("slapd did not answer in time")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folder", type=Path, help="an empty folder for its files")
    parser.add_argument("--port", type=int, default=3389)
    parser.add_argument("--tls-port", type=int, default=3636)
    parser.add_argument("--fresh", action="store_true", help="empty the folder first")
    options = parser.parse_args()
    if options.fresh and options.folder.exists():
        shutil.rmtree(options.folder)
    server = start(options.folder, port=options.port, tls_port=options.tls_port)
    print(  # noqa: T201 - a command-line tool
        f"slapd is answering on {server.url} (StartTLS) and {server.tls_url}.\n"
        f"Point Contoso at it:\n"
        f"  printf %s '{SERVICE_PASSWORD}' | twofold directory configure --org contoso "
        f"--url {server.url} --start-tls --ca-file {server.ca_file} --preset ad "
        f"--bind-dn '{SERVICE_DN}' --base-dn 'ou=people,{SUFFIX}' "
        f"--user-filter '(objectClass=adLikeUser)' --bind-password-stdin\n"
        f"  twofold directory sync --org contoso\n"
        f"Everyone's directory password: {PEOPLE_PASSWORD}\n"
        f"Ctrl-C stops it.",
        flush=True,
    )
    try:
        server.process.wait()
    except KeyboardInterrupt:
        server.stop()


if __name__ == "__main__":
    main()

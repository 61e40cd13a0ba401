"""Talking to an organisation's directory with python-ldap (docs/design.md, "The directory").

Every connection is over TLS whose certificate is checked (ldaps://, or ldap:// with
StartTLS; docs/security.md 34), with bounded network and operation timeouts. The URLs are
tried in order: the first that answers serves (failover). A directory that no URL answers
is a ``DirectoryUnavailable`` (503), never a reason to accept or refuse a password.
"""

from __future__ import annotations

import hashlib
import re
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

import ldap
from django.utils.translation import gettext as _
from ldap.controls import SimplePagedResultsControl
from ldap.filter import escape_filter_chars

from twofold.core import crypto
from twofold.core.errors import DependencyUnavailable, InvalidInput
from twofold.directory.models import Directory

NETWORK_TIMEOUT = 5  # seconds to open a connection to one URL
OPERATION_TIMEOUT = 10  # seconds for one bind or one page of a search
# Active Directory says so in its root DSE (LDAP_CAP_ACTIVE_DIRECTORY_OID).
AD_CAPABILITY = "1.2.840.113556.1.4.800"
# Active Directory's "in chain" matching rule: nested group membership in one filter.
IN_CHAIN = "1.2.840.113556.1.4.1941"

# python-ldap's errors that mean "this server does not answer", as opposed to an answer.
_DOWN = (ldap.SERVER_DOWN, ldap.TIMEOUT, ldap.CONNECT_ERROR, ldap.UNAVAILABLE, ldap.BUSY)


class DirectoryUnavailable(DependencyUnavailable):
    default_message = _(
        "The directory that checks your password is temporarily unavailable. Nothing was "
        "changed. Try again in a minute."
    )

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message, dependency="directory")


@dataclass(frozen=True)
class Kind:
    """What the server is: Active Directory's IDs and change marks, or OpenLDAP's."""

    active_directory: bool

    @property
    def id_attribute(self) -> str:
        return "objectGUID" if self.active_directory else "entryUUID"

    @property
    def mark_attribute(self) -> str:
        return "uSNChanged" if self.active_directory else "modifyTimestamp"


_ca_files: dict[str, Path] = {}


def _ca_file(pem: str) -> str:
    """libldap reads CA certificates from a file: one per distinct bundle, per process."""
    key = hashlib.sha256(pem.encode()).hexdigest()
    if key not in _ca_files:
        folder = Path(tempfile.mkdtemp(prefix="twofold-ldap-ca-"))
        path = folder / "ca.pem"
        path.write_text(pem)
        _ca_files[key] = path
    return str(_ca_files[key])


def _open(directory: Directory, url: str) -> ldap.ldapobject.LDAPObject:
    connection = ldap.initialize(url, bytes_mode=False)
    connection.set_option(ldap.OPT_PROTOCOL_VERSION, 3)
    connection.set_option(ldap.OPT_REFERRALS, 0)
    connection.set_option(ldap.OPT_NETWORK_TIMEOUT, NETWORK_TIMEOUT)
    connection.set_option(ldap.OPT_TIMEOUT, OPERATION_TIMEOUT)
    connection.set_option(ldap.OPT_X_TLS_REQUIRE_CERT, ldap.OPT_X_TLS_DEMAND)
    if directory.ca_bundle.strip():
        connection.set_option(ldap.OPT_X_TLS_CACERTFILE, _ca_file(directory.ca_bundle))
    connection.set_option(ldap.OPT_X_TLS_NEWCTX, 0)  # last: applies the TLS options above
    if url.lower().startswith("ldap://"):
        connection.start_tls_s()
    return connection


def check_urls(urls: list[str], *, start_tls: bool) -> None:
    """Only TLS: ldaps://, or ldap:// when StartTLS is on (docs/security.md 34)."""
    if not urls:
        raise InvalidInput(_("Give at least one directory address."), field="urls")
    for url in urls:
        if not re.fullmatch(r"ldaps?://[^\s/]+/?", url, re.IGNORECASE):
            raise InvalidInput(
                _("%(url)s is not an ldap:// or ldaps:// address.") % {"url": url}, field="urls"
            )
        if url.lower().startswith("ldap://") and not start_tls:
            raise InvalidInput(
                _("An ldap:// address needs StartTLS: passwords never cross the network in clear."),
                field="urls",
            )


def connect(directory: Directory, *, bind: bool = True) -> ldap.ldapobject.LDAPObject:
    """A TLS connection to the first URL that answers, bound as the service account.

    DirectoryUnavailable when none answers (or TLS fails: a certificate that is not
    trusted is the same as no directory); InvalidInput when the service account's
    credentials are refused (a configuration error to show the administrator).
    """
    failures = []
    # Read before any connection is opened: keys that cannot read it leave none behind.
    password = (
        crypto.open_stored(directory.bind_password, what=f"directory {directory.pk}").decode()
        if bind and directory.bind_password
        else ""
    )
    for url in directory.url_list:
        try:
            connection = _open(directory, url)
            if bind:
                connection.simple_bind_s(directory.bind_dn, password)
            return connection
        except _DOWN as down:
            failures.append(f"{url}: {_describe(down)}")
        except ldap.INVALID_CREDENTIALS:
            raise InvalidInput(
                _("The directory refused the bind DN and password of the service account.")
            ) from None
        except ldap.LDAPError as error:
            failures.append(f"{url}: {_describe(error)}")
    raise DirectoryUnavailable(
        _("The directory is temporarily unavailable. Nothing was changed. Try again in a minute.")
    ) from (RuntimeError("; ".join(failures)) if failures else None)


def _describe(error: ldap.LDAPError) -> str:
    """What python-ldap said (its description and diagnostic text): never a password."""
    details = error.args[0] if error.args and isinstance(error.args[0], dict) else {}
    return (
        " ".join(str(details.get(key, "")) for key in ("desc", "info")).strip()
        or type(error).__name__
    )


@contextmanager
def session(directory: Directory) -> Iterator[ldap.ldapobject.LDAPObject]:
    """A bound service connection, closed afterwards; a server that stops answering
    midway is DirectoryUnavailable too."""
    connection = connect(directory)
    try:
        yield connection
    except ldap.LDAPError as failed:  # down midway, or an answer we cannot use
        raise DirectoryUnavailable() from failed
    finally:
        with suppress(ldap.LDAPError):  # already gone: nothing to close
            connection.unbind_s()


def kind_of(connection: ldap.ldapobject.LDAPObject) -> Kind:
    """Active Directory or not, from the root DSE's supportedCapabilities."""
    found = connection.search_s("", ldap.SCOPE_BASE, "(objectClass=*)", ["supportedCapabilities"])
    capabilities = found[0][1].get("supportedCapabilities", []) if found else []
    return Kind(active_directory=AD_CAPABILITY.encode() in capabilities)


def paged_search(
    connection: ldap.ldapobject.LDAPObject,
    base: str,
    search_filter: str,
    attributes: list[str],
    page_size: int,
) -> Iterator[tuple[str, dict[str, list[bytes]]]]:
    """Every entry below ``base`` matching ``search_filter``, a page at a time (RFC 2696
    Simple Paged Results), so that no server size limit cuts the list short."""
    control = SimplePagedResultsControl(True, size=page_size, cookie="")
    while True:
        message = connection.search_ext(
            base, ldap.SCOPE_SUBTREE, search_filter, attributes, serverctrls=[control]
        )
        try:
            _type, entries, _id, controls = connection.result3(message, timeout=OPERATION_TIMEOUT)
        except ldap.ADMINLIMIT_EXCEEDED:
            # OpenLDAP refuses pages larger than its limit (Active Directory shortens
            # them): ask again with half, before anything was read.
            if control.cookie or control.size <= 1:
                raise
            control.size //= 2
            continue
        for dn, values in entries:
            if dn is not None:  # search references (referrals) are skipped
                yield dn, values
        cookie = next(
            (c.cookie for c in controls if c.controlType == SimplePagedResultsControl.controlType),
            b"",
        )
        if not cookie:
            return
        control.cookie = cookie


def escape(value: str) -> str:
    return escape_filter_chars(value)


def first(values: dict[str, list[bytes]], name: str, *, binary: bool = False) -> str:
    """An attribute's first value as text ("" when absent; hexadecimal when ``binary``, as
    for objectGUID's 16 bytes); names compare case-insensitively as LDAP's do."""
    if not name:
        return ""
    for key, found in values.items():
        if key.lower() == name.lower() and found:
            return found[0].hex() if binary else found[0].decode(errors="replace")
    return ""

"""One real slapd per test session (twofold/directory/devslapd.py), and a fresh copy of
Contoso's people for each test.

The server is started once by the worker that owns the ``slapd`` xdist group (every test
module here is marked with it), so a run pays for one start. Each test gets Contoso's
people and groups copied under an organisational unit of its own
(``ou=<random>,dc=contoso,dc=example``): tests change, disable and remove people without
seeing each other's changes.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from twofold.directory import devslapd


@pytest.fixture(scope="session")
def slapd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[devslapd.Slapd]:
    if not devslapd.available():
        # make test installs it (TEST_NEEDS): a missing slapd fails, never skips silently.
        pytest.fail("slapd is not installed: `make slapd` (make test installs it)")
    # Searches of more than 5 entries fail unless paged: the sync's paging is exercised.
    server = devslapd.start(tmp_path_factory.mktemp("slapd") / "server", size_limit=5)
    yield server
    server.stop()


@dataclass
class Tree:
    """Contoso's people and groups under ``base`` (ou=people and ou=groups below it)."""

    slapd: devslapd.Slapd
    base: str

    @property
    def people(self) -> str:
        return f"ou=people,{self.base}"

    def dn(self, uid: str) -> str:
        return f"uid={uid},{self.people}"

    def group(self, name: str) -> str:
        return f"cn={name},ou=groups,{self.base}"

    def admin(self):  # -> ldap.ldapobject.LDAPObject
        import ldap

        connection = ldap.initialize(self.slapd.url)
        connection.simple_bind_s(devslapd.ROOT_DN, devslapd.ROOT_PASSWORD)
        return connection

    def modify(self, uid: str, **values: str | None) -> None:
        """Replace (or, with None, delete) attributes of one person, as the root DN."""
        import ldap

        changes = [
            (ldap.MOD_REPLACE, name, None if value is None else [value.encode()])
            for name, value in values.items()
        ]
        self.admin().modify_s(self.dn(uid), changes)

    def delete(self, dn: str) -> None:
        self.admin().delete_s(dn)

    def add_person(self, uid: str, **values: str) -> str:
        import ldap.modlist

        entry = {
            "objectClass": [b"inetOrgPerson", b"adLikeUser"],
            "uid": [uid.encode()],
            "cn": [uid.encode()],
            "sn": [uid.encode()],
            "userPrincipalName": [f"{uid}@contoso.example".encode()],
            "userAccountControl": [b"512"],
            "userPassword": [devslapd.PEOPLE_PASSWORD.encode()],
        }
        entry.update({name: [value.encode()] for name, value in values.items()})
        self.admin().add_s(self.dn(uid), ldap.modlist.addModlist(entry))
        return self.dn(uid)


def copy_contoso(server: devslapd.Slapd, base: str) -> None:
    """Add examples/directory/contoso.ldif's entries again, below ``base``."""
    import ldap.modlist
    from ldif import LDIFRecordList

    connection = ldap.initialize(server.url)
    connection.simple_bind_s(devslapd.ROOT_DN, devslapd.ROOT_PASSWORD)
    name = base.split(",", 1)[0].split("=", 1)[1]
    connection.add_s(base, [("objectClass", [b"organizationalUnit"]), ("ou", [name.encode()])])
    with (devslapd.EXAMPLES / "contoso.ldif").open("rb") as source:
        records = LDIFRecordList(source)
        records.parse()
    suffix = devslapd.SUFFIX
    for dn, entry in records.all_records:
        moved = {
            key: [value.replace(suffix.encode(), base.encode()) for value in values]
            if key == "member"
            else values
            for key, values in entry.items()
        }
        connection.add_s(dn.replace(suffix, base), ldap.modlist.addModlist(moved))
    connection.unbind_s()


@pytest.fixture
def tree(slapd: devslapd.Slapd) -> Tree:
    letters = uuid.uuid4().hex[:12].translate(str.maketrans("0123456789", "ghijklmnop"))
    base = f"ou=t{letters},{devslapd.SUFFIX}"
    copy_contoso(slapd, base)
    return Tree(slapd, base)


@pytest.fixture
def ca_file(slapd: devslapd.Slapd) -> Path:
    return slapd.ca_file

"""Configuring an organisation's directory and testing the connection (the CLI and the
admin portal call these)."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction
from django.utils.translation import gettext as _

from twofold.accounts.models import User
from twofold.audit.models import AuditAction, AuditResult
from twofold.audit.services import record
from twofold.core import crypto
from twofold.core.errors import InvalidInput
from twofold.directory import client, phones
from twofold.directory.models import Directory, Effect, GroupMapping, Preset
from twofold.directory.passwords import STATE_LABELS, state_from_entry
from twofold.organisations.models import Organisation

# What each preset fills in (an administrator may change any of it afterwards).
PRESETS: dict[str, dict[str, str]] = {
    Preset.ACTIVE_DIRECTORY: {
        "user_filter": "(&(objectCategory=person)(objectClass=user))",
        "attr_username": "userPrincipalName",
        "attr_display_name": "displayName",
        "attr_email": "mail",
        "attr_phone": "mobile",
        "attr_office_phone": "telephoneNumber",
    },
    Preset.OPENLDAP: {
        "user_filter": "(objectClass=inetOrgPerson)",
        "attr_username": "mail",
        "attr_display_name": "displayName",
        "attr_email": "mail",
        "attr_phone": "mobile",
        "attr_office_phone": "telephoneNumber",
    },
}


@transaction.atomic
def configure(
    organisation: Organisation,
    *,
    urls: list[str],
    bind_dn: str,
    base_dn: str,
    preset: str,
    bind_password: str | None = None,
    start_tls: bool = False,
    ca_bundle: str | None = None,
    actor: User | None = None,
    actor_label: str = "",
    **attributes: str,
) -> Directory:
    """Create or change the organisation's directory. ``bind_password`` None keeps the
    stored one; ``attributes`` (user_filter, attr_username...) override the preset's."""
    if preset not in PRESETS:
        raise InvalidInput(_("Choose the Active Directory or the OpenLDAP preset."), field="preset")
    urls = [url.strip() for url in urls if url.strip()]
    client.check_urls(urls, start_tls=start_tls)
    if not bind_dn.strip() or not base_dn.strip():
        raise InvalidInput(_("Give the bind DN and the base DN."), field="base_dn")
    if ca_bundle and "-----BEGIN CERTIFICATE-----" not in ca_bundle:
        raise InvalidInput(_("The CA certificates must be in PEM form."), field="ca_bundle")
    unknown = set(attributes) - set(PRESETS[preset])
    if unknown:
        raise InvalidInput(_("Unknown setting: %(name)s.") % {"name": sorted(unknown)[0]})
    directory = Directory.objects.filter(organisation=organisation).first() or Directory(
        organisation=organisation
    )
    values = {**PRESETS[preset], **{k: v.strip() for k, v in attributes.items() if v.strip()}}
    if not values["user_filter"].startswith("("):
        raise InvalidInput(_("The user filter must be an LDAP filter in brackets."))
    for name, value in values.items():
        setattr(directory, name, value)
    directory.urls = "\n".join(urls)
    directory.start_tls, directory.bind_dn, directory.base_dn = start_tls, bind_dn, base_dn
    directory.preset = preset
    if ca_bundle is not None:
        directory.ca_bundle = ca_bundle
    if bind_password is not None:  # kept encrypted (an EncryptedTextField), "" for none
        sealed = dict(
            bind_password=crypto.encrypt(bind_password.encode()) if bind_password else "",
        )
        directory.bind_password = sealed["bind_password"]
    directory.sync_mark = ""  # a new configuration: the next sync reads everyone
    directory.save()
    record(
        AuditAction.DIRECTORY_CONFIGURED,
        AuditResult.SUCCESS,
        organisation=organisation,
        actor=actor,
        actor_label=actor_label or ("" if actor else "system"),
        urls=urls,
        preset=preset,
    )
    return directory


@transaction.atomic
def map_group(directory: Directory, group_dn: str, effect: str) -> GroupMapping:
    if effect not in Effect.values:
        raise InvalidInput(_("Choose what the group's members get."), field="effect")
    if not group_dn.strip():
        raise InvalidInput(_("Give the group's DN."), field="group_dn")
    mapping, _created = GroupMapping.objects.get_or_create(
        directory=directory, group_dn=group_dn.strip(), effect=effect
    )
    return mapping


@transaction.atomic
def set_groups(directory: Directory, mappings: list[tuple[str, str]]) -> None:
    """Replace the group mappings with ``mappings`` ((effect, group DN) pairs)."""
    directory.groups.all().delete()
    for effect, group_dn in mappings:
        map_group(directory, group_dn, effect)


@dataclass(frozen=True)
class Sample:
    """One user as the test connection shows them: what each attribute maps to."""

    dn: str
    username: str
    display_name: str
    email: str
    phone: str
    office_phone: str
    state: str

    @property
    def state_label(self) -> str:
        return str(STATE_LABELS.get(self.state, self.state))


def check_connection(directory: Directory, count: int = 5) -> tuple[str, list[Sample]]:
    """Bind as the service account and read the first ``count`` users: which URL
    answered and how each attribute maps. DirectoryUnavailable or InvalidInput say why not."""
    from twofold.directory.sync import _attributes  # the one list of attributes read

    region = directory.organisation.default_country
    with client.session(directory) as connection:
        kind = client.kind_of(connection)
        url = connection.get_option(client.ldap.OPT_URI)
        found = []
        for dn, values in client.paged_search(
            connection,
            directory.base_dn,
            directory.user_filter,
            _attributes(directory, kind),
            min(count, directory.page_size),
        ):
            found.append(
                Sample(
                    dn=dn,
                    username=client.first(values, directory.attr_username),
                    display_name=client.first(values, directory.attr_display_name),
                    email=client.first(values, directory.attr_email),
                    phone=phones.parse(client.first(values, directory.attr_phone), region),
                    office_phone=phones.parse(
                        client.first(values, directory.attr_office_phone), region
                    ),
                    state=state_from_entry(values),
                )
            )
            if len(found) >= count:
                break
    return url, found

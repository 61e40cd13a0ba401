"""An organisation's LDAP or Active Directory directory, and who in twofold came from it.

The connection is the organisation's own (one directory per organisation); its service
account's password is kept encrypted. A user with a ``DirectoryAccount`` has no password
in twofold: it is checked by binding to the directory as them (docs/directory.md).
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from twofold.accounts.models import User
from twofold.core.fields import EncryptedTextField
from twofold.organisations.models import Organisation


class Preset(models.TextChoices):
    ACTIVE_DIRECTORY = "ad", _("Active Directory")
    OPENLDAP = "openldap", _("OpenLDAP")


class Directory(models.Model):
    organisation = models.OneToOneField(
        Organisation, on_delete=models.CASCADE, related_name="directory"
    )
    # One URL a line, tried in order: the first that answers is used (failover).
    urls = models.TextField(_("directory addresses"))
    start_tls = models.BooleanField(_("StartTLS on ldap:// addresses"), default=True)
    # PEM certificates the directory's certificate must chain to; empty: the system's CAs.
    ca_bundle = models.TextField(_("CA certificates"), blank=True)
    bind_dn = models.CharField(_("bind DN"), max_length=500)
    bind_password = EncryptedTextField(blank=True)
    base_dn = models.CharField(_("base DN"), max_length=500)
    user_filter = models.CharField(_("user filter"), max_length=500)
    preset = models.CharField(_("preset"), max_length=10, choices=Preset)
    attr_username = models.CharField(_("user name attribute"), max_length=100)
    attr_display_name = models.CharField(_("display name attribute"), max_length=100)
    attr_email = models.CharField(_("e-mail attribute"), max_length=100)
    attr_phone = models.CharField(_("authentication phone attribute"), max_length=100)
    attr_office_phone = models.CharField(_("office phone attribute"), max_length=100)
    page_size = models.PositiveIntegerField(default=500)
    # Incremental sync: the highest change mark (uSNChanged or modifyTimestamp) seen.
    sync_mark = models.CharField(max_length=40, blank=True)
    synced_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.organisation.slug}: {self.base_dn}"

    @property
    def url_list(self) -> list[str]:
        return [line.strip() for line in self.urls.splitlines() if line.strip()]


class Effect(models.TextChoices):
    ENFORCED = "enforced", _("Two-step verification enforced")
    ENABLED = "enabled", _("Two-step verification enabled")
    DISABLED = "disabled", _("Two-step verification disabled")
    ADMIN = "admin", _("Administrator")


class GroupMapping(models.Model):
    """Members of ``group_dn``, nested groups followed, get ``effect`` (docs/directory.md)."""

    directory = models.ForeignKey(Directory, on_delete=models.CASCADE, related_name="groups")
    group_dn = models.CharField(_("group DN"), max_length=500)
    effect = models.CharField(_("effect"), max_length=10, choices=Effect)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["directory", "group_dn", "effect"], name="group_once")
        ]

    def __str__(self) -> str:
        return f"{self.group_dn}: {self.effect}"


class DirectoryAccount(models.Model):
    """The directory entry a twofold user comes from, found again by its unchanging ID
    (entryUUID, or Active Directory's objectGUID) even after it moves or is renamed."""

    user = models.OneToOneField(User, on_delete=models.CASCADE, related_name="directory_account")
    directory = models.ForeignKey(Directory, on_delete=models.CASCADE, related_name="accounts")
    entry_id = models.CharField(max_length=64)
    dn = models.CharField(max_length=1000)
    # Administrator because of a mapped group: the sync takes back only what it gave.
    admin_from_directory = models.BooleanField(default=False)
    # Blocked by the sync (gone from, or disabled in, the directory): lifted by it only.
    blocked_by_directory = models.BooleanField(default=False)
    # What the directory said of each phone last time, E.164 (docs/directory.md).
    phone = models.CharField(max_length=20, blank=True)
    office_phone = models.CharField(max_length=20, blank=True)
    synced_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["directory", "entry_id"], name="directory_entry_once")
        ]

    def __str__(self) -> str:
        return self.dn

"""The operator's work on organisations: open one with its first administrator, list them,
suspend and resume one.

The operator (``User.is_operator``, a superuser of the service) is an administrator of
their own organisation too. Opening an organisation reuses what the command line and the
user import use: ``create_organisation``, ``create_user`` and the one-time set-password
link, all in one transaction (a refused administrator leaves no organisation behind).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction
from django.db.models import Count, Q, QuerySet

from twofold.accounts import services as accounts
from twofold.accounts.models import MfaState, User
from twofold.core.errors import InvalidInput
from twofold.organisations.models import Organisation
from twofold.organisations.services import create_organisation


@dataclass(frozen=True)
class OpenedOrganisation:
    organisation: Organisation
    admin: User
    link: str  # the first administrator's one-time set-password link: shown once


@transaction.atomic
def open_organisation(
    *, name: str, domain: str, admin_username: str, admin_display_name: str, actor: User
) -> OpenedOrganisation:
    """A new organisation owning ``domain`` and its first administrator (no password yet,
    two-step verification enforced), with the link that lets them set a password."""
    try:
        organisation = create_organisation(name, [domain], actor=actor)
    except InvalidInput as refused:  # a name or slug says so; the rest is the domain's
        raise InvalidInput(refused.message, field=refused.field or "domain") from None
    try:
        admin = accounts.create_user(
            organisation,
            admin_username,
            None,
            display_name=" ".join(admin_display_name.split()),
            is_admin=True,
            mfa_state=MfaState.ENFORCED,
            actor=actor,
        )
    except InvalidInput as refused:
        raise InvalidInput(refused.message, field="admin_username") from None
    link = accounts.password_link(admin, actor=actor)
    return OpenedOrganisation(organisation=organisation, admin=admin, link=link)


def overview() -> QuerySet[Organisation]:
    """Every organisation with its domains and how many users and administrators it has."""
    return (
        Organisation.objects.annotate(
            user_count=Count("users", distinct=True),
            admin_count=Count("users", filter=Q(users__is_admin=True), distinct=True),
        )
        .prefetch_related("domains")
        .order_by("name", "pk")
    )

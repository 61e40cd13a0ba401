"""Creating organisations and finding the one a user name belongs to."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _

from twofold.audit.models import AuditAction, AuditResult
from twofold.audit.services import record
from twofold.core.errors import InvalidInput
from twofold.organisations.models import Organisation, OrganisationDomain

if TYPE_CHECKING:
    from twofold.accounts.models import User


def normalise_domain(domain: str) -> str:
    return domain.strip().lower().rstrip(".")


def domain_of(username: str) -> str:
    return normalise_domain(username.rpartition("@")[2]) if "@" in username else ""


def find_by_username(username: str) -> Organisation | None:
    """The organisation that owns the domain of ``username``, if any (home-realm discovery)."""
    domain = domain_of(username)
    if not domain:
        return None
    found = OrganisationDomain.objects.select_related("organisation").filter(domain=domain).first()
    return found.organisation if found else None


_SIGNING_IN_TO = "twofold.organisation"


def remember_for_session(request: HttpRequest, organisation: Organisation | None) -> None:
    """Note the organisation a sign-in is for, once the user name has told it: the error
    pages met halfway through still show its branding and help-desk link."""
    # Only when it changes: setting the same value again would save the session again.
    if organisation is not None and request.session.get(_SIGNING_IN_TO) != organisation.pk:
        request.session[_SIGNING_IN_TO] = organisation.pk


def remember_for_session_by_username(request: HttpRequest, username: str) -> None:
    """``remember_for_session`` for the organisation of ``username``'s domain, reading
    only its id (the user-name step needs nothing else of it)."""
    domain = domain_of(username)
    found = OrganisationDomain.objects.filter(domain=domain) if domain else None
    pk = found.values_list("organisation_id", flat=True).first() if found is not None else None
    if pk is not None and request.session.get(_SIGNING_IN_TO) != pk:
        request.session[_SIGNING_IN_TO] = pk


def of_session(request: HttpRequest) -> Organisation | None:
    """The signed-in user's organisation, else the one a sign-in in this session is for."""
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return user.organisation
    session = getattr(request, "session", None)
    pk = session.get(_SIGNING_IN_TO) if session is not None else None
    return Organisation.objects.filter(pk=pk).first() if pk else None


def _check_domain(domain: str) -> None:
    """Refuse what no user name could end with (user names are e-mail-like)."""
    try:
        validate_email(f"user@{domain}")
    except ValidationError:
        raise InvalidInput(
            _("“%(domain)s” is not a domain name such as contoso.example.") % {"domain": domain}
        ) from None


@transaction.atomic
def create_organisation(
    name: str,
    domains: list[str],
    slug: str = "",
    *,
    actor: User | None = None,
    **policy: object,
) -> Organisation:
    """Create an organisation owning ``domains``; refuses a domain another organisation owns."""
    domains = [normalise_domain(domain) for domain in domains if domain.strip()]
    name = " ".join(name.split())
    if not name:
        raise InvalidInput(_("Give the organisation a name."), field="name")
    if not domains:
        raise InvalidInput(_("An organisation needs at least one domain."))
    for domain in domains:
        _check_domain(domain)
    taken = list(
        OrganisationDomain.objects.filter(domain__in=domains).values_list("domain", flat=True)
    )
    if taken:
        raise InvalidInput(
            _("This domain already belongs to an organisation: %s") % ", ".join(taken)
        )
    organisation = Organisation(name=name, slug=slug or slugify(name), **policy)
    if not organisation.slug:
        raise InvalidInput(_("Give the organisation a short name in Latin letters."), field="slug")
    if Organisation.objects.filter(slug=organisation.slug).exists():
        raise InvalidInput(
            _("The short name “%(slug)s” is taken: choose another.") % {"slug": organisation.slug},
            field="slug",
        )
    try:
        organisation.full_clean()
    except ValidationError as error:
        raise InvalidInput("; ".join(error.messages)) from None
    organisation.save()
    OrganisationDomain.objects.bulk_create(
        OrganisationDomain(organisation=organisation, domain=domain) for domain in domains
    )
    record(
        AuditAction.ORGANISATION_CREATED,
        AuditResult.SUCCESS,
        organisation=organisation,
        actor=actor,
        actor_label="" if actor else "system",
    )
    return organisation


@transaction.atomic
def suspend(organisation: Organisation, *, actor: User | None) -> bool:
    """Suspend ``organisation``: its people can't sign in (their sessions end at their next
    request), its API clients and applications are refused. Reversible with ``resume``;
    returns False if it already was suspended (nothing changes, nothing is recorded)."""
    if actor is not None and actor.organisation_id == organisation.pk:
        raise InvalidInput(_("You can't suspend your own organisation: you would be locked out."))
    changed = Organisation.objects.filter(pk=organisation.pk, suspended_at__isnull=True).update(
        suspended_at=timezone.now()
    )
    if changed:
        record(
            AuditAction.ORGANISATION_SUSPENDED,
            AuditResult.SUCCESS,
            organisation=organisation,
            actor=actor,
        )
    organisation.refresh_from_db(fields=["suspended_at"])
    return bool(changed)


@transaction.atomic
def resume(organisation: Organisation, *, actor: User | None) -> bool:
    """Lift a suspension: everything works again as it did (nothing was deleted)."""
    changed = Organisation.objects.filter(pk=organisation.pk, suspended_at__isnull=False).update(
        suspended_at=None
    )
    if changed:
        record(
            AuditAction.ORGANISATION_RESUMED,
            AuditResult.SUCCESS,
            organisation=organisation,
            actor=actor,
        )
    organisation.refresh_from_db(fields=["suspended_at"])
    return bool(changed)

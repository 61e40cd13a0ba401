"""Registering an organisation's applications, and the audit events of signing in to them.

The admin portal (and later the REST API) call these; each change is validated in full,
saved and audited in one transaction. A confidential application's client secret is
returned once, here, and stored only as a hash (django-oauth-toolkit hashes it on save).
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Iterable
from urllib.parse import parse_qs, unquote_plus, urlsplit

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from oauth2_provider.generators import generate_client_secret

from twofold.accounts.models import User
from twofold.audit.models import AuditAction, AuditResult
from twofold.audit.services import record, record_at_most, safe_text
from twofold.core import crypto
from twofold.core.errors import InvalidInput
from twofold.core.ratelimit import Limit
from twofold.oidc.models import SCOPES, Application, Authentication
from twofold.organisations.models import Organisation

CONFIDENTIAL = Application.CLIENT_CONFIDENTIAL
PUBLIC = Application.CLIENT_PUBLIC

# There is no audit action for applications yet: registering, changing and deleting one
# is recorded as a change of the organisation's settings (kind "application"), and a
# sign-in to one as a sign-in (via "application"). One place to change when they come.
_APPLICATION_CHANGED = AuditAction.POLICY_CHANGED
_SIGNED_IN_TO_APPLICATION = AuditAction.SIGNIN_COMPLETED
# Refused token and revocation requests of one client address audited each hour.
_AUDITED_TOKEN_REFUSALS = Limit("oidc-token-refused", 30, 3600)
# The kinds of request an event may name; anything else typed is recorded as "other".
_KNOWN_KINDS = frozenset(
    {
        "authorization_code",
        "refresh_token",
        "password",
        "client_credentials",
        "implicit",
        "urn:ietf:params:oauth:grant-type:device_code",
        "urn:ietf:params:oauth:grant-type:jwt-bearer",
        "urn:ietf:params:oauth:grant-type:saml2-bearer",
        "urn:ietf:params:oauth:grant-type:token-exchange",
        "revocation",
    }
)
_ERROR_CODE = re.compile(r"[a-z_]{1,40}")  # RFC 6749 section 5.2's error codes


def applications_of(organisation: Organisation) -> QuerySet[Application]:
    return Application.objects.filter(organisation=organisation).order_by("name", "pk")


def register_application(
    organisation: Organisation,
    actor: User,
    *,
    name: str,
    client_type: str,
    redirect_uris: Iterable[str],
    post_logout_redirect_uris: Iterable[str] = (),
    scopes: Iterable[str] = SCOPES,
) -> tuple[Application, str]:
    """A new application for ``organisation``; its client secret, shown once ("" if public)."""
    secret = generate_client_secret() if client_type == CONFIDENTIAL else ""
    application = Application(
        organisation=organisation,
        name=name.strip(),
        client_type=client_type,
        client_secret=secret,
        hash_client_secret=bool(secret),  # a public application has none: nothing to hash
        authorization_grant_type=Application.GRANT_AUTHORIZATION_CODE,
        algorithm=Application.RS256_ALGORITHM,
        # Registered by the organisation's administrator: no consent screen for its people.
        skip_authorization=True,
    )
    _apply(application, redirect_uris, post_logout_redirect_uris, scopes)
    with transaction.atomic():
        application.save()
        _audit(application, actor, "registered")
    return application, secret


def update_application(
    application: Application,
    actor: User,
    *,
    name: str,
    redirect_uris: Iterable[str],
    post_logout_redirect_uris: Iterable[str] = (),
    scopes: Iterable[str] = SCOPES,
) -> Application:
    application.name = name.strip()
    _apply(application, redirect_uris, post_logout_redirect_uris, scopes)
    with transaction.atomic():
        application.save()
        _audit(application, actor, "changed")
    return application


def new_client_secret(application: Application, actor: User) -> str:
    """Replace a confidential application's secret; the old one stops working at once."""
    if application.client_type != CONFIDENTIAL:
        raise InvalidInput(_("A public application has no client secret."))
    secret = generate_client_secret()
    application.client_secret = secret
    with transaction.atomic():
        application.save(update_fields=["client_secret", "updated"])
        _audit(application, actor, "new client secret")
    return secret


def delete_application(application: Application, actor: User) -> None:
    """Delete the application with its codes and tokens: its sign-ins stop at once."""
    with transaction.atomic():
        _audit(application, actor, "deleted")
        application.delete()


def _apply(
    application: Application,
    redirect_uris: Iterable[str],
    post_logout_redirect_uris: Iterable[str],
    scopes: Iterable[str],
) -> None:
    """Set the fields and validate the whole application, as a typed error on its field."""
    application.redirect_uris = " ".join(uri.strip() for uri in redirect_uris if uri.strip())
    application.post_logout_redirect_uris = " ".join(
        uri.strip() for uri in post_logout_redirect_uris if uri.strip()
    )
    chosen = set(scopes) | {"openid"}
    application.allowed_scopes = [scope for scope in SCOPES if scope in chosen]
    if not application.name:
        raise InvalidInput(_("Enter a name."), field="name")
    try:
        application.full_clean()
    except ValidationError as invalid:
        field, messages = next(iter(invalid.message_dict.items()))
        raise InvalidInput(" ".join(messages), field=field) from None


def _audit(application: Application, actor: User, change: str) -> None:
    record(
        _APPLICATION_CHANGED,
        AuditResult.SUCCESS,
        organisation=application.organisation,
        actor=actor,
        kind="application",
        changes=change,
        application=safe_text(application.name),
    )


def record_sign_in(user: User, application: Application) -> None:
    """The user was sent back to ``application`` with an authorization code."""
    record(
        _SIGNED_IN_TO_APPLICATION,
        AuditResult.SUCCESS,
        actor=user,
        subject=user,
        via="application",
        application=safe_text(application.name),
    )


def record_refusal(user: User, application: Application, reason: str) -> None:
    record(
        _SIGNED_IN_TO_APPLICATION,
        AuditResult.DENIED,
        actor=user,
        subject=user,
        via="application",
        application=safe_text(application.name),
        reason=reason,
    )


def application_named_in(next_url: str | None, organisation: Organisation) -> str:
    """The name of the organisation's application a sign-in continues to, if any: a push
    approval shows it on the phone. ``next_url`` is the page the sign-in returns to."""
    if not next_url:
        return ""
    parts = urlsplit(next_url)
    if not parts.path.startswith("/oauth2/authorize"):
        return ""
    client_id = parse_qs(parts.query).get("client_id", [""])[0]
    if not client_id:
        return ""
    found = Application.objects.filter(client_id=client_id, organisation=organisation).first()
    return found.name if found else ""


def end_tokens_of(user: User, **_signal: object) -> None:
    """The user signed out everywhere: every token an application holds for them ends now
    (access and ID tokens expire, refresh tokens are revoked, so none is renewed), and so
    do authorization codes not yet exchanged."""
    from oauth2_provider.models import (
        get_access_token_model,
        get_grant_model,
        get_id_token_model,
        get_refresh_token_model,
    )

    now = timezone.now()
    get_grant_model().objects.filter(user=user).delete()
    get_access_token_model().objects.filter(user=user, expires__gt=now).update(expires=now)
    get_id_token_model().objects.filter(user=user, expires__gt=now).update(expires=now)
    get_refresh_token_model().objects.filter(user=user, revoked__isnull=True).update(revoked=now)


# --- The token and revocation endpoints ------------------------------------------------------


def client_id_from(posted: str | None, authorization: str | None) -> str:
    """The client_id a request names, in its form or its HTTP Basic credentials.

    Only the name: the secret beside it is not checked here ("" when there is none).
    """
    if posted:
        return posted
    scheme, _space, credentials = (authorization or "").partition(" ")
    if scheme != "Basic":
        return ""
    try:
        decoded = base64.b64decode(credentials, validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return ""
    return unquote_plus(decoded.partition(":")[0])


def record_refused_token_request(client_id: str, kind: str, answer: bytes) -> None:
    """Audit a refused token or revocation request, 30 times an hour per address at most.

    ``answer`` is the endpoint's JSON error. The event names the kind of request (a grant
    type, only if it is a known one), the error code and the application the client_id
    names, if any; never what was typed as a user name, password, code or secret.
    """
    try:
        error = str(json.loads(answer).get("error", ""))
    except (ValueError, AttributeError):
        error = ""
    application = (
        Application.objects.select_related("organisation").filter(client_id=client_id).first()
        if client_id
        else None
    )
    named = {"application": safe_text(application.name)} if application else {}
    record_at_most(
        _AUDITED_TOKEN_REFUSALS,
        AuditAction.TOKEN_REQUEST_REFUSED,
        AuditResult.DENIED,
        organisation=application.organisation if application else None,
        via="application",
        kind=kind if kind in _KNOWN_KINDS else "other",
        reason=error if _ERROR_CODE.fullmatch(error) else "other",
        **named,
    )


def end_tokens_of_replayed_code(application: Application | None, code: str) -> None:
    """A code presented again after its exchange (RFC 6749 section 4.1.2): the tokens
    issued from it, and every refresh of them, end now (access and ID tokens expire,
    refresh tokens are revoked). The request is refused all the same, by the caller."""
    from oauth2_provider.models import (
        get_access_token_model,
        get_id_token_model,
        get_refresh_token_model,
    )

    if application is None or not code:
        return
    found = Authentication.objects.filter(
        application=application,
        code_digest=crypto.digest(code),
        grant__isnull=True,  # exchanged: an unexchanged code that failed is no replay
        token_family__isnull=False,
    ).first()
    if found is None:
        return
    now = timezone.now()
    refresh_tokens = get_refresh_token_model().objects.filter(
        application=application, token_family=found.token_family
    )
    access_tokens = get_access_token_model().objects.filter(
        Q(refresh_token__in=refresh_tokens) | Q(source_refresh_token__in=refresh_tokens),
        expires__gt=now,
    )
    with transaction.atomic():
        get_id_token_model().objects.filter(access_token__in=access_tokens, expires__gt=now).update(
            expires=now
        )
        ended = access_tokens.update(expires=now)
        ended += refresh_tokens.filter(revoked__isnull=True).update(revoked=now)
        if ended:
            record(
                AuditAction.TOKEN_REQUEST_REFUSED,
                AuditResult.DENIED,
                actor_label=safe_text(application.name),
                subject=found.user,
                via="application",
                application=safe_text(application.name),
                reason="authorization code used again: its tokens were revoked",
            )

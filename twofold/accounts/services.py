"""Users: creating them, setting passwords, and the password step of signing in."""

from __future__ import annotations

from collections.abc import Sequence

from django.conf import settings
from django.contrib import auth
from django.contrib.auth import password_validation
from django.contrib.auth.hashers import UNUSABLE_PASSWORD_PREFIX
from django.contrib.auth.tokens import default_token_generator
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.db.models import F, QuerySet
from django.dispatch import Signal
from django.http import HttpRequest
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from twofold.accounts.backends import AccountBlocked, kept_elsewhere
from twofold.accounts.models import MfaState, User, normalise_username
from twofold.accounts.names import typed_user_name
from twofold.audit.models import AuditAction, AuditResult
from twofold.audit.services import record, record_for_users
from twofold.core import bulk, crypto, languages
from twofold.core.errors import AlreadyExists, DependencyUnavailable, InvalidInput, RateLimited
from twofold.core.ratelimit import AddressLimits, Limit, resume_time
from twofold.organisations.models import Organisation
from twofold.organisations.services import domain_of, find_by_username


class InvalidCredentials(InvalidInput):
    """Unknown user, wrong password, or a user who may not sign in: one answer for all three."""

    code = "invalid_credentials"


class PasswordKeptElsewhere(InvalidInput):
    """The user's password is their directory's: twofold neither sets it nor makes a link
    to set it (a password set here would never be checked, docs/directory.md)."""

    code = "password_kept_elsewhere"
    default_message = gettext_lazy(
        "This user's password is kept in your organisation's directory: change or reset it "
        "there. twofold checks it there at every sign-in."
    )


def password_kept_elsewhere(user: User) -> bool:
    """Whether ``user``'s password is kept outside twofold (by their directory)."""
    return User.objects.filter(kept_elsewhere(), pk=user.pk).exists()


def _limits() -> tuple[Limit, Limit]:
    options = settings.TWOFOLD
    window = options["signin_window_seconds"]
    return (
        Limit("signin-user", options["signin_attempts_per_user"], window),
        Limit("signin-address", options["signin_attempts_per_address"], window),
    )


def validate_username(
    username: str, organisation: Organisation, domains: frozenset[str] | None = None
) -> str:
    """The user name, normalised; InvalidInput when it is no name@domain of the
    organisation's. ``domains``: the organisation's, read once by a caller checking many."""
    username = normalise_username(username)
    try:
        validate_email(username)
    except ValidationError:
        raise InvalidInput(_("Enter a user name such as alice@contoso.example.")) from None
    if domains is not None:
        known = domain_of(username) in domains
    else:
        known = organisation.domains.filter(domain=domain_of(username)).exists()
    if not known:
        raise InvalidInput(_("The user name's domain does not belong to this organisation."))
    return username


def effective_mfa_state(user: User) -> str:
    """The MFA state sign-in decisions go by: an administrator's is at least "enforced",
    whatever is stored (an import, an API call or a bulk change may lower the stored one):
    administrators are never single-factor (docs/security.md 29)."""
    return minimum_mfa_state(user.mfa_state, is_admin=user.is_admin)


def minimum_mfa_state(state: str, *, is_admin: bool) -> str:
    """``state``, raised to "enforced" for an administrator: what to store when one is
    created or made an administrator, and what sign-in reads (docs/security.md 29)."""
    return MfaState.ENFORCED if is_admin else state


def new_user(
    organisation: Organisation,
    username: str,
    *,
    display_name: str = "",
    email: str = "",
    is_admin: bool = False,
    is_operator: bool = False,
    mfa_state: str = MfaState.DISABLED,
    domains: frozenset[str] | None = None,
) -> User:
    """The unsaved user that ``create_user`` (and ``create_users``, in bulk) saves: the
    user name's rules applied, no usable password yet. An administrator is always
    "enforced", whatever ``mfa_state`` asks; an operator is an administrator too.
    ``domains``: the organisation's, read once for many users (``validate_username``)."""
    if is_operator:
        is_admin = True
    user = User(
        organisation=organisation,
        username=validate_username(username, organisation, domains),
        display_name=display_name,
        email=email,
        is_admin=is_admin,
        is_operator=is_operator,
        mfa_state=minimum_mfa_state(mfa_state, is_admin=is_admin),
    )
    # Django's own unusable mark ("!" and 40 random letters), drawn at once: drawn a
    # letter at a time it was a large part of a bulk creation.
    user.password = UNUSABLE_PASSWORD_PREFIX + crypto.random_token(30)
    return user


def create_user(
    organisation: Organisation,
    username: str,
    password: str | None = None,
    *,
    display_name: str = "",
    email: str = "",
    is_admin: bool = False,
    is_operator: bool = False,
    mfa_state: str = MfaState.DISABLED,
    actor: User | None = None,
    actor_label: str = "",
) -> User:
    """Create a user in ``organisation`` (the rules: ``new_user``). Without a password the
    account cannot sign in yet."""
    user = new_user(
        organisation,
        username,
        display_name=display_name,
        email=email,
        is_admin=is_admin,
        is_operator=is_operator,
        mfa_state=mfa_state,
    )
    if User.objects.filter(username=user.username).exists():
        raise AlreadyExists(_("A user with this user name already exists."))
    if password is not None:
        _validated(password, user)
        user.set_password(password)
    try:
        with transaction.atomic():  # a savepoint: another request may have just made them
            user.save()
    except IntegrityError:
        raise AlreadyExists(_("A user with this user name already exists.")) from None
    record(
        AuditAction.USER_CREATED,
        AuditResult.SUCCESS,
        actor=actor,
        actor_label=actor_label or ("system" if actor is None else ""),
        subject=user,
    )
    return user


@transaction.atomic
def create_users(
    users: list[User], *, actor: User | None = None, actor_label: str = ""
) -> list[User]:
    """Save users made by ``new_user`` in bulk, with create_user's audit event each: all
    or nothing (IntegrityError when a name is taken meanwhile; the caller may then go one
    at a time through ``create_user``)."""
    if not users:
        return users
    bulk.insert(User, users)
    ids = dict(
        User.objects.filter(username__any=[user.username for user in users]).values_list(
            "username", "pk"
        )
    )
    for user in users:
        user.pk = ids[user.username]
        user._state.adding, user._state.db = False, User.objects.db
    record_for_users(
        AuditAction.USER_CREATED,
        AuditResult.SUCCESS,
        User.objects.filter(pk__any=[user.pk for user in users]),
        actor=actor,
        actor_label=actor_label or ("system" if actor is None else ""),
    )
    return users


@transaction.atomic
def set_mfa_state(
    users: QuerySet[User], state: str, *, actor: User | None = None, actor_label: str = ""
) -> int:
    """Set the MFA state of ``users`` (set-based). Turning it off forgets trusted devices,
    so that turning it back on later asks every browser again."""
    if state not in MfaState.values:
        raise InvalidInput(_("Choose disabled, enabled or enforced."))
    changing = User.objects.filter(pk__in=users.order_by().values("pk")).exclude(mfa_state=state)
    # Audited first: afterwards the same query would select nobody.
    record_for_users(AuditAction.MFA_STATE_CHANGED, AuditResult.SUCCESS, changing, actor=actor,
                     actor_label=actor_label, kind=state)  # fmt: skip
    update: dict[str, object] = {"mfa_state": state}
    if state == MfaState.DISABLED:
        update["trusted_device_epoch"] = F("trusted_device_epoch") + 1
    return changing.update(**update)


def _validated(password: str, user: User) -> None:
    try:
        password_validation.validate_password(password, user)
    except ValidationError as error:
        raise InvalidInput(" ".join(error.messages)) from None


@transaction.atomic
def set_password(user: User, password: str, *, actor: User | None = None, via: str = "") -> None:
    """Set a new password. Every trusted device is forgotten and, through Django's session
    hash, every other session of the user ends. PasswordKeptElsewhere for a directory user."""
    if password_kept_elsewhere(user):
        raise PasswordKeptElsewhere()
    _validated(password, user)
    user.set_password(password)
    user.save(update_fields=["password"])
    User.objects.filter(pk=user.pk).update(trusted_device_epoch=F("trusted_device_epoch") + 1)
    details = {"via": via} if via else {}
    record(
        AuditAction.PASSWORD_SET, AuditResult.SUCCESS, actor=actor or user, subject=user, **details
    )


def check_password(
    request: HttpRequest | None,
    username: str,
    password: str,
    *,
    organisation: Organisation | None = None,
    say_blocked: bool = False,
) -> User:
    """Verify a user name and password (see ``check_password_readings``, of which this is
    the one-reading case)."""
    user, _reading = check_password_readings(
        request, username, (password,), organisation=organisation, say_blocked=say_blocked
    )
    return user


def check_password_readings(
    request: HttpRequest | None,
    username: str,
    readings: Sequence[str],
    *,
    organisation: Organisation | None = None,
    say_blocked: bool = False,
) -> tuple[User, int]:
    """Verify a user name and password, counting a wrong one against the user and the address.

    The address is the person's (an integration's own counts only in its own ceiling,
    docs/security.md 32). An attempt is counted before hashing, so parallel guesses cannot
    slip past the limit, and taken back once it proves right: right passwords never fill a
    failure limit. Raises RateLimited before any hashing once a counter is over its limit,
    and InvalidCredentials, identical for every kind of refusal, when the pair is wrong.
    ``organisation``: the one ``find_by_username`` found for this name, if the caller has
    already asked (it is looked up otherwise). ``request``: None where there is no HTTP
    request (RADIUS); the address context says whose attempt it is. ``say_blocked``: raise
    AccountBlocked when a right password meets a blocked account (the sign-in page tells
    the person; the API answers as for a wrong password).

    ``readings``: the ways the typed password can be read, tried in order, as one attempt:
    RADIUS's PAP carries password and code in one field, so ``secret123456`` is tried as
    ``secret`` (with a code) and then as itself (docs/radius.md). One wrong attempt is
    counted once, and a right second reading leaves nothing counted. Returns the user and
    the index of the reading that was right.
    """
    username = normalise_username(username)
    by_user, by_address = _limits()
    addresses = AddressLimits.current(by_address)
    if organisation is None:
        organisation = find_by_username(username)
    if by_user.exceeded(username) or addresses.exceeded():
        record(
            AuditAction.SIGNIN_RATE_LIMITED,
            AuditResult.DENIED,
            organisation=organisation,
            subject_label=typed_user_name(username, organisation),
        )
        seconds = max(
            by_user.retry_after(username) if by_user.exceeded(username) else 0,
            addresses.retry_after(),
        )
        raise RateLimited(
            _("Too many sign-in attempts. Try again after %(time)s.")
            % {"time": resume_time(seconds)},
            retry_after=seconds,
        )
    addresses.hit()
    try:
        user, reading = _authenticate(request, username, readings)
    except AccountBlocked as blocked:
        # A directory's refusal names the account's state (disabled, locked, expired...).
        reason = getattr(blocked, "state", "blocked")
        _refused(username, organisation, by_user, reason=reason)
        if say_blocked:
            raise
        raise InvalidCredentials(_("Your user name or password is incorrect.")) from blocked
    except DependencyUnavailable:
        addresses.forgive()  # not judged (the user's directory is down): not an attempt
        raise
    if user is None:
        _refused(username, organisation, by_user)
        raise InvalidCredentials(_("Your user name or password is incorrect."))
    forgive_password_attempt(username)
    record(AuditAction.SIGNIN_PASSWORD, AuditResult.SUCCESS, actor=user, subject=user)
    return user, reading


def _authenticate(
    request: HttpRequest | None, username: str, readings: Sequence[str]
) -> tuple[User | None, int]:
    """The user whose password one of ``readings`` is, and which (None: none is)."""
    for reading, password in enumerate(readings):
        user = auth.authenticate(request, username=username, password=password)
        if user is not None:
            return user, reading
    return None, -1


def forgive_password_attempt(username: str) -> None:
    """A right credential after all (a password, or an app password that ``check_password``
    counted as a wrong one): clear the user's count and take back the address's attempt."""
    by_user, by_address = _limits()
    by_user.reset(username)
    AddressLimits.current(by_address).forgive()


def _refused(
    username: str, organisation: Organisation | None, by_user: Limit, reason: str = ""
) -> None:
    """Count and audit a refused password (a right one for a blocked account too)."""
    by_user.hit(username)
    known = User.objects.filter(username=username).only("id", "organisation_id").first()
    record(
        AuditAction.SIGNIN_PASSWORD,
        AuditResult.FAILURE,
        organisation=None if known else organisation,
        subject=known,
        # Only an existing user's name is kept: anything else typed in the user-name box
        # (a password, a phone number) must not reach the audit log (docs/security.md 31).
        subject_label=typed_user_name(username, organisation),
        **({"reason": reason} if reason else {}),
    )


def sign_out(request: HttpRequest) -> None:
    user = request.user if request.user.is_authenticated else None
    if user is not None:
        record(AuditAction.SIGNOUT, AuditResult.SUCCESS, actor=user, subject=user)
    auth.logout(request)


# Sent inside sign_out_everywhere's transaction, so that what other packages hold for the
# user (an OpenID Connect application's tokens) ends with the sessions.
signed_out_everywhere = Signal()


@transaction.atomic
def sign_out_everywhere(
    user: User,
    *,
    request: HttpRequest | None = None,
    actor: User | None = None,
    actor_label: str = "",
) -> None:
    """End every session of ``user`` on every server at their next request (the session
    epoch is part of each session's auth hash), sign-ins halfway through, every browser
    they trusted (its epoch too: a password alone must not get back in), and the tokens
    applications hold for them. ``request``: the user's own, whose session stays."""
    User.objects.filter(pk=user.pk).update(
        session_epoch=F("session_epoch") + 1, trusted_device_epoch=F("trusted_device_epoch") + 1
    )
    user.refresh_from_db(fields=["session_epoch", "trusted_device_epoch"])
    signed_out_everywhere.send(sender=User, user=user)
    record(
        AuditAction.SESSIONS_ENDED,
        AuditResult.SUCCESS,
        actor=actor or (user if request is not None else None),
        actor_label=actor_label,
        subject=user,
    )
    if request is not None and request.user.pk == user.pk:
        auth.update_session_auth_hash(request, user)


@transaction.atomic
def password_link(user: User, *, actor: User | None = None) -> str:
    """A one-time link to set a password (Django's token: void once the password changes,
    or after PASSWORD_RESET_TIMEOUT). Shown once to an administrator; never stored.

    For a user without a password, a new link voids the earlier ones (the unusable mark
    the token is bound to is replaced): at most one works, the newest.
    PasswordKeptElsewhere for a directory user: their password is changed there."""
    if password_kept_elsewhere(user):
        raise PasswordKeptElsewhere()
    if not user.has_usable_password():
        user.set_unusable_password()
        still_without = User.objects.filter(
            pk=user.pk, password__startswith=UNUSABLE_PASSWORD_PREFIX
        )
        if not still_without.update(password=user.password):
            user.refresh_from_db(fields=["password"])  # set meanwhile: keep theirs
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    token = default_token_generator.make_token(user)
    path = reverse("set-password", kwargs={"uidb64": uid, "token": token})
    record(AuditAction.PASSWORD_LINK_ISSUED, AuditResult.SUCCESS, actor=actor, subject=user)
    return f"{settings.TWOFOLD_BASE_URL}{path}"


@transaction.atomic
def set_preferences(user: User, *, language: str, time_zone: str) -> bool:
    """Save the person's language ("" = the organisation's) and time zone ("" = UTC).

    Both are checked before either is written; a change is audited with before and after.
    """
    language = languages.check_language(language)
    time_zone = languages.check_time_zone(time_zone)
    before = {"language": user.language, "time_zone": user.time_zone}
    after = {"language": language, "time_zone": time_zone}
    if before == after:
        return False
    User.objects.filter(pk=user.pk).update(**after)
    user.language, user.time_zone = language, time_zone
    changes = {key: {"before": before[key], "after": after[key]} for key in after}
    record(
        AuditAction.PREFERENCES_CHANGED,
        AuditResult.SUCCESS,
        actor=user,
        subject=user,
        changes={key: value for key, value in changes.items() if value["before"] != value["after"]},
    )
    return True

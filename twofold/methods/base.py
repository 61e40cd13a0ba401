"""The Method interface and the registry of kinds.

A *method* is something a user registers (phones, the authenticator app, app passwords,
hardware tokens). It offers one or more *options*: the ways it can verify the user at
sign-in ("text a code to my authentication phone", "call my office phone", "use a
verification code from the app"). The user's preferred option is stored by its key.

Sign-in, the settings page, the admin portal and the API use methods only through this
module. Adding a method = a package with a ``Method`` subclass + one line in ``METHODS``
(plus its app in INSTALLED_APPS and its URLs included, if it has models or pages).

The catalogue. Central lists never name a method: they are derived from the methods'
declarations here. ``Method.policy_kinds`` are what an organisation's policy can allow
(``policy_kinds()``: the policy page, the default for new organisations);
``Method.catalogue`` holds an ``OptionSpec`` per option the method can ever offer (its
labels, the RFC 8176 amr values it proves: ``option_spec()``, ``amr_for()``);
``Method.audit_actions`` extends the audit log's vocabulary (``audit_actions()``), with
no migration since the column has no database choices.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from dataclasses import dataclass, replace
from functools import cache
from typing import TYPE_CHECKING

from django import forms
from django.db import models
from django.db.models import QuerySet
from django.http import HttpRequest
from django.template.loader import render_to_string
from django.utils.module_loading import import_string

if TYPE_CHECKING:
    from twofold.accounts.models import User
    from twofold.methods.models import Challenge

# The registry: one line per method, in the order the settings page and sign-in list them.
METHODS = (
    "twofold.methods.authenticator.method.AuthenticatorMethod",
    "twofold.methods.phone.method.PhoneMethod",
    "twofold.methods.oath.method.HardwareTokenMethod",
    "twofold.methods.app_passwords.method.AppPasswordMethod",
    "twofold.methods.passkeys.method.PasskeyMethod",
    "twofold.methods.recovery.method.RecoveryCodeMethod",
)

_SIX_DIGITS = re.compile(r"^\d{6}$")


@dataclass(frozen=True)
class PolicyKind:
    """A kind of verifying an organisation's policy can allow ("text", "passkey")."""

    value: str  # stored in Organisation.allowed_methods
    label: str  # lazy: the policy page and the admin pages
    default: bool = True  # allowed for new organisations


@dataclass(frozen=True)
class OptionSpec:
    """An option a method can offer once registered, whoever the user."""

    key: str  # the Option.key: "text:authentication", "app_code"
    policy_kind: str  # the PolicyKind.value the organisation must allow
    label: str  # lazy: the settings page's "preferred option" list
    amr: tuple[str, ...]  # RFC 8176 values it proves: ("sms",), ("otp",), ("hwk", "user")
    phishing_resistant: bool = False
    admin_label: str = ""  # the admin's activity page, if it differs from ``label``
    preferable: bool = True  # listed under "preferred option" (an alternate phone is not)


class Interaction(models.TextChoices):
    CODE = "code"  # the person types something: six digits, a recovery code
    WAIT = "wait"  # the person answers a call or a push; the page waits for it
    # The browser answers by itself: the method's prompt_template holds a script that
    # posts the answer (a WebAuthn assertion) as the form's ``code`` field.
    BROWSER = "browser"


@dataclass(frozen=True)
class Option:
    key: str  # stable, stored as the preferred option: "text:authentication", "app_code"
    method: str  # the key of the Method that serves it
    policy_kind: str  # the PolicyKind.value the organisation must allow
    interaction: Interaction
    label: str  # for the settings page: "Text a code to my authentication phone"
    prompt: str  # for "sign in another way", masked: "Text +1 XXX XXX XX34"
    silent: bool = False  # starting it sends nothing (the code is already in an app)
    target: str = ""  # where a code or call goes, masked ("+1 XXX XXX XX34"), if anywhere
    # The code box of a CODE option: "numeric" (six digits) or "text" (a recovery code);
    # and the longest answer the pages take (a BROWSER option's answer is its JSON).
    code_inputmode: str = "numeric"
    code_max_length: int = 12


@dataclass(frozen=True)
class Enrolment:
    """Something a user may add now, through the method's own view (methods/enrolment.py
    hosts it on the settings page and in first-time registration alike)."""

    key: str  # "phone", "app", "passkey", "recovery_codes"
    label: str  # the choice's title: "Authenticator app"
    description: str  # a sentence under it
    url_name: str  # the method's view; it takes ?next=
    # Where it is offered: the settings page ("settings") and first-time registration
    # ("registration"), methods/enrolment.py. A view that serves one host only (today's
    # phone and app registration at sign-in) names that one.
    hosts: tuple[str, ...] = ("settings", "registration")
    primary: bool = False  # the recommended choice, drawn first and stronger


@dataclass(frozen=True)
class AdminItem:
    """One line of a method on the admin's page of a user: never a number or a secret."""

    label: str  # "Passkey: YubiKey 5"
    detail: str = ""  # "added 2026-01-02, last used 2026-02-03"
    remove_url: str | None = None  # a POST the administrator may send to remove it
    group: str = ""  # the heading it is listed under, if any ("Authenticator apps")
    # One of the method's own registrations that an administrator may remove through the
    # method's ``admin_remove`` (the portal asks to confirm with ``admin_remove_title``).
    removable_id: int | None = None
    method: str = ""  # the method's key, filled in by ``admin_summary()``


@dataclass(frozen=True)
class SettingsSaved:
    """What saving a method's part of the settings page's one form did."""

    changed: bool = False
    proof: Challenge | None = None  # a change that counts only once proven (a new number)
    proof_url: str = ""  # the method's page that asks for that proof
    preferred_waits: bool = False  # the new preferred option relies on that proof


class SettingsChanges(ABC):
    """A method's checked changes from the settings page's one form (``SettingsFields``),
    saved with the rest of the page in one transaction: all of it, or nothing."""

    def offers(self, option_key: str) -> bool:
        """Whether ``option_key`` is one of this method's, which ``save`` checks can be the
        preferred option once saved (a phone's option, while its number is entered)."""
        return False

    @abstractmethod
    def save(self, user: User, preferred_option: str) -> SettingsSaved:
        """Apply the changes inside the page's transaction, which holds the user's row lock
        (the lock order in methods/verification.py); raise a TwofoldError to refuse all.
        ``preferred_option``: what the page chose, applied by the page itself unless this
        says it waits for a proof."""

    def refused(self, user: User, error: Exception) -> None:
        """After the page's transaction rolled back for ``error`` (a cap on texts, a gateway
        down): what the method records of it, outside that transaction."""
        return None


class SettingsFields(forms.Form):
    """A method's fields inside the settings page's one form, drawn by the form's
    ``template_name`` (as ``form``) and checked with the rest before anything is saved."""

    def changes(self) -> SettingsChanges:
        """The checked changes, once ``is_valid()``."""
        raise NotImplementedError

    def suggested_option(self) -> str:
        """The preferred option to suggest to someone who has none usable yet, or ""."""
        return ""


class Method(ABC):
    """One kind of registered method. Instances are stateless singletons."""

    key: str
    #: The settings page includes this template for the method's own panel, if any.
    settings_template: str | None = None
    #: Whether the method can verify a sign-in (app passwords cannot: API only).
    second_factor: bool = True
    #: The kinds of verifying this method brings to organisations' policies (a kind may
    #: be shared: hardware tokens count as the authenticator's "app_code").
    policy_kinds: tuple[PolicyKind, ...] = ()
    #: What the admin portal's users filter calls those who registered it ("Passkeys").
    title: str = ""
    #: Every option the method could offer once registered.
    catalogue: tuple[OptionSpec, ...] = ()
    #: The audit actions this method records, as (value, lazy label): "recovery_codes.made".
    audit_actions: tuple[tuple[str, str], ...] = ()
    #: The waiting page includes this template for a WAIT option's prompt (None: a call's).
    wait_template: str | None = None
    #: The sign-in and step-up pages include this template, with ``prompt_context`` as
    #: ``prompt``, to ask for the answer to an open challenge: for a CODE option, in place
    #: of the page's "enter the 6-digit code" sentence, above the code box; for a BROWSER
    #: option, inside the page's form (CSRF token, a hidden ``code`` field, "remember this
    #: device"), for its script to fill ``code`` and submit. None: the plain code box.
    prompt_template: str | None = None

    @abstractmethod
    def options(self, user: User) -> list[Option]:
        """The options this method offers ``user`` now: registered and proven ones only."""

    def start(self, challenge: Challenge) -> None:
        """Begin ``challenge``: send the code, place the call, notify the app.

        Runs inside the transaction that created the challenge; raising rolls it back.
        Methods whose codes the person already holds (an authenticator app) do nothing.
        """
        return None

    def refuse_start(self, user: User, option: Option) -> None:
        """Raise a TwofoldError to refuse opening a challenge for ``option`` (one push at a
        time, a cap on pushes); runs before the user's other open challenge is closed."""
        return None

    def wait_context(self, challenge: Challenge) -> dict[str, object]:
        """What the waiting page and the API show while ``challenge`` waits (for a push,
        the number to type in the app)."""
        return {}

    def end_reason(self, challenge: Challenge) -> str:
        """Why a finished ``challenge`` ended, when its state alone doesn't say (a push
        approved with the wrong number): a key the pages have a message for, or ""."""
        return ""

    def parse(self, challenge: Challenge, response: str) -> object | None:
        """The method's reading of what the person (or their browser) sent for
        ``challenge``; None when it is malformed, which counts as a wrong code.

        The default: six digits, once spaces are removed. Runs inside the check's
        transaction, after the lockout, state and expiry were checked (verification.py).
        """
        code = (response or "").strip().replace(" ", "")
        return code if _SIX_DIGITS.match(code) else None

    def reads(self, response: str) -> bool:
        """Whether ``response`` has this method's shape, before any challenge is open: for a
        code sent without naming its method (the API, a VPN), the code's own shape picks
        the method (six digits: an app or a token; a recovery code: recovery codes).
        The default asks ``parse``, which must not need the challenge to tell the shape."""
        return self.parse(None, response) is not None  # type: ignore[arg-type]

    def check(self, challenge: Challenge, parsed: object) -> bool:
        """Compare ``parsed`` (what ``parse`` returned) for ``challenge`` in constant time
        and mark it used.

        Called inside a transaction that holds the challenge's row lock. Returns whether
        it matched; the caller approves the challenge, counts a failure and audits.
        """
        return False

    def prompt_context(self, challenge: Challenge) -> dict[str, object]:
        """What ``prompt_template`` needs to ask for the answer to ``challenge`` (a
        WebAuthn assertion's request options), only while it is open."""
        return {}

    def disown(self, challenge: Challenge) -> None:
        """Whoever a challenge proving something new reached said it is not theirs (fraud
        reported): drop what it would have proven and audit it. Runs inside the transaction
        that holds the challenge's row lock."""
        return None

    def forget(self, user_ids: QuerySet) -> int:
        """Remove every registration of this method for these users, in one statement.

        For "provide contact methods again": the old methods must stop counting at once,
        for one user or a hundred thousand. Returns how many registrations went.
        """
        return 0

    def notice_numbers(self, user_ids: QuerySet) -> QuerySet | None:
        """Where to tell these users that an administrator removed their registrations: a
        query of ``(user_id, number)`` rows, one per user at most (None: no phone to tell).
        Read before ``forget``; resets.py queues one text per row in the same statement."""
        return None

    def registered_user_ids(self) -> QuerySet | None:
        """A subquery of the ids of users with a usable registration (None: not a method
        one registers, e.g. app passwords). The admin portal filters on it."""
        return None

    def kinds_for(self, user_ids: list[int]) -> dict[int, list[str]]:
        """What each of these users registered, by kind ("Office phone"), never numbers."""
        return {}

    def signin_panel(self, request: HttpRequest) -> str | None:
        """What the first sign-in page (user name) shows from this method, rendered, or
        None: a way to sign in that needs no user name (a passkey).

        Rendered with the page, so that whatever it keeps in the session is written by the
        page's own response: the page must not send a request of its own to fetch it, whose
        write could race the person's user name (docs/design.md, "Sessions")."""
        return None

    def policy_panel(self, request, organisation) -> str | None:
        """The method's own rules for ``organisation`` on the admin policy page, rendered
        (a form posting to the method's own view), or None. Passkeys: user verification
        and attestation."""
        return None

    def settings_context(self, user: User) -> dict[str, object]:
        """What ``settings_template`` needs to draw this method's panel for ``user``."""
        return {}

    def settings_panel(self, request: HttpRequest, user: User) -> str | None:
        """The rendered HTML of this method's panel on the settings page, or None.

        The default renders ``settings_template`` with ``settings_context`` as ``panel``.
        """
        if not self.settings_template:
            return None
        context = {"panel": self.settings_context(user)}
        return render_to_string(self.settings_template, context, request=request)

    def settings_fields(self, user: User, data: object = None) -> SettingsFields | None:
        """The method's fields in the settings page's one form (bound to ``data``, the
        page's POST, if given), or None."""
        return None

    def settings_notices(self, request: HttpRequest, user: User) -> str | None:
        """What the settings page says above its form, rendered (a new number waiting for
        its proof), or None."""
        return None

    def admin_summary(self, user: User) -> list[AdminItem]:
        """What the admin's page of ``user`` lists of this method (the phones are already
        among the options; an app, a passkey, recovery codes left)."""
        return []

    #: What the admin portal asks to confirm before ``admin_remove`` ("Delete this
    #: authenticator app").
    admin_remove_title: str = ""

    def admin_remove(self, user: User, item_id: int, *, actor: User) -> str | None:
        """Remove the registration ``item_id`` of ``user`` (an ``AdminItem.removable_id``)
        for an administrator, audited; return what to tell them (None: this method has
        nothing an administrator removes one by one). NotFound if it is not the user's."""
        return None

    def enrolments(self, user: User) -> list[Enrolment]:
        """What ``user`` may add of this method now (what the policy allows and the
        method's own caps leave): the settings page and registration list these."""
        return []

    def after_first_method(self, user: User) -> Enrolment | None:
        """Offered right after a user's first method was registered (recovery codes)."""
        return None


@cache
def registry() -> dict[str, Method]:
    return {method.key: method for method in (import_string(path)() for path in METHODS)}


def get(key: str) -> Method:
    return registry()[key]


def options_for(user: User) -> list[Option]:
    """Every option ``user`` may verify with: registered, proven, allowed by the organisation.

    After an administrator asked the user to provide contact methods again, nothing counts.
    """
    if user.must_reregister:
        return []
    organisation = user.organisation
    return [
        option
        for method in registry().values()
        if method.second_factor
        for option in method.options(user)
        if organisation.allows(option.policy_kind)
    ]


def catalogue_for(user: User) -> list[tuple[str, str]]:
    """(key, label) of every option the user's organisation allows, registered or not:
    the settings page's "preferred option" list."""
    organisation = user.organisation
    return [
        (spec.key, str(spec.label))
        for method in registry().values()
        if method.second_factor
        for spec in method.catalogue
        if spec.preferable and organisation.allows(spec.policy_kind)
    ]


def policy_kinds() -> list[PolicyKind]:
    """Every kind an organisation's policy can allow, once each, in registry order."""
    found: dict[str, PolicyKind] = {}
    for method in registry().values():
        for kind in method.policy_kinds:
            found.setdefault(kind.value, kind)
    return list(found.values())


def policy_kind_choices() -> list[tuple[str, str]]:
    """(value, label) of every policy kind: the policy page's checkboxes."""
    return [(kind.value, kind.label) for kind in policy_kinds()]


def default_policy_kinds() -> list[str]:
    """What a new organisation allows."""
    return [kind.value for kind in policy_kinds() if kind.default]


@cache
def _specs() -> dict[str, OptionSpec]:
    return {spec.key: spec for method in registry().values() for spec in method.catalogue}


def option_spec(key: str) -> OptionSpec | None:
    """The catalogue entry of the option ``key`` (None: no method offers it, or no longer)."""
    return _specs().get(key)


def amr_for(option_key: str) -> tuple[str, ...]:
    """What the option proves, in RFC 8176's words; "mfa" alone for an unknown one."""
    spec = option_spec(option_key)
    return spec.amr if spec is not None else ("mfa",)


def option_admin_label(option_key: str) -> str:
    """How administrators see the option in a user's activity ("Text message"), or ""."""
    spec = option_spec(option_key)
    if spec is None:
        return ""
    return str(spec.admin_label or spec.label)


def audit_actions() -> dict[str, str]:
    """Every method's audit actions: value -> lazy label."""
    return {value: label for method in registry().values() for value, label in method.audit_actions}


def users_with_method(key: str) -> QuerySet | None:
    """A subquery of the ids of users who registered the method ``key`` (None: no such
    method one registers)."""
    method = registry().get(key)
    return method.registered_user_ids() if method is not None else None


def filterable_methods() -> list[tuple[str, str]]:
    """(key, title) of the methods the admin portal can filter users by."""
    return [
        (method.key, method.title)
        for method in registry().values()
        if method.title and method.registered_user_ids() is not None
    ]


def users_with_methods() -> list[QuerySet]:
    """Subqueries of the ids of users who registered at least one second factor."""
    found = (method.registered_user_ids() for method in registry().values() if method.second_factor)
    return [ids for ids in found if ids is not None]


def kinds_for(user_ids: list[int]) -> dict[int, list[str]]:
    """For a page of users: the kinds of methods each registered (a query per method)."""
    kinds: dict[int, list[str]] = {user_id: [] for user_id in user_ids}
    for method in registry().values():
        for user_id, labels in method.kinds_for(user_ids).items():
            kinds[user_id].extend(labels)
    return kinds


def find_option(user: User, key: str) -> Option | None:
    return next((option for option in options_for(user) if option.key == key), None)


def preferred_option(user: User, options: list[Option] | None = None) -> Option | None:
    """The option used first at sign-in: the user's choice if still usable, else the first.
    ``options``: the user's ``options_for``, if the caller already has them."""
    options = options_for(user) if options is None else options
    chosen = next((option for option in options if option.key == user.preferred_option), None)
    return chosen or (options[0] if options else None)


def signin_panels(request: HttpRequest) -> list[str]:
    """What the first sign-in page shows from the methods (``Method.signin_panel``)."""
    panels = (method.signin_panel(request) for method in registry().values())
    return [panel for panel in panels if panel]


def policy_panels(request, organisation) -> list[str]:
    """The methods' own panels on the admin policy page (``Method.policy_panel``), rendered."""
    panels = (method.policy_panel(request, organisation) for method in registry().values())
    return [panel for panel in panels if panel]


def enrolments_for(user: User, host: str) -> list[Enrolment]:
    """Everything ``user`` may add now from ``host``, in registry order."""
    return [
        item
        for method in registry().values()
        for item in method.enrolments(user)
        if host in item.hosts
    ]


def after_first_method(user: User) -> Enrolment | None:
    """The first enrolment a method offers once a first method is registered, if any."""
    offers = (method.after_first_method(user) for method in registry().values())
    return next((offer for offer in offers if offer is not None), None)


def settings_panels(request: HttpRequest, user: User) -> list[str]:
    """Every method's panel for the settings page, rendered, in registry order."""
    panels = (method.settings_panel(request, user) for method in registry().values())
    return [panel for panel in panels if panel]


def settings_fields(user: User, data: object = None) -> list[SettingsFields]:
    """Every method's fields in the settings page's one form, in registry order."""
    found = (method.settings_fields(user, data) for method in registry().values())
    return [fields for fields in found if fields is not None]


def settings_notices(request: HttpRequest, user: User) -> list[str]:
    """Every method's notices above the settings page's form, rendered."""
    found = (method.settings_notices(request, user) for method in registry().values())
    return [notice for notice in found if notice]


def admin_summary(user: User) -> list[AdminItem]:
    """What every method shows of ``user`` on the admin's user page, in registry order."""
    return [
        replace(item, method=method.key)
        for method in registry().values()
        for item in method.admin_summary(user)
    ]

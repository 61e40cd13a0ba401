"""Verifying a second factor in the browser: at sign-in, and to confirm it's you later.

One page shows whichever state the session's challenge is in: choose an option, type a
code, or wait for a call to be answered. Both flows share it; they differ in whose
challenge it is (a pending sign-in or the signed-in user) and in what success does.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from twofold.accounts import pending
from twofold.accounts import services as accounts
from twofold.accounts.middleware import polled
from twofold.accounts.models import User
from twofold.core import context as request_context
from twofold.core.errors import InvalidInput, NotFound, RateLimited, TwofoldError
from twofold.methods import base, stepup, verification, waits
from twofold.methods.forms import CodeForm
from twofold.methods.models import Challenge, ChallengePurpose, ChallengeState
from twofold.oidc import services as oidc
from twofold.signin import flow, services, trusted

NEXT = "twofold.step_up.next"
#: Set when an application (OpenID Connect) demands the step-up, not a settings change.
FOR_APPLICATION = "twofold.step_up.for_application"
SIGNIN_NEXT = "twofold.signin.next"
ONLY_PHISHING_RESISTANT = "twofold.stepup.phishing_resistant"  # acr_values=phr (oidc)


@dataclass(frozen=True)
class Flow:
    purpose: ChallengePurpose
    page: str  # URL names
    start: str
    complete: str
    heading: str
    lead: str


STEP_UP = Flow(
    ChallengePurpose.STEP_UP,
    "step-up",
    "step-up-start",
    "step-up-complete",
    gettext_lazy("Confirm it's you"),
    gettext_lazy("Before you change your security settings, verify with one of your methods."),
)
STEP_UP_FOR_APPLICATION = Flow(
    ChallengePurpose.STEP_UP,
    "step-up",
    "step-up-start",
    "step-up-complete",
    gettext_lazy("Confirm it's you"),
    gettext_lazy(
        "The application you're signing in to asks for a second factor. Verify with one of "
        "your methods."
    ),
)
SIGNIN = Flow(
    ChallengePurpose.SIGNIN,
    "signin-verify",
    "signin-verify-start",
    "signin-verify-complete",
    gettext_lazy("Verify your identity"),
    gettext_lazy("Choose how you want to confirm that it's you."),
)


def _page(
    request: HttpRequest,
    user: User,
    how: Flow,
    succeed: Callable[[Challenge, bool], HttpResponse],
) -> HttpResponse:
    """The shared verification page: show the state, or check a submitted code."""
    options = base.options_for(user)  # once: each look costs a query per method
    if how.purpose == ChallengePurpose.STEP_UP and request.session.get(ONLY_PHISHING_RESISTANT):
        # An application demanded a phishing-resistant sign-in (acr phr): a passkey only.
        options = [o for o in options if services.phishing_resistant(o.key)] or options
    challenge = flow.current(request, user, how.purpose)
    if challenge is not None and not any(o.key == challenge.option for o in options):
        # Its way went meanwhile (the last passkey deleted in another tab, the policy
        # changed): nothing can answer it, so the page offers the ways still open.
        flow.forget(request)
        challenge = None
        messages.error(request, _("That way to verify is no longer available. Choose another."))
        if request.method == "POST":
            return redirect(how.page)
    try:  # locked: said at once, not after a way that can only be refused is chosen
        verification.refuse_if_locked(user)
    except verification.SecondFactorLocked as locked:
        return _show(request, user, how, options, challenge, None, locked)
    preferred = base.preferred_option(user, options)
    refused: RateLimited | None = None
    if challenge is None and request.method == "GET" and preferred and preferred.silent:
        # Nothing is sent for this option (the code is in the app): open it straight away.
        try:
            challenge = verification.open_challenge(user, preferred, how.purpose)
        except RateLimited as limited:  # said on the page, with the time to wait
            refused = limited
        else:
            flow.remember(request, challenge)
    option = next((o for o in options if challenge and o.key == challenge.option), None)
    form = CodeForm(request.POST if request.method == "POST" else None, option=option)
    if form.is_bound and challenge is not None and form.is_valid():
        try:
            approved = verification.verify(user, challenge.pk, form.cleaned_data["code"])
        except RateLimited as limited:
            refused = limited
        except InvalidInput as wrong:
            form.add_error("code", wrong.message)
        else:
            return succeed(approved, request.POST.get("remember") == "on")
    return _show(request, user, how, options, challenge, form, refused)


def _show(
    request: HttpRequest,
    user: User,
    how: Flow,
    options: list[base.Option],
    challenge: Challenge | None,
    form: CodeForm | None,
    refused: RateLimited | None,
) -> HttpResponse:
    """Render the page; ``refused``: a limit met on the way here (a cooldown, a cap, the
    lockout), said on it with the ways still open, never as a dead-end error page.
    ``form``: the one just checked, else an empty one for the open challenge's option."""
    preferred = base.preferred_option(user, options)
    option = next((o for o in options if challenge and o.key == challenge.option), None)
    form = form if form is not None else CodeForm(option=option)
    method = base.get(challenge.method) if challenge else None
    # Locked: every way is refused until the time said, so none is offered meanwhile.
    locked = isinstance(refused, verification.SecondFactorLocked)
    # Offered first: the way just used (to try it again once it ended), else the preferred.
    first = None if locked else option or preferred
    asking = challenge is not None and challenge.is_open and option is not None
    context = {
        # A WAIT option's own prompt (a push shows its number), if its method has one.
        "wait_template": method.wait_template if method else None,
        # Read by the template only while a WAIT option waits (a push's number): called
        # there, not here, so that a page without one reads nothing for it.
        "wait": partial(method.wait_context, challenge) if method else {},
        # A CODE or BROWSER option's own prompt (a WebAuthn request), if its method has one.
        "prompt_template": method.prompt_template if asking else None,
        "prompt": method.prompt_context(challenge) if asking else {},
        # Why a finished challenge ended, in the method's words (a push: "wrong_number").
        "ended": waits.end_reason(challenge) if challenge else "",
        "flow": how,
        "challenge": challenge,
        "option": option,
        "first": first,
        # The option on show (the open one, or the one offered first) isn't repeated.
        "others": [] if locked else [o for o in options if first is None or o.key != first.key],
        "form": form,
        "locked": locked,
        "refusal": refused.message if refused else "",
        "shown": refused.message if refused else "",
        "remember_days": trusted.days_offered(user) if how is SIGNIN else 0,
        "organisation": user.organisation,  # the sign-in shows its branding
    }
    response = render(request, "signin/challenge.html", context, status=429 if refused else 200)
    if refused:
        response["Retry-After"] = str(refused.retry_after)
    return response


def _application(request: HttpRequest, user: User, how: Flow) -> str:
    """The application this verification is for, if any (a push names it on the phone):
    the one the sign-in continues to, or the one that demanded the step-up."""
    if how.purpose == ChallengePurpose.SIGNIN:
        next_url = request.session.get(SIGNIN_NEXT)
    else:
        next_url = request.session.get(NEXT) if request.session.get(FOR_APPLICATION) else None
    return oidc.application_named_in(next_url, user.organisation)


def _start(request: HttpRequest, user: User, how: Flow) -> HttpResponse:
    option = request.POST.get("option", "")
    try:
        with request_context.for_application(_application(request, user, how)):
            challenge = verification.start_challenge(user, option, how.purpose)
    except RateLimited as limited:  # the page the person is on, saying how long to wait
        current = flow.current(request, user, how.purpose)
        return _show(request, user, how, base.options_for(user), current, None, limited)
    except TwofoldError as failed:
        messages.error(request, failed.message)
        return redirect(how.page)
    flow.remember(request, challenge)
    return redirect(how.page)


def _approved(request: HttpRequest, user: User, how: Flow) -> Challenge | None:
    challenge = flow.current(request, user, how.purpose)
    if challenge is not None and challenge.state == ChallengeState.APPROVED:
        return challenge
    return None


# --- Confirm it's you (step-up) ------------------------------------------------------


def _safe(request: HttpRequest, url: str | None, fallback: str) -> str:
    if url and url_has_allowed_host_and_scheme(url, allowed_hosts={request.get_host()}):
        return url
    return fallback


def _stepped_up(request: HttpRequest) -> HttpResponse:
    stepup.mark_verified(request)
    flow.forget(request)
    request.session.pop(FOR_APPLICATION, None)
    request.session.pop(ONLY_PHISHING_RESISTANT, None)
    return redirect(_safe(request, request.session.get(NEXT), "security-verification"))


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def step_up(request: HttpRequest) -> HttpResponse:
    if request.GET.get("next"):
        request.session[NEXT] = request.GET["next"]
        request.session[FOR_APPLICATION] = request.GET.get("for") == "application"
        only = request.GET.get("only") == "phishing_resistant"
        request.session[ONLY_PHISHING_RESISTANT] = only
    if request.user.must_reregister:
        # Registering again happens at sign-in, with the administrator's access code: sign
        # out and come back here afterwards, not to a page that can only say "sign out".
        back = _safe(request, request.session.get(NEXT), reverse("security-verification"))
        accounts.sign_out(request)
        messages.info(
            request,
            _(
                "Your administrator asked you to set up your verification again. Sign in, "
                "then enter the access code they gave you."
            ),
        )
        return redirect_to_login(back)
    if not base.options_for(request.user):
        # Nothing to verify with: registering a first method is the only second factor
        # on offer; passing this page without one would count as a recent factor.
        back = _safe(request, request.session.pop(NEXT, None), reverse("security-verification"))
        request.session.pop(FOR_APPLICATION, None)
        why = _("You have no verification method yet. Set one up to continue.")
        return stepup.register_first(request, back, why)
    how = STEP_UP_FOR_APPLICATION if request.session.get(FOR_APPLICATION) else STEP_UP
    return _page(request, request.user, how, lambda _c, _r: _stepped_up(request))


@never_cache
@login_required
@require_POST
def step_up_start(request: HttpRequest) -> HttpResponse:
    return _start(request, request.user, STEP_UP)


@never_cache
@login_required
@require_POST
def step_up_complete(request: HttpRequest) -> HttpResponse:
    """The waiting page's call was answered: finish if the challenge really was approved."""
    if _approved(request, request.user, STEP_UP) is not None:
        return _stepped_up(request)
    return redirect("step-up")


# --- The second step of signing in -----------------------------------------------------


def _pending_or_restart(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    def wrapper(request: HttpRequest) -> HttpResponse:
        user = pending.pending_user(request)
        if user is None and request.user.is_authenticated:
            # Back to a second-step page after signing in: nothing took too long.
            return redirect("my-account")
        if user is None:
            blocked = pending.pending_user(request, even_blocked=True)
            # Only this session, which already gave the right password, learns of the block.
            if blocked:  # a failure notice: with the details the help desk will ask for
                messages.info(request, services.blocked_message(), extra_tags="support")
            else:
                messages.info(request, services.expired_message())
            return redirect("signin")
        return view(request, user)

    wrapper.__name__ = view.__name__
    wrapper.__doc__ = view.__doc__
    return wrapper


def _signed_in(request: HttpRequest, user: User, challenge: Challenge, remember: bool):
    amr = ["pwd", *services.amr_for(challenge.option)]
    services.finish(request, user, amr=amr, via="second factor", option=challenge.option)
    response = redirect(_safe(request, request.session.pop(SIGNIN_NEXT, None), "my-account"))
    if remember:
        trusted.remember(request, response, user)
    return response


@never_cache
@require_http_methods(["GET", "POST"])
@_pending_or_restart
def signin_verify(request: HttpRequest, user: User) -> HttpResponse:
    return _page(request, user, SIGNIN, lambda c, r: _signed_in(request, user, c, r))


@never_cache
@require_POST
@_pending_or_restart
def signin_verify_start(request: HttpRequest, user: User) -> HttpResponse:
    return _start(request, user, SIGNIN)


@never_cache
@require_POST
@_pending_or_restart
def signin_verify_complete(request: HttpRequest, user: User) -> HttpResponse:
    challenge = _approved(request, user, SIGNIN)
    if challenge is None:
        return redirect("signin-verify")
    return _signed_in(request, user, challenge, request.POST.get("remember") == "on")


# --- Polling ---------------------------------------------------------------------------


@polled
@never_cache
@require_GET
def challenge_status(request: HttpRequest, challenge_id: str) -> JsonResponse:
    """What the waiting page polls: the state of the session's own challenge."""
    if request.user.is_authenticated:
        user = request.user
    else:
        user = pending.pending_user(request, even_blocked=True)
    if user is None:
        return JsonResponse({"error": "not_found"}, status=404)
    try:
        challenge = verification.get_challenge(user, challenge_id)
    except NotFound:
        return JsonResponse({"error": "not_found"}, status=404)
    challenge = waits.expire_if_due(challenge)
    answer = {"state": challenge.state}
    if challenge.state not in (ChallengeState.PENDING, ChallengeState.APPROVED):
        # For the failure notice's help-desk details: when it ended, in UTC.
        answer["ended_at"] = _utc(challenge.completed_at)
        reason = waits.end_reason(challenge)
        if reason:  # what the state alone doesn't say (a wrong number, a newer challenge)
            answer["reason"] = reason
    return JsonResponse(answer)


def _utc(moment: datetime | None) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S") if moment else ""

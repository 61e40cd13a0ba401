"""Verifying a second factor in the browser: "confirm it's you" before changing methods.

One page shows whichever state the session's challenge is in: choose an option, type a
code, or wait for a call to be answered. The sign-in flow reuses these templates.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from twofold.core.errors import InvalidInput, NotFound, RateLimited, TwofoldError
from twofold.methods import base, stepup, verification
from twofold.methods.forms import CodeForm
from twofold.methods.models import ChallengePurpose, ChallengeState
from twofold.signin import flow
from twofold.web.views import too_many_requests

NEXT = "twofold.step_up.next"


def _next_url(request: HttpRequest) -> str:
    url = request.session.get(NEXT, "")
    if url and url_has_allowed_host_and_scheme(url, allowed_hosts={request.get_host()}):
        return url
    return "security-verification"


def _finish(request: HttpRequest) -> HttpResponse:
    stepup.mark_verified(request)
    flow.forget(request)
    return redirect(_next_url(request))


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def step_up(request: HttpRequest) -> HttpResponse:
    user = request.user
    if request.GET.get("next"):
        request.session[NEXT] = request.GET["next"]
    options = base.options_for(user)
    if not options:
        return _finish(request)
    challenge = flow.current(request, user, ChallengePurpose.STEP_UP)
    preferred = base.preferred_option(user)
    if challenge is None and request.method == "GET" and preferred.silent:
        # Nothing is sent for this option (the code is in the app): open it straight away.
        challenge = verification.start_challenge(user, preferred.key, ChallengePurpose.STEP_UP)
        flow.remember(request, challenge)
    form = CodeForm(request.POST or None)
    if request.method == "POST" and challenge is not None and form.is_valid():
        try:
            verification.verify_code(user, challenge.pk, form.cleaned_data["code"])
        except RateLimited as limited:
            return too_many_requests(request, limited)
        except InvalidInput as refused:
            form.add_error("code", refused.message)
        else:
            return _finish(request)
    return render(
        request,
        "signin/challenge.html",
        {
            "challenge": challenge,
            "option": base.find_option(user, challenge.option) if challenge else None,
            "preferred": preferred,
            "others": [o for o in options if not challenge or o.key != challenge.option],
            "form": form,
            "start_url": "step-up-start",
            "complete_url": "step-up-complete",
            "heading": _("Confirm it's you"),
            "lead": _("Before you change your security settings, verify with one of your methods."),
        },
    )


@never_cache
@login_required
@require_POST
def step_up_start(request: HttpRequest) -> HttpResponse:
    try:
        challenge = verification.start_challenge(
            request.user, request.POST.get("option", ""), ChallengePurpose.STEP_UP
        )
    except RateLimited as limited:
        return too_many_requests(request, limited)
    except TwofoldError as failed:
        messages.error(request, failed.message)
        return redirect("step-up")
    flow.remember(request, challenge)
    return redirect("step-up")


@never_cache
@login_required
@require_POST
def step_up_complete(request: HttpRequest) -> HttpResponse:
    """The waiting page's call was answered: finish if the challenge really was approved."""
    challenge = flow.current(request, request.user, ChallengePurpose.STEP_UP)
    if challenge is not None and challenge.state == ChallengeState.APPROVED:
        return _finish(request)
    return redirect("step-up")


@never_cache
@require_GET
def challenge_status(request: HttpRequest, challenge_id: str) -> JsonResponse:
    """What the waiting page polls: the state of the session's own challenge."""
    if not request.user.is_authenticated:
        return JsonResponse({"error": "not_found"}, status=404)
    try:
        challenge = verification.get_challenge(request.user, challenge_id)
    except NotFound:
        return JsonResponse({"error": "not_found"}, status=404)
    challenge = verification.expire_if_due(challenge)
    return JsonResponse({"state": challenge.state})

"""Activating a hardware token an administrator assigned (reached from the settings page)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from twofold.core.errors import InvalidInput, NotAllowed, NotFound, RateLimited
from twofold.methods import base, stepup
from twofold.methods.oath import services
from twofold.methods.oath.forms import ActivationForm


@never_cache
@login_required
@stepup.step_up_required
@require_http_methods(["GET", "POST"])
def activate(request: HttpRequest, token_id: int) -> HttpResponse:
    """Ask for one current code from the token; once it is right, the token counts."""
    user = request.user
    try:
        token = services.pending_token(user, token_id)
    except NotFound:
        raise Http404 from None
    form = ActivationForm(request.POST or None)
    limit_met: RateLimited | None = None
    if request.method == "POST" and form.is_valid():
        first_method = not base.options_for(user)
        try:
            services.activate(user, token.pk, form.cleaned_data["code"])
        except RateLimited as limited:  # the lockout: said beside the code, with when
            form.add_error("code", limited.message)
            limit_met = limited
        except NotFound:
            raise Http404 from None
        except (InvalidInput, NotAllowed) as refused:
            form.add_error("code", refused.message)
        else:
            if first_method:
                # Proving the token is this user's first second factor.
                stepup.mark_verified(request)
            messages.success(request, _("Your hardware token is activated."))
            return redirect("security-verification")
    response = render(request, "oath/activate.html", {"token": token, "form": form})
    if limit_met is not None:  # said on the page: no full-page dead end mid-change
        response.status_code = 429
        response["Retry-After"] = str(limit_met.retry_after)
    return response

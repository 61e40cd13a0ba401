"""Making a set of recovery codes and showing it once: from the settings page, or right
after a first method was registered at sign-in (``after_first_method``), which sends the
person here signed in, with ``?next=`` where their sign-in was going.

Between the POST that makes the set and the page that shows it, the codes wait in the
session encrypted (``core.crypto.encrypt``), and leave it as the page is drawn: a reload
shows nothing. The page carries everything needed to keep them: the codes in groups, a
text file to download (a ``data:`` link, so nothing is fetched again) and a print
stylesheet that prints the codes alone.
"""

from __future__ import annotations

import json

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from twofold.core import crypto
from twofold.core.errors import NotAllowed
from twofold.methods import enrolment
from twofold.methods.recovery import services

# Between the form's POST and the page that shows the codes once: encrypted, then dropped.
_JUST_MADE = "twofold.recovery.just_made"


@never_cache
@require_http_methods(["GET", "POST"])
@enrolment.hosted
def make(request: HttpRequest, enrolling: enrolment.Enrolling) -> HttpResponse:
    """Ask, then make a new set (which replaces the old one). Hosted like every method's
    enrolment (methods/enrolment.py): a signed-in person with a recent second factor
    (docs/security.md 14), and ``next`` checked by the host."""
    after = enrolling.next
    if request.method == "POST":
        try:
            made = services.make_set(enrolling.user)
        except NotAllowed as refused:
            messages.error(request, refused.message)
            return redirect(after)
        just_made = {"codes": crypto.encrypt(json.dumps(made).encode()), "next": after}
        request.session[_JUST_MADE] = just_made
        return redirect("recovery-codes-shown")
    context = {"standing": services.standing(enrolling.user), "next": after}
    return render(request, "recovery/make.html", context)


@never_cache
@login_required
@require_GET
def shown(request: HttpRequest) -> HttpResponse:
    """Show the new codes once; they leave the session as they are shown."""
    just_made = request.session.pop(_JUST_MADE, None)
    if not isinstance(just_made, dict):
        return redirect("security-verification")
    try:
        made = json.loads(crypto.decrypt(just_made["codes"]))
    except crypto.DecryptionError:
        messages.error(request, _("The new recovery codes could not be shown. Make a new set."))
        return redirect("security-verification")
    context = {**shown_context(request.user, made), "next": just_made["next"]}
    return render(request, "recovery/shown.html", context)


def shown_context(user, made: list[str]) -> dict[str, object]:
    """What the page that shows a new set needs: the codes and the text file's content."""
    heading = _("Recovery codes for %(user)s (%(organisation)s)") % {
        "user": user.username,
        "organisation": user.organisation.shown_name,
    }
    advice = _("Each code works once. Keep them somewhere safe, away from your phone.")
    text = "\n".join([heading, advice, "", *made, ""])
    return {"codes": made, "download_text": text, "for_user": user.username}

"""The admin portal's user pages: the list, bulk actions, and one user."""

from __future__ import annotations

import csv

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from twofold.accounts import services as accounts
from twofold.accounts.models import MfaState, User
from twofold.administration import services
from twofold.administration.users import UserFilter, page_of
from twofold.adminportal import activity
from twofold.adminportal.access import admin_required, subject_or_404, users_of, users_or_404
from twofold.core.errors import InvalidInput, NotFound
from twofold.methods import base, reset_notices, resets
from twofold.signin.models import TrustedDevice

MAX_CODES_ON_PAGE = 200
MANAGE_CHOICES = ("reregister", "app_passwords", "restore")
STATES = {"enable": MfaState.ENABLED, "enforce": MfaState.ENFORCED, "disable": MfaState.DISABLED}
STATE_EFFECT = {
    MfaState.ENABLED: gettext_lazy(
        "They will be asked to register a verification method at their next sign-in, "
        "and then to verify each time they sign in."
    ),
    MfaState.ENFORCED: gettext_lazy(
        "A second factor is required everywhere. Programs that cannot ask for one need "
        "app passwords."
    ),
    MfaState.DISABLED: gettext_lazy(
        "They sign in with their password alone. Their trusted devices are forgotten."
    ),
}


@never_cache
@admin_required
@require_GET
def user_list(request: HttpRequest) -> HttpResponse:
    admin = request.user
    filters = UserFilter(request.GET or None)
    matching = filters.apply(users_of(admin))
    page = page_of(
        matching, after=request.GET.get("after", ""), before=request.GET.get("before", "")
    )
    query = request.GET.copy()
    for key in ("after", "before"):
        query.pop(key, None)
    context = {
        "filters": filters,
        "page": page,
        "rows": [(user, page.kinds.get(user.pk, [])) for user in page.users],
        "filter_query": query.urlencode(),
        "now": timezone.now(),
    }
    return render(request, "adminportal/users.html", context)


class BulkForm(forms.Form):
    action = forms.ChoiceField(
        choices=[("enable", ""), ("enforce", ""), ("disable", ""), ("manage", "")]
    )
    selected = forms.TypedMultipleChoiceField(coerce=int, required=False, choices=())
    all_matching = forms.BooleanField(required=False)
    reregister = forms.BooleanField(required=False)
    app_passwords = forms.BooleanField(required=False)
    restore = forms.BooleanField(required=False)
    chosen = forms.BooleanField(required=False)  # the choices are made: confirm them next
    confirmed = forms.BooleanField(required=False)

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.fields["selected"].valid_value = _is_id


def _is_id(value: object) -> bool:
    text = str(value)
    return text.isascii() and text.isdigit() and 0 < int(text) < 2**63


def _selection(admin: User, form: BulkForm, data: QueryDict):
    """The users a bulk action reaches: the ticked ones (all of them the organisation's,
    else 404), or all that match the filter."""
    if form.cleaned_data["all_matching"]:
        return UserFilter(data).apply(users_of(admin))
    return users_or_404(admin, form.cleaned_data["selected"])


@never_cache
@admin_required
@require_POST
def bulk(request: HttpRequest) -> HttpResponse:
    """Confirm, then apply an action to the selection; report how many users changed."""
    form = BulkForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose users and an action."))
        return redirect("admin-users")
    admin = request.user
    users = _selection(admin, form, request.POST)
    count = users.count()
    action = form.cleaned_data["action"]
    if not count:
        messages.error(request, _("No users are selected."))
        return redirect("admin-users")
    if not form.cleaned_data["confirmed"]:
        return _confirm(request, form, users, count)
    if action == "manage":
        return _manage(request, users, form)
    changed = accounts.set_mfa_state(users, STATES[action], actor=admin)
    messages.success(
        request,
        ngettext("Done: %(count)d user changed.", "Done: %(count)d users changed.", changed)
        % {"count": changed},
    )
    return redirect("admin-users")


def _confirm(request: HttpRequest, form: BulkForm, users, count: int) -> HttpResponse:
    """Before anything changes: a state change shows its effect; "manage user settings"
    first asks what to do, then shows how many users each choice changes."""
    action = form.cleaned_data["action"]
    context = {
        "form_data": request.POST,
        "count": count,
        "action": action,
        "effect": STATE_EFFECT.get(STATES.get(action), ""),
        "sample": list(users.order_by("username")[:10]),
    }
    if action == "manage" and form.cleaned_data["chosen"]:
        try:
            context["preview"] = services.preview_user_settings(
                users, **{key: form.cleaned_data[key] for key in MANAGE_CHOICES}
            )
        except InvalidInput as refused:
            context["error"] = refused.message
        else:
            return render(request, "adminportal/manage_confirm.html", context)
    return render(request, "adminportal/bulk_confirm.html", context)


def _manage(request: HttpRequest, users, form: BulkForm) -> HttpResponse:
    data = form.cleaned_data
    try:
        everyone = data["all_matching"] and not UserFilter(request.POST).narrows()
        result = services.manage_user_settings(
            users,
            actor=request.user,
            reregister=data["reregister"],
            app_passwords=data["app_passwords"],
            restore=data["restore"],
            everyone=request.user.organisation if everyone else None,
        )
    except InvalidInput as refused:
        messages.error(request, refused.message)
        return redirect("admin-users")
    codes = _access_codes(result.nonce) if result.nonce else []
    if len(codes) > MAX_CODES_ON_PAGE:
        return _codes_csv(codes)
    return _manage_result(request, result, codes)


def _manage_result(
    request: HttpRequest, result: services.ManageResult, codes: list, subject: User | None = None
) -> HttpResponse:
    """What the action did, and where the texts telling the users stand (sent, or when)."""
    context = {
        "result": result,
        "codes": codes,
        "subject": subject,
        "notices": reset_notices.progress(result.nonce, result.notices),
    }
    return render(request, "adminportal/manage_result.html", context)


def _access_codes(nonce: str) -> list[tuple[str, str]]:
    """The codes of the users one re-registration action reached (marked by its nonce)."""
    if not nonce:  # "" is every user never asked to register again: never a selection
        return []
    marked = User.objects.filter(reregister_nonce=nonce).select_related("organisation")
    first = marked.first()
    if first is None or first.organisation.reregistration_grace_days:
        return []  # the organisation lets them re-register within its window, no code
    return [
        (username, resets.access_code(pk, nonce))
        for pk, username in marked.order_by("username").values_list("pk", "username")
    ]


def _codes_csv(codes: list[tuple[str, str]]) -> HttpResponse:
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="access-codes.csv"'
    writer = csv.writer(response)
    writer.writerow(["user name", "access code"])
    writer.writerows(codes)
    return response


@never_cache
@admin_required
@require_GET
def user_detail(request: HttpRequest, user_id: int) -> HttpResponse:
    subject = subject_or_404(request.user, user_id)
    context = {
        "subject": subject,
        "options": base.options_for(subject) if not subject.must_reregister else [],
        "summary": base.admin_summary(subject),  # what each method shows of the user
        "trusted_devices": TrustedDevice.objects.filter(
            user=subject, user_epoch=subject.trusted_device_epoch
        ).count(),
        "signins": activity.recent_signins(subject),
        "decisions": activity.recent_decisions(subject),
        "events": activity.recent_events(subject),
        "states": MfaState.choices,
        "told_by_text": resets.is_told_by_text(subject),
        "password_kept_elsewhere": accounts.password_kept_elsewhere(subject),
    }
    return render(request, "adminportal/user.html", context)


ACTION_TITLES = {
    "reregister": gettext_lazy("Require this user to provide contact methods again"),
    "app-passwords": gettext_lazy("Delete all of this user's app passwords"),
    "restore": gettext_lazy("Forget all of this user's remembered devices"),
    "sign-out": gettext_lazy("Sign this user out everywhere"),
    "unblock": gettext_lazy("Unblock this user"),
    "unlock": gettext_lazy("Unlock this user's verification"),
    "bypass": gettext_lazy("Let this user's next sign-in skip the second factor, once"),
    "password-link": gettext_lazy("Make a one-time set-password link"),
    "mfa-state": gettext_lazy("Change two-step verification"),
}


@never_cache
@admin_required
@require_POST
def user_action(request: HttpRequest, user_id: int, action: str) -> HttpResponse:
    admin = request.user
    subject = subject_or_404(admin, user_id)
    if action not in ACTION_TITLES:
        messages.error(request, _("Unknown action."))
        return redirect("admin-user", user_id=subject.pk)
    if request.POST.get("confirmed") != "on":
        context = {"subject": subject, "title": ACTION_TITLES[action], "form_data": request.POST}
        return render(request, "adminportal/action_confirm.html", context)
    just_them = users_of(admin).filter(pk=subject.pk)
    try:
        if action == "reregister":
            result = services.manage_user_settings(just_them, actor=admin, reregister=True)
            codes = _access_codes(result.nonce) if result.nonce else []
            return _manage_result(request, result, codes, subject)
        if action == "password-link":
            link = accounts.password_link(subject, actor=admin)
            return render(
                request, "adminportal/password_link.html", {"subject": subject, "link": link}
            )
        _simple_action(request, subject, just_them, action)
    except InvalidInput as refused:
        messages.error(request, refused.message)
    return redirect("admin-user", user_id=subject.pk)


@never_cache
@admin_required
@require_POST
def user_remove(request: HttpRequest, user_id: int, method: str, item_id: int) -> HttpResponse:
    """Remove one of a user's registrations listed on their page (an ``AdminItem`` with a
    ``removable_id``), through the method that owns it; confirmed first."""
    subject = subject_or_404(request.user, user_id)
    if request.POST.get("confirmed") != "on":
        owner = base.registry().get(method)
        title = owner.admin_remove_title if owner is not None else ""
        context = {"subject": subject, "title": title, "form_data": request.POST}
        return render(request, "adminportal/action_confirm.html", context)
    try:
        said = services.remove_registration(subject, method, item_id, actor=request.user)
    except NotFound as gone:
        messages.error(request, gone.message)
    else:
        messages.success(request, said)
    return redirect("admin-user", user_id=subject.pk)


def _simple_action(request: HttpRequest, subject: User, just_them, action: str) -> None:
    admin = request.user
    if action == "app-passwords":
        services.delete_app_passwords(just_them, actor=admin)
        messages.success(request, _("Their app passwords are deleted."))
    elif action == "restore":
        services.restore_remembered_devices(just_them, actor=admin)
        messages.success(request, _("Their remembered devices will ask for verification again."))
    elif action == "sign-out":
        accounts.sign_out_everywhere(subject, actor=admin)
        messages.success(request, _("Their sessions end at their next request, on every server."))
    elif action == "unblock":
        services.unblock(subject, actor=admin)
        messages.success(request, _("The user is unblocked."))
    elif action == "unlock":
        services.unlock(subject, actor=admin)
        messages.success(request, _("Their verification is unlocked."))
    elif action == "bypass":
        minutes = request.POST.get("minutes", "5")
        services.grant_bypass(
            subject,
            minutes=int(minutes) if minutes.isascii() and minutes.isdigit() else 0,
            reason=request.POST.get("reason", ""),
            actor=admin,
        )
        messages.success(request, _("Their next sign-in skips the second factor, once."))
    elif action == "mfa-state":
        accounts.set_mfa_state(just_them, request.POST.get("state", ""), actor=admin)
        messages.success(request, _("Two-step verification state changed."))
    else:
        raise InvalidInput(_("Unknown action."))

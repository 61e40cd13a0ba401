"""The dev outbox page: the phone for a demo. It exists only while TWOFOLD_DEV_OUTBOX=1."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from twofold.core.errors import InvalidInput, NotFound
from twofold.delivery import outbox
from twofold.delivery.forms import AnswerForm
from twofold.delivery.models import OutboxKind

_ANSWERED = {
    outbox.Answer.APPROVE: gettext_lazy("You answered the call and pressed #."),
    outbox.Answer.REPORT_FRAUD: gettext_lazy("You answered the call and pressed 0# (fraud)."),
    outbox.Answer.DECLINE: gettext_lazy("You declined the call."),
}


def _dev_outbox_only(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Not found, for everybody, unless the developer outbox is switched on."""

    @wraps(view)
    def guarded(request: HttpRequest, *args: object, **kwargs: object) -> HttpResponse:
        if not settings.TWOFOLD["dev_outbox"]:
            raise Http404
        return view(request, *args, **kwargs)

    return guarded


@never_cache
@require_GET
@_dev_outbox_only
def outbox_page(request: HttpRequest) -> HttpResponse:
    context = {
        "texts": outbox.recent(OutboxKind.TEXT),
        "calls": outbox.recent(OutboxKind.CALL),
        "answers": outbox.Answer,
    }
    return render(request, "delivery/outbox.html", context)


@require_POST
@_dev_outbox_only
def answer_call(request: HttpRequest, message_id: int) -> HttpResponse:
    form = AnswerForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose how to answer the call."))
        return redirect("dev-outbox")
    answer = outbox.Answer(form.cleaned_data["answer"])
    try:
        outbox.answer_call(message_id, answer)
    except NotFound:
        raise Http404 from None
    except InvalidInput as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _ANSWERED[answer])
    return redirect("dev-outbox")

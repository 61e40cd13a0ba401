"""Refusing an over-size upload from its Content-Length, before its body is read.

Django parses a multipart body the first time anything reads ``request.POST`` (the NUL
and CSRF checks do, in their middleware): a 2 GB upload would be streamed to disk before
the view could say "too large". ``refuse_large_uploads`` checks the declared length first,
then runs those two checks and the view as usual.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from django import forms
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt, csrf_protect

from twofold.core.middleware import refuse_nul_in_form

#: Room for the multipart boundaries, part headers and the form's other fields.
ENVELOPE_BYTES = 64 * 1024


def declared_too_large(request: HttpRequest, max_bytes: int) -> bool:
    """Whether the body the request announces cannot hold a file of at most ``max_bytes``."""
    length = request.META.get("CONTENT_LENGTH") or ""
    return length.isascii() and length.isdigit() and int(length) > max_bytes + ENVELOPE_BYTES


def refuse_large_uploads(
    max_bytes: Callable[[], int], refuse: Callable[[HttpRequest], HttpResponse]
) -> Callable[[Callable[..., HttpResponse]], Callable[..., HttpResponse]]:
    """A POST announcing more than ``max_bytes()`` (plus the envelope) gets ``refuse``,
    unread; any other request is CSRF-checked here, as the middleware would, then served."""

    def decorate(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        protected = csrf_protect(view)

        @csrf_exempt  # only so the middleware leaves the body unread: checked just below
        @wraps(view)
        def wrapper(request: HttpRequest, *args: object, **kwargs: object) -> HttpResponse:
            if request.method == "POST" and declared_too_large(request, max_bytes()):
                return refuse(request)
            refuse_nul_in_form(request)  # what RefuseNulMiddleware left to this view
            return protected(request, *args, **kwargs)

        wrapper.reads_body_late = True  # type: ignore[attr-defined]
        return wrapper

    return decorate


def refused_form(form_class: type[forms.Form], field: str, message: str) -> forms.Form:
    """A form showing ``message`` on ``field`` without having read any of the request."""
    form = form_class(data={}, files={})
    form.is_valid()
    form.errors.clear()
    form.errors[field] = form.error_class([message])
    return form

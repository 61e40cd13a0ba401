"""Twilio: texts through the Messages API, calls through the Calls API, and the webhooks
Twilio calls back (what the call says, the keys pressed, delivery reports).

The only module that imports the twilio SDK. Each webhook first proves that Twilio sent
it: X-Twilio-Signature is an HMAC, under the auth token, of the full public URL and the
POST parameters. The reference travels in the webhook's path, so it is signed too.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache, wraps

import requests
from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from twilio.base.exceptions import (
    TwilioException,
    TwilioRestException,
    TwilioServiceException,
)
from twilio.http.http_client import TwilioHttpClient
from twilio.http.response import Response
from twilio.request_validator import RequestValidator
from twilio.rest import Client
from twilio.twiml.voice_response import VoiceResponse

from twofold.audit.models import AuditAction, AuditResult
from twofold.audit.services import record_at_most
from twofold.core.ratelimit import Limit
from twofold.delivery.base import (
    Call,
    DeliveryState,
    Gateway,
    GatewayError,
    Receipt,
    Text,
    call_answered,
    delivery_reported,
)

log = logging.getLogger(__name__)
TWILIO_API = "https://api.twilio.com"
_TIMEOUT_SECONDS = 10  # a sign-in page is waiting on the answer
_TEXT_VALIDITY_SECONDS = 300  # a code that arrives later than this has expired anyway
_RING_SECONDS = 30
_GATHER_SECONDS = 10
_SCRIPT_SECONDS = 15 * 60  # how long a placed call's script waits for Twilio to ask for it
_REFERENCE = re.compile(r"[-a-zA-Z0-9_]{1,100}")  # what the URLs' <slug:reference> accepts
_EXTENSION = re.compile(r"[0-9#*]{1,20}")
_SAY_LANGUAGES = {"en": "en-US", "zh-hans": "zh-CN"}
# Refused callbacks of one source address that are audited each hour.
_AUDITED_REFUSALS = Limit("twilio-callback-refused", 30, 3600)
# Anything the SDK raises when Twilio refuses, fails, or answers nonsense.
_FAILURES = (TwilioException, requests.RequestException, ValueError)

MESSAGE_STATES = {
    "accepted": DeliveryState.QUEUED,
    "scheduled": DeliveryState.QUEUED,
    "queued": DeliveryState.QUEUED,
    "sending": DeliveryState.QUEUED,
    "sent": DeliveryState.SENT,
    "delivered": DeliveryState.DELIVERED,
    "read": DeliveryState.DELIVERED,
    "undelivered": DeliveryState.FAILED,
    "failed": DeliveryState.FAILED,
    "canceled": DeliveryState.FAILED,
}
CALL_STATES = {
    "queued": DeliveryState.QUEUED,
    "initiated": DeliveryState.QUEUED,
    "ringing": DeliveryState.SENT,
    "in-progress": DeliveryState.DELIVERED,
    "completed": DeliveryState.DELIVERED,
    "busy": DeliveryState.NO_ANSWER,
    "no-answer": DeliveryState.NO_ANSWER,
    "failed": DeliveryState.FAILED,
    "canceled": DeliveryState.FAILED,
}


# --- Sending -----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Config:
    account_sid: str
    auth_token: str
    from_number: str
    api_base: str


def _config() -> _Config:
    twilio = settings.TWOFOLD["twilio"]
    config = _Config(*(str(twilio.get(name) or "") for name in _Config.__dataclass_fields__))
    if not (config.account_sid and config.auth_token and config.from_number):
        raise GatewayError("Twilio is not configured: set its account SID, token and number")
    return config


# The SDK logs every request's URL and headers at INFO: ten lines a text, kept out of
# twofold's log. Its warnings and errors still come through.
_sdk_log = logging.getLogger("twofold.delivery.twilio.sdk")
_sdk_log.setLevel(logging.WARNING)


class _RebasedHttpClient(TwilioHttpClient):
    """Sends what the SDK addresses to api.twilio.com to another base URL (a test stand-in).

    Twilio's documented seam for this is a custom HTTP client.
    """

    def __init__(self, api_base: str) -> None:
        super().__init__(timeout=_TIMEOUT_SECONDS, logger=_sdk_log)
        self.api_base = api_base.rstrip("/")

    def request(self, method: str, url: str, *args: object, **kwargs: object) -> Response:
        if url.startswith(TWILIO_API):
            url = self.api_base + url[len(TWILIO_API) :]
        return super().request(method, url, *args, **kwargs)


@lru_cache(maxsize=4)
def _client(account_sid: str, auth_token: str, api_base: str) -> Client:
    http_client = (
        _RebasedHttpClient(api_base)
        if api_base
        else TwilioHttpClient(timeout=_TIMEOUT_SECONDS, logger=_sdk_log)
    )
    # An explicit environment: the SDK would otherwise read TWILIO_EDGE and TWILIO_REGION
    # from the process, and every setting comes from twofold's configuration.
    return Client(
        account_sid,
        auth_token,
        http_client=http_client,
        environment={"TWILIO_EDGE": "", "TWILIO_REGION": ""},
    )


def _public_url(name: str, reference: str) -> str:
    if not _REFERENCE.fullmatch(reference):
        raise ValueError("a delivery reference must be a slug (letters, digits, - and _)")
    return settings.TWOFOLD_BASE_URL + reverse(name, args=[reference])


def _script_key(reference: str) -> str:
    return f"twilio-call:{reference}"


def _refused(kind: str, error: Exception) -> GatewayError:
    # Twilio's own message can quote the number, so only its status and code are kept.
    if isinstance(error, TwilioRestException | TwilioServiceException):
        return GatewayError(f"Twilio refused the {kind}: HTTP {error.status}, code {error.code}")
    return GatewayError(f"Twilio could not take the {kind}: {type(error).__name__}")


class TwilioGateway(Gateway):
    name = "twilio"

    def send_text(self, text: Text) -> Receipt:
        config = _config()
        callback = _public_url("twilio-status", text.reference)
        try:
            messages = _client(config.account_sid, config.auth_token, config.api_base).messages
            sent = messages.create(
                to=text.to,
                from_=config.from_number,
                body=text.body,
                status_callback=callback,
                validity_period=_TEXT_VALIDITY_SECONDS,
            )
        except _FAILURES as error:
            raise _refused("text", error) from error
        state = MESSAGE_STATES.get(sent.status or "", DeliveryState.QUEUED)
        return Receipt(self.name, sent.sid or "", state)

    def place_call(self, call: Call) -> Receipt:
        config = _config()
        if call.extension and not _EXTENSION.fullmatch(call.extension):
            raise GatewayError("the extension holds keys a phone cannot dial")
        extra = {"send_digits": f"ww{call.extension}"} if call.extension else {}
        urls = {
            "url": _public_url("twilio-voice", call.reference),
            "status_callback": _public_url("twilio-status", call.reference),
        }
        # Stored before the call, since Twilio asks for the script as soon as it connects.
        script = {"script": call.script, "language": call.language}
        cache.set(_script_key(call.reference), script, _SCRIPT_SECONDS)
        try:
            calls = _client(config.account_sid, config.auth_token, config.api_base).calls
            placed = calls.create(
                to=call.to,
                from_=config.from_number,
                method="POST",
                status_callback_method="POST",
                status_callback_event=["answered", "completed"],
                timeout=_RING_SECONDS,
                **urls,
                **extra,
            )
        except _FAILURES as error:
            cache.delete(_script_key(call.reference))
            raise _refused("call", error) from error
        return Receipt(
            self.name, placed.sid or "", CALL_STATES.get(placed.status or "", DeliveryState.QUEUED)
        )


# --- Webhooks ----------------------------------------------------------------------------


def _signature_problem(request: HttpRequest) -> str:
    """Why the request can't be shown to come from Twilio ("" when it can)."""
    token = settings.TWOFOLD["twilio"]["auth_token"]
    signature = request.headers.get("X-Twilio-Signature", "")
    if not token:  # an HMAC under an empty key is one anybody can compute
        return "no Twilio token is configured"
    if not signature:
        return "no signature"
    url = settings.TWOFOLD_BASE_URL + request.get_full_path()
    if not RequestValidator(token).validate(url, request.POST, signature):
        return "wrong signature"
    return ""


def _audit_refusal(kind: str, problem: str) -> None:
    """Audit a refused callback, 30 times an hour per source address at most: beyond that
    they are still refused, but a flood of forged callbacks cannot fill the audit log."""
    record_at_most(
        _AUDITED_REFUSALS,
        AuditAction.CALLBACK_REJECTED,
        AuditResult.DENIED,
        via="twilio",
        kind=kind,
        reason=problem,
    )


def _from_twilio(kind: str) -> Callable:
    """POST only, no CSRF token (Twilio has none): the signature is checked before all else."""

    def decorate(view: Callable[[HttpRequest, str], HttpResponse]) -> Callable:
        @wraps(view)
        def checked(request: HttpRequest, reference: str) -> HttpResponse:
            problem = _signature_problem(request)
            if problem:
                _audit_refusal(kind, problem)
                return HttpResponse(status=403)
            return view(request, reference)

        return csrf_exempt(require_POST(checked))

    return decorate


def _twiml(response: VoiceResponse) -> HttpResponse:
    return HttpResponse(str(response), content_type="text/xml; charset=utf-8")


def _say_language(language: str) -> str:
    return _SAY_LANGUAGES.get(language, language)


@_from_twilio("voice")
def voice(request: HttpRequest, reference: str) -> HttpResponse:
    """The call connected: say the script and wait for keys, ended by #."""
    stored = cache.get(_script_key(reference))
    response = VoiceResponse()
    if stored is None:  # too late, or not a call we placed: ask for nothing
        response.say(_("This call has expired. Goodbye."))
        response.hangup()
        return _twiml(response)
    language = _say_language(stored["language"])
    with translation.override(stored["language"]):
        gather = response.gather(
            input="dtmf",
            action=_public_url("twilio-gather", reference),
            method="POST",
            finish_on_key="#",
            timeout=_GATHER_SECONDS,
        )
        gather.say(stored["script"], language=language, loop=2)
        # Silence never reaches the gather webhook: Twilio goes on to these words.
        response.say(_("We didn't hear an answer. Goodbye."), language=language)
    response.hangup()
    return _twiml(response)


def keys_pressed(digits: str) -> str:
    """Twilio's Digits leave out the finishing #: "" is "#", "0" is "0#"."""
    pressed = (digits or "").strip().removesuffix("#")
    return f"{pressed}#"


@_from_twilio("gather")
def gather(request: HttpRequest, reference: str) -> HttpResponse:
    """The person pressed keys ending with #: pass them on, then thank them and hang up."""
    keys = keys_pressed(request.POST.get("Digits", ""))
    with transaction.atomic():
        call_answered.send(sender=TwilioGateway, reference=reference, digits=keys)
    stored = cache.get(_script_key(reference)) or {"language": settings.LANGUAGE_CODE}
    cache.delete(_script_key(reference))
    response = VoiceResponse()
    with translation.override(stored["language"]):
        if keys == "#":
            words = _("Thank you. You can hang up now.")
        elif keys == "0#":
            words = _("Thank you for telling us. This sign-in has been reported. Goodbye.")
        else:
            words = _("Goodbye.")
        response.say(words, language=_say_language(stored["language"]))
    response.hangup()
    return _twiml(response)


@_from_twilio("status")
def status(request: HttpRequest, reference: str) -> HttpResponse:
    """Twilio learned a text's or a call's fate: pass it on as a DeliveryState."""
    if "MessageStatus" in request.POST:
        state = MESSAGE_STATES.get(request.POST["MessageStatus"])
    else:
        state = CALL_STATES.get(request.POST.get("CallStatus", ""))
    if state is not None:
        with transaction.atomic():
            delivery_reported.send(sender=TwilioGateway, reference=reference, state=state)
    return HttpResponse(status=204)

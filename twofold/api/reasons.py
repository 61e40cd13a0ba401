"""The reasons /validate gives for its results: stable snake_case codes, each with a message.

The one list of them: checks decide with these codes, the answer carries the code and its
message (in the client's language), and the OpenAPI document lists each code with its
meaning (an enum). Integrators compare the code, never the message; a code once published
keeps its meaning.
"""

from __future__ import annotations

from enum import StrEnum

from django.utils.translation import gettext
from django.utils.translation import gettext_noop as _


class Reason(StrEnum):
    # accept: how the user was accepted
    SECOND_FACTOR = "second_factor"
    APP_PASSWORD = "app_password"  # noqa: S105 (a code, not a password)
    TWO_STEP_VERIFICATION_OFF = "two_step_verification_off"
    TRUSTED_ADDRESS = "trusted_address"
    ONE_TIME_BYPASS = "one_time_bypass"
    # challenge: still waiting for the user
    PENDING = "pending"
    # reject: why not
    INVALID_CREDENTIALS = "invalid_credentials"
    WRONG_CODE = "wrong_code"
    EXPIRED = "expired"
    FINISHED = "finished"
    DENIED = "denied"
    WRONG_NUMBER = "wrong_number"
    FRAUD_REPORTED = "fraud_reported"
    UNREACHED = "unreached"
    REGISTRATION_REQUIRED = "registration_required"
    NO_CODE_METHOD = "no_code_method"
    CODE_REQUIRED = "code_required"

    @property
    def message(self) -> str:
        """For people, in the active language."""
        return gettext(_MESSAGES[self])


_MESSAGES: dict[Reason, str] = {  # English; translated when answered
    Reason.SECOND_FACTOR: _("The user's second factor was verified."),
    Reason.APP_PASSWORD: _("An app password was accepted in place of password and second factor."),
    Reason.TWO_STEP_VERIFICATION_OFF: _("Two-step verification is off for this user."),
    Reason.TRUSTED_ADDRESS: _(
        "The user's address is in a trusted range: no second factor is asked."
    ),
    Reason.ONE_TIME_BYPASS: _("An administrator's one-time bypass was used."),
    Reason.PENDING: _("Waiting for the user: for a code to be sent back, or for their approval."),
    Reason.INVALID_CREDENTIALS: _("Your user name or password is incorrect."),
    Reason.WRONG_CODE: _("That code didn't work. Check it and try again."),
    Reason.EXPIRED: _("This verification has expired. Start again."),
    Reason.FINISHED: _("This verification is already finished. Start again."),
    Reason.DENIED: _("The user denied the request."),
    Reason.WRONG_NUMBER: _(
        "The user approved with a number other than the one shown. Send a new notification."
    ),
    Reason.FRAUD_REPORTED: _("The user reported the request as fraud."),
    Reason.UNREACHED: _("The user's phone could not be reached."),
    Reason.REGISTRATION_REQUIRED: _(
        "The user has no verification method yet. They register one at their next sign-in "
        "in the browser."
    ),
    Reason.NO_CODE_METHOD: _(
        "The user has no authenticator app or hardware token. Leave the code out to send them one."
    ),
    Reason.CODE_REQUIRED: _("Send the code from the user's authenticator app or hardware token."),
}

#: The reason a shortcut of the sign-in rule (signin.services.decide's ``via``) gives.
SHORTCUTS = {
    "two-step verification off": Reason.TWO_STEP_VERIFICATION_OFF,
    "trusted address": Reason.TRUSTED_ADDRESS,
    "one-time bypass": Reason.ONE_TIME_BYPASS,
}

#: The reason for a code refused by ``methods.verification`` (its error's code).
REFUSED = {
    "wrong_code": Reason.WRONG_CODE,
    "expired": Reason.EXPIRED,
    "finished": Reason.FINISHED,
}

#: The reason a finished challenge gives, by its state (pending and approved are no refusal),
#: or by its method's end reason where the state alone doesn't say (``Method.end_reason``).
ENDED = {
    "wrong_number": Reason.WRONG_NUMBER,
    "denied": Reason.DENIED,
    "expired": Reason.EXPIRED,
    "fraud": Reason.FRAUD_REPORTED,
    "unreached": Reason.UNREACHED,
}

_RESULTS = {
    "accept": (Reason.SECOND_FACTOR, Reason.ONE_TIME_BYPASS),
    "challenge": (Reason.PENDING, Reason.PENDING),
    "reject": (Reason.INVALID_CREDENTIALS, Reason.CODE_REQUIRED),
}


def described() -> str:
    """The enum's description in the OpenAPI document: each code and its meaning (English)."""
    members = list(Reason)
    lines = ["Why the result is what it is; compare this code, never the message."]
    for result, (first, last) in _RESULTS.items():
        span = members[members.index(first) : members.index(last) + 1]
        lines.append(f"{result}:")
        lines += [f"- `{reason.value}`: {_MESSAGES[reason]}" for reason in span]
    return "\n".join(lines)


Reason.__doc__ = described()

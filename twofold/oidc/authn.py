"""What the browser session proves about its user, and whether an application's demand is met.

An application demands more with ``acr_values=urn:twofold:mfa`` (or the acr claim as
essential), with ``max_age`` or with ``prompt=login``. When the session falls short,
the user confirms it's them with a second factor on the step-up page (or, with no
method to verify with, signs in again for ``max_age``) and the authorization resumes.

The step-up page records only *that* a factor was verified (stepup.VERIFIED_AT); which
one, for amr, comes from the approved challenge it verified. Both must be newer than
the moment this authorization request sent the user there, so that nothing older, and
nothing from another session, counts.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from datetime import UTC, datetime

from django.http import HttpRequest

from twofold.accounts import middleware as session_lifetime
from twofold.methods import stepup
from twofold.methods.models import Challenge, ChallengePurpose, ChallengeState
from twofold.oidc import claims
from twofold.signin import services as signin

STEPPED_UP = "twofold.oidc.stepped_up"  # {"amr": ["otp"], "at": 1700000000}
SENT = "twofold.oidc.sent"  # {"request": digest of the authorization request, "at": ...}


@dataclass(frozen=True)
class SessionAuthentication:
    """How the session's user proved who they are, in ID-token terms."""

    amr: tuple[str, ...]
    signed_in_at: int
    second_factor_at: int | None  # the last second factor verified in this session
    phishing_resistant: bool = False  # a passkey was used (base.OptionSpec)

    @property
    def acr(self) -> str:
        return claims.acr_for(self.amr, phishing_resistant=self.phishing_resistant)

    @property
    def auth_time(self) -> int:
        """The last time the user actively proved who they are."""
        return max(self.signed_in_at, self.second_factor_at or 0)

    def as_record(self) -> dict[str, object]:
        """The fields of models.Authentication."""
        return {
            "amr": list(self.amr),
            "acr": self.acr,
            "auth_time": datetime.fromtimestamp(self.auth_time, tz=UTC),
        }


@dataclass(frozen=True)
class Demand:
    mfa: bool = False
    max_age: int | None = None
    phishing_resistant: bool = False  # acr_values=phr


def of_session(request: HttpRequest) -> SessionAuthentication:
    session = request.session
    amr = list(session.get(signin.AMR) or ["pwd"])
    lifetime = session.get(session_lifetime.LIFETIME)
    signed_in_at = int(lifetime[0]) if lifetime else _last_login(request)
    second_factor_at = signed_in_at if claims.second_factors().intersection(amr) else None
    phishing_resistant = bool(session.get(signin.PHISHING_RESISTANT))
    stepped_up = session.get(STEPPED_UP)
    if stepped_up:
        phishing_resistant = phishing_resistant or bool(stepped_up.get("phr"))
        # A factor verified later in the session: "mfa" (a trusted device) gives way to it.
        amr = [value for value in amr if value != "mfa"]
        proved = stepped_up["amr"]  # a list; a single value in sessions from before
        for value in [proved] if isinstance(proved, str) else proved:
            if value not in amr:
                amr.append(value)
        second_factor_at = max(second_factor_at or 0, stepped_up["at"])
    if claims.second_factors().intersection(amr) and "mfa" not in amr:
        amr.insert(1, "mfa")  # RFC 8176: a password and a second factor are several factors
    return SessionAuthentication(tuple(amr), signed_in_at, second_factor_at, phishing_resistant)


def _last_login(request: HttpRequest) -> int:
    last_login = request.user.last_login
    return int(last_login.timestamp()) if last_login else int(time.time())


def request_digest(request: HttpRequest) -> str:
    return hashlib.sha256(request.META.get("QUERY_STRING", "").encode()).hexdigest()


def unmet(
    request: HttpRequest, state: SessionAuthentication, demand: Demand, now: float | None = None
) -> str | None:
    """What the session lacks for ``demand``: "phr", "mfa", "max_age" or nothing."""
    if demand.phishing_resistant and state.acr != claims.ACR_PHR:
        return "phr"
    if demand.mfa and state.acr not in (claims.ACR_MFA, claims.ACR_PHR):
        return "mfa"
    if demand.max_age is not None:
        now = time.time() if now is None else now
        sent = request.session.get(SENT)
        # Proven again after this very request sent the user to do so: fresh, even for 0.
        proven_since_sent = (
            sent is not None
            and sent["request"] == request_digest(request)
            and state.auth_time >= sent["at"]
        )
        if now - state.auth_time > demand.max_age and not proven_since_sent:
            return "max_age"
    return None


def note_sent(request: HttpRequest) -> None:
    """Remember that this authorization request sent the user to prove who they are."""
    request.session[SENT] = {"request": request_digest(request), "at": int(time.time())}


def take_step_up(request: HttpRequest) -> None:
    """Fold a second factor verified on the step-up page since this request sent the user."""
    sent = request.session.get(SENT)
    verified_at = request.session.get(stepup.VERIFIED_AT)
    if not sent or sent["request"] != request_digest(request) or verified_at is None:
        return
    if verified_at < sent["at"]:
        return
    challenge = (
        Challenge.objects.filter(
            user=request.user,
            purpose=ChallengePurpose.STEP_UP,
            state=ChallengeState.APPROVED,
            completed_at__gte=datetime.fromtimestamp(sent["at"], tz=UTC),
        )
        .order_by("-completed_at")
        .first()
    )
    if challenge is None:  # the page let the user through without a factor: it doesn't count
        return
    request.session[STEPPED_UP] = {
        "amr": signin.amr_for(challenge.option),
        "at": int(challenge.completed_at.timestamp()),
        "phr": signin.phishing_resistant(challenge.option),
    }

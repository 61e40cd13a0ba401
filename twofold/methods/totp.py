"""TOTP (RFC 6238) for every method whose codes come from a seed it shares with a device.

The authenticator app and hardware tokens both keep a seed, its parameters and the last
time step a code was accepted for; both check a code the same way. This module holds that
once: the fields (an abstract model), the one clock, and the one check, so that a change to
the window, to the refusal of replays or to the clock applies to both (docs/design.md,
"Methods"). The HOTP/TOTP arithmetic itself stays in ``twofold/core/crypto.py``.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import TypeVar

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from twofold.core import crypto
from twofold.core.fields import EncryptedTextField

#: Steps either side of the server's current one whose codes are still accepted: a phone's
#: or a token's clock may drift this far (and a person may type a code as it changes).
WINDOW = 1
DIGITS = 6
PERIOD = 30
ALGORITHM = "sha1"


def clock() -> float:
    """Server time in Unix seconds: the only clock TOTP codes are checked against.

    Both methods read it here, so tests move time for both by patching this one function.
    """
    return time.time()


class TotpSeed(models.Model):
    """A TOTP seed (encrypted at rest), its parameters, and the steps already spent.

    Abstract: the authenticator app's devices and the hardware tokens each keep these
    columns in their own table, under these names.
    """

    # Fernet ciphertext of the raw seed (core.crypto.encrypt); never the seed itself.
    secret = EncryptedTextField(_("secret (encrypted)"))
    digits = models.PositiveSmallIntegerField(_("digits"), default=DIGITS)
    period = models.PositiveSmallIntegerField(_("seconds per code"), default=PERIOD)
    algorithm = models.CharField(_("algorithm"), max_length=10, default=ALGORITHM)
    # The last time step a code was accepted for: it and every older step are refused.
    last_used_step = models.BigIntegerField(default=-1)
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True)

    class Meta:
        abstract = True


Seed = TypeVar("Seed", bound=TotpSeed)


def looks_like_code(code: str, digits: int = DIGITS) -> bool:
    """Exactly ``digits`` ASCII digits: anything else cannot match, so no seed is opened."""
    return len(code) == digits and code.isascii() and code.isdigit()


def step_of_new_seed(secret: bytes, code: str) -> int | None:
    """The step whose code ``code`` is for a seed being set up (default parameters), or None.

    Enrolment proves the device holds the seed; the step it returns is then remembered
    as spent, so the proving code cannot sign anybody in afterwards.
    """
    if not looks_like_code(code):
        return None
    return crypto.totp_match(secret, code, now=clock(), window=WINDOW)


def matching_step(seed: TotpSeed, code: str, now: float) -> int | None:
    """The step, later than the last one spent, whose code from ``seed`` is ``code``; or None.

    A seed no configured key opens is the installation's fault, not a wrong code:
    ``crypto.StoredSecretUnreadable`` (503) is raised, and logged without the seed.
    """
    if not looks_like_code(code, seed.digits):
        return None
    secret = crypto.open_stored(seed.secret, what=f"{seed._meta.label} {seed.pk}")
    return crypto.totp_match(
        secret,
        code,
        now=now,
        after_step=seed.last_used_step,
        window=WINDOW,
        period=seed.period,
        digits=seed.digits,
        algorithm=seed.algorithm,
    )


def spend(seeds: Iterable[Seed], code: str) -> Seed | None:
    """The first of ``seeds`` that ``code`` comes from, its step now spent; or None.

    The caller passes the rows locked (``select_for_update``, inside its transaction), so
    two submissions of one code, in two challenges or two requests, cannot both succeed.
    A seed no configured key opens is passed over for the others; only if the code came
    from none of them is that raised (``crypto.StoredSecretUnreadable``): maybe it came
    from the unreadable one, so it is not a wrong code either.
    """
    now = clock()
    unreadable: crypto.StoredSecretUnreadable | None = None
    for seed in seeds:
        try:
            step = matching_step(seed, code, now)
        except crypto.StoredSecretUnreadable as error:
            unreadable = error
            continue
        if step is not None:
            seed.last_used_step = step
            seed.last_used_at = timezone.now()
            seed.save(update_fields=["last_used_step", "last_used_at"])
            return seed
    if unreadable is not None:
        raise unreadable
    return None

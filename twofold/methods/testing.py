"""For tests and the suite's scripts: proving a TOTP secret the way a person's app would.

Enrolling an authenticator app or activating a hardware token takes one code within a step
of the server's clock (``totp.WINDOW``). Tests prove with the *previous* step's code so that
the current step's code is still unused for signing in (a step is accepted once). Reading
the clock here and again in the service leaves a gap: when a step boundary falls in it, the
previous step's code is two steps old by the time it is checked and is refused. A busy
machine (CI) hits that gap now and then, so the proof is made again from the new step.
"""

from __future__ import annotations

from collections.abc import Callable

from twofold.core import crypto
from twofold.methods import totp


def prove_with_previous_step(secret: bytes, prove: Callable[[str], object]) -> int:
    """Call ``prove`` with the previous step's code; return the step it proved.

    Tried again only when the clock moved to another step while ``prove`` ran (a step
    lasts 30 s, so once is enough); any other refusal is raised as it is.
    """
    while True:
        step = crypto.totp_step(totp.clock()) - 1
        try:
            prove(crypto.hotp(secret, step))
        except Exception:
            if crypto.totp_step(totp.clock()) - 1 == step:
                raise
            continue
        return step

"""FreeRADIUS's own client, radclient, against the RADIUS front: one round with the code
appended, a challenge round with State, a reject, and silence for a wrong secret or a
request without Message-Authenticator."""

from __future__ import annotations

import re

import pytest

from conftest import STRONG_PASSWORD
from twofold.radius.tests.conftest import SILENCE_SECONDS, radclient

pytestmark = pytest.mark.django_db(transaction=True)

BOB = "bob@contoso.example"


def attributes(password: str, *extra: str, signed: bool = True) -> str:
    lines = [f'User-Name = "{BOB}"', f'User-Password = "{password}"', 'NAS-Identifier = "vpn-1"']
    if signed:
        lines.append("Message-Authenticator = 0x00")  # radclient computes it
    return "\n".join([*lines, *extra]) + "\n"


def received(output: str) -> str | None:
    found = re.search(r"Received (Access-\w+)", output)
    return found.group(1) if found else None


def test_a_code_appended_signs_in_in_one_round(gateway, with_app, clock) -> None:
    output = radclient(gateway.port, gateway.secret, attributes(STRONG_PASSWORD + clock.code(
        with_app.secret)))  # fmt: skip
    assert received(output) == "Access-Accept", output


def test_a_sign_in_through_radius_counts_on_the_radius_channel(gateway, with_app, clock) -> None:
    from prometheus_client import REGISTRY

    def counted() -> dict[str, float]:
        return {
            f"{sample.name}{sorted(sample.labels.items())}": sample.value
            for family in REGISTRY.collect()
            for sample in family.samples
            if sample.labels.get("channel") == "radius" and sample.name.endswith("_total")
        }

    before = counted()
    output = radclient(gateway.port, gateway.secret, attributes(STRONG_PASSWORD + clock.code(
        with_app.secret)))  # fmt: skip
    assert received(output) == "Access-Accept", output
    after = counted()
    password = (
        "twofold_signins_total[('channel', 'radius'), ('result', 'success'), ('step', 'password')]"
    )
    code = (
        "twofold_second_factor_checks_total[('channel', 'radius'), ('method', 'app_code'), "
        "('purpose', 'api'), ('result', 'success')]"
    )
    for counter in (password, code):
        assert after.get(counter, 0) == before.get(counter, 0) + 1, after


def test_a_challenge_round_with_state_signs_in(gateway, with_app, clock) -> None:
    first = radclient(gateway.port, gateway.secret, attributes(STRONG_PASSWORD))
    assert received(first) == "Access-Challenge", first
    state = re.search(r"State = (0x[0-9a-f]+)", first).group(1)
    second = radclient(
        gateway.port,
        gateway.secret,
        attributes(clock.code(with_app.secret), f"State = {state}"),
    )
    assert received(second) == "Access-Accept", second


def test_a_wrong_password_is_rejected_with_a_reply_message(gateway, with_app) -> None:
    output = radclient(gateway.port, gateway.secret, attributes("wrong password"))
    assert received(output) == "Access-Reject", output
    assert 'Reply-Message = "Your user name or password is incorrect."' in output


def test_a_wrong_secret_gets_no_answer(gateway, with_app) -> None:
    output = radclient(gateway.port, "not the secret", attributes(STRONG_PASSWORD),
                       wait=SILENCE_SECONDS)  # fmt: skip
    assert received(output) is None
    assert "No reply from server" in output, output


def test_a_request_without_message_authenticator_gets_no_answer(gateway, with_app) -> None:
    output = radclient(gateway.port, gateway.secret, attributes(STRONG_PASSWORD, signed=False),
                       wait=SILENCE_SECONDS)  # fmt: skip
    assert received(output) is None
    assert "No reply from server" in output, output

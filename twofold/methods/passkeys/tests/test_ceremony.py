"""The WebAuthn ceremonies against a software authenticator: what holds, and each way an
answer is refused (origin, relying party, challenge, signature, user verification, the
counter)."""

from __future__ import annotations

import json

import pytest

from twofold.methods.passkeys import ceremony
from twofold.methods.passkeys.tests.softkey import SoftKey, b64url

pytestmark = pytest.mark.usefixtures("base_url")


@pytest.fixture
def base_url(settings):
    settings.TWOFOLD_BASE_URL = "http://localhost:8000"


def register(key: SoftKey, *, require_uv: bool = True) -> ceremony.Registered:
    options, challenge = ceremony.registration_options(
        handle="h" * 43,
        user_name="alice@contoso.example",
        display_name="Alice",
        existing=[],
        user_verification="required",
        attestation="none",
    )
    return ceremony.verify_registration(key.create(options), challenge=challenge, require_uv=True)


def assert_with(key: SoftKey, made: ceremony.Registered, **kwargs) -> ceremony.Asserted:
    options, challenge = ceremony.authentication_options(allowed=[], user_verification="required")
    return ceremony.verify_assertion(
        key.get(options, count=kwargs.pop("count", None)),
        challenge=challenge,
        public_key=made.public_key,
        sign_count=kwargs.pop("sign_count", made.sign_count),
        require_uv=kwargs.pop("require_uv", True),
    )


def test_the_relying_party_is_the_base_urls_host_and_origin(settings) -> None:
    settings.TWOFOLD_BASE_URL = "https://mfa.contoso.example"
    rp = ceremony.relying_party()
    assert (rp.id, rp.origin) == ("mfa.contoso.example", "https://mfa.contoso.example")


def test_registration_options_ask_for_user_verification_and_no_attestation() -> None:
    options, challenge = ceremony.registration_options(
        handle="random-handle",
        user_name="alice@contoso.example",
        display_name="",
        existing=[(b64url(b"old"), ["usb"])],
        user_verification="required",
        attestation="none",
    )
    parsed = json.loads(options)
    assert parsed["rp"]["id"] == "localhost"
    assert parsed["authenticatorSelection"]["userVerification"] == "required"
    assert parsed["authenticatorSelection"]["residentKey"] == "preferred"
    assert parsed["attestation"] == "none"
    assert parsed["user"]["id"] == b64url(b"random-handle")  # the handle, not the user id
    assert parsed["excludeCredentials"][0]["id"] == b64url(b"old")
    assert parsed["challenge"] == challenge


def test_a_registration_and_an_assertion_hold() -> None:
    key = SoftKey()
    made = register(key)
    assert made.credential_id == b64url(key.credential_id)
    assert made.discoverable
    assert made.user_verified
    assert not made.attested
    used = assert_with(key, made)
    assert used.sign_count == 1
    assert used.user_verified
    assert not used.cloned


@pytest.mark.parametrize(
    "change",
    [{"origin": "http://localhost:8001"}, {"origin": "https://evil.example"}],
)
def test_an_answer_from_another_origin_is_refused(change) -> None:
    with pytest.raises(ceremony.CeremonyFailed, match="origin"):
        register(SoftKey(**change))


def test_a_registration_for_another_relying_party_is_refused() -> None:
    with pytest.raises(ceremony.CeremonyFailed, match="RP ID"):
        register(SoftKey(rp_id="evil.example"))


def test_an_assertion_for_another_relying_party_is_refused() -> None:
    key = SoftKey()
    made = register(key)
    key.rp_id = "evil.example"
    with pytest.raises(ceremony.CeremonyFailed, match="RP ID"):
        assert_with(key, made)


def test_an_assertion_for_another_challenge_is_refused() -> None:
    key = SoftKey()
    made = register(key)
    options, _challenge = ceremony.authentication_options(allowed=[], user_verification="required")
    _other, challenge = ceremony.authentication_options(allowed=[], user_verification="required")
    with pytest.raises(ceremony.CeremonyFailed, match="challenge"):
        ceremony.verify_assertion(
            key.get(options),
            challenge=challenge,
            public_key=made.public_key,
            sign_count=0,
            require_uv=True,
        )


def test_an_assertion_signed_by_another_key_is_refused() -> None:
    key = SoftKey()
    made = register(key)
    impostor = SoftKey(credential_id=key.credential_id)
    with pytest.raises(ceremony.CeremonyFailed, match="signature"):
        assert_with(impostor, made)


def test_user_verification_required_but_not_done_is_refused() -> None:
    key = SoftKey(user_verified=False)
    with pytest.raises(ceremony.CeremonyFailed, match="verification"):
        register(key)
    made = register(SoftKey(credential_id=key.credential_id, private_key=key.private_key))
    with pytest.raises(ceremony.CeremonyFailed, match="verif"):
        assert_with(key, made)


def test_without_user_verification_required_an_unverified_assertion_holds() -> None:
    key = SoftKey()
    made = register(key)
    key.user_verified = False
    used = assert_with(key, made, require_uv=False)
    assert not used.user_verified


@pytest.mark.parametrize(("stored", "reported"), [(5, 5), (5, 3), (5, 0), (1, 1)])
def test_a_counter_that_does_not_move_forward_marks_a_clone(stored, reported) -> None:
    key = SoftKey()
    made = register(key)
    assert assert_with(key, made, sign_count=stored, count=reported).cloned


@pytest.mark.parametrize(("stored", "reported"), [(0, 0), (0, 1), (5, 6)])
def test_a_counter_that_moves_forward_or_is_never_used_is_fine(stored, reported) -> None:
    key = SoftKey()
    made = register(key)
    assert not assert_with(key, made, sign_count=stored, count=reported).cloned


@pytest.mark.parametrize("garbage", ["", "{}", "not json", '{"rawId": 5}', "[]"])
def test_a_malformed_answer_is_refused_not_an_error(garbage) -> None:
    _options, challenge = ceremony.authentication_options(allowed=[], user_verification="required")
    with pytest.raises(ceremony.CeremonyFailed):
        ceremony.verify_assertion(
            garbage, challenge=challenge, public_key=b"", sign_count=0, require_uv=True
        )
    with pytest.raises(ceremony.CeremonyFailed):
        ceremony.verify_registration(garbage, challenge=challenge, require_uv=True)
    assert ceremony.credential_id_of(garbage) == ""
    assert ceremony.user_handle_of(garbage) == ""

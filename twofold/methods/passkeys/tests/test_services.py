"""Passkeys' services: registering under the organisation's policy, renaming, deleting,
passwordless sign-in's rules, and a counter going backwards."""

from __future__ import annotations

import logging
import uuid

import pytest
from django.contrib.sessions.backends.db import SessionStore

from twofold.audit.models import AuditEvent
from twofold.core.errors import InvalidInput, NotAllowed, NotFound, RateLimited
from twofold.methods import base
from twofold.methods.passkeys import passwordless, services
from twofold.methods.passkeys.models import Attestation, Passkey, PasskeyAccount, PasskeyPolicy
from twofold.methods.passkeys.tests.softkey import AttestationCA, SoftKey

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def base_url(settings):
    settings.TWOFOLD_BASE_URL = "http://localhost:8000"


@pytest.fixture
def session():
    return SessionStore()


def register(session, user, key: SoftKey, name: str = "Laptop") -> Passkey:
    options = services.begin_registration(session, user)
    return services.finish_registration(session, user, key.create(options), name)


def signed_in_by(session, key: SoftKey):
    options = passwordless.begin(session)
    return passwordless.finish(session, key.get(options))


def test_passkeys_are_allowed_by_default_and_listed_in_the_policy(organisation) -> None:
    assert organisation.allows("passkey")
    assert "passkey" in [kind.value for kind in base.policy_kinds()]
    assert base.option_spec("passkey").phishing_resistant


def test_the_user_handle_is_random_and_not_the_user_id(session, user) -> None:
    register(session, user, SoftKey())
    handle = PasskeyAccount.objects.get(user=user).handle
    assert len(handle) >= 40
    assert str(user.pk) != handle
    assert user.username not in handle


def test_a_registered_passkey_is_kept_and_audited(session, user) -> None:
    key = SoftKey()
    passkey = register(session, user, key, name="  Work   laptop ")
    assert passkey.name == "Work laptop"
    assert passkey.discoverable
    assert passkey.transports == ["internal"]
    assert AuditEvent.objects.filter(action=services.ADDED, subject=user).count() == 1


def test_a_registration_answer_is_good_once(session, user) -> None:
    key = SoftKey()
    options = services.begin_registration(session, user)
    answer = key.create(options)
    services.finish_registration(session, user, answer, "Laptop")
    with pytest.raises(InvalidInput):
        services.finish_registration(session, user, answer, "Again")
    assert Passkey.objects.count() == 1


def test_a_policy_without_passkeys_refuses_to_begin(session, user, organisation) -> None:
    organisation.allowed_methods = [k for k in organisation.allowed_methods if k != "passkey"]
    organisation.save()
    with pytest.raises(NotAllowed):
        services.begin_registration(session, user)


def test_direct_attestation_refuses_a_model_not_listed(session, user, organisation) -> None:
    PasskeyPolicy.objects.create(
        organisation=organisation,
        attestation=Attestation.DIRECT,
        allowed_aaguids=["cb69481e-8ff7-4039-93ec-0a2729a154a8"],
    )
    with pytest.raises(InvalidInput, match="does not allow this kind"):
        register(session, user, SoftKey())
    assert not Passkey.objects.exists()


YUBIKEY = "cb69481e-8ff7-4039-93ec-0a2729a154a8"


def direct(organisation, maker: AttestationCA) -> None:
    PasskeyPolicy.objects.create(
        organisation=organisation,
        attestation=Attestation.DIRECT,
        allowed_aaguids=[YUBIKEY],
        attestation_roots=maker.root_pem,
    )


def listed_model(attestation) -> SoftKey:
    return SoftKey(aaguid=uuid.UUID(YUBIKEY).bytes, attestation=attestation)


def test_direct_attestation_accepts_a_listed_model_whose_chain_leads_to_a_root(
    session, user, organisation
) -> None:
    maker = AttestationCA()
    direct(organisation, maker)
    passkey = register(session, user, listed_model(maker))
    assert passkey.aaguid == YUBIKEY


def test_direct_attestation_refuses_a_listed_model_it_cannot_prove(
    session, user, organisation
) -> None:
    """A model (AAGUID) is the authenticator's own claim: without a certificate chain to
    one of the policy's roots (self-attestation, none, or another maker's root) it proves
    nothing, and is refused."""
    direct(organisation, AttestationCA())
    for unproven in ("self", "none", AttestationCA("Fabrikam Keys")):
        with pytest.raises(InvalidInput):
            register(session, user, listed_model(unproven))
    assert not Passkey.objects.exists()


def test_without_roots_direct_attestation_accepts_nothing(session, user, organisation) -> None:
    maker = AttestationCA()
    direct(organisation, maker)
    PasskeyPolicy.objects.update(attestation_roots="")
    with pytest.raises(InvalidInput, match="does not allow this kind"):
        register(session, user, listed_model(maker))


def test_the_policy_form_wants_pem_roots_for_direct_attestation() -> None:
    from twofold.methods.passkeys.forms import PolicyForm

    data = {"user_verification": "required", "attestation": "direct", "allowed_aaguids": YUBIKEY}
    assert "attestation_roots" in PolicyForm(data).errors
    assert "attestation_roots" in PolicyForm({**data, "attestation_roots": "not PEM"}).errors
    pem = AttestationCA().root_pem
    form = PolicyForm({**data, "attestation_roots": pem})
    assert form.is_valid(), form.errors
    assert form.cleaned_data["attestation_roots"] == pem


def test_rename_and_delete_are_audited_and_only_the_owners(session, user, make_user) -> None:
    passkey = register(session, user, SoftKey())
    bob = make_user("bob@contoso.example")
    with pytest.raises(NotFound):
        services.rename(bob, passkey.pk, "Mine now")
    services.rename(user, passkey.pk, "Desk key")
    services.delete(user, passkey.pk)
    assert not Passkey.objects.exists()
    actions = set(AuditEvent.objects.values_list("action", flat=True))
    assert {services.RENAMED, services.DELETED} <= actions


def test_an_empty_or_long_name_is_refused(session, user) -> None:
    with pytest.raises(InvalidInput):
        register(session, user, SoftKey(), name="   ")
    with pytest.raises(InvalidInput):
        register(session, user, SoftKey(), name="x" * 65)


def test_a_discoverable_passkey_with_user_verification_signs_in(session, user) -> None:
    key = SoftKey()
    register(session, user, key)
    key.user_handle = PasskeyAccount.objects.get(user=user).handle.encode()
    used = signed_in_by(session, key)
    assert used.passkey.user == user
    assert used.amr == ["hwk", "user"]
    assert used.passkey.sign_count == 1


def test_passwordless_needs_user_verification_whatever_the_policy(
    session, user, organisation
) -> None:
    PasskeyPolicy.objects.create(organisation=organisation, user_verification="preferred")
    key = SoftKey()
    register(session, user, key)
    key.user_handle = PasskeyAccount.objects.get(user=user).handle.encode()
    key.user_verified = False
    with pytest.raises(InvalidInput):
        signed_in_by(session, key)


def test_a_passkey_with_another_users_handle_is_refused(session, user, make_user) -> None:
    key = SoftKey()
    register(session, user, key)
    bob = make_user("bob@contoso.example")
    register(session, bob, SoftKey())
    key.user_handle = PasskeyAccount.objects.get(user=bob).handle.encode()
    with pytest.raises(InvalidInput, match="not registered"):
        signed_in_by(session, key)


def test_a_blocked_user_cannot_sign_in_with_a_passkey(session, user) -> None:
    key = SoftKey()
    register(session, user, key)
    key.user_handle = PasskeyAccount.objects.get(user=user).handle.encode()
    user.is_blocked = True
    user.save()
    with pytest.raises(InvalidInput, match="can't sign in"):
        signed_in_by(session, key)


def test_a_counter_going_backwards_is_refused_audited_and_alerted(session, user, caplog) -> None:
    key = SoftKey()
    register(session, user, key)
    key.user_handle = PasskeyAccount.objects.get(user=user).handle.encode()
    Passkey.objects.update(sign_count=10)
    key.sign_count = 4
    with caplog.at_level(logging.WARNING, logger="twofold.alerts"), pytest.raises(InvalidInput):
        signed_in_by(session, key)
    event = AuditEvent.objects.get(action=services.CLONED)
    assert event.details["severity"] == "high"
    assert [r.event for r in caplog.records if r.name == "twofold.alerts"] == ["passkey_cloned"]
    assert Passkey.objects.get().sign_count == 10


def test_failed_passwordless_answers_count_towards_the_address_limit(
    session, user, settings
) -> None:
    settings.TWOFOLD = {**settings.TWOFOLD, "mfa_failures_per_address": 2}
    for _attempt in range(2):
        passwordless.begin(session)
        with pytest.raises(InvalidInput):
            passwordless.finish(session, "{}")
    passwordless.begin(session)
    with pytest.raises(RateLimited):
        passwordless.finish(session, "{}")


def test_forgetting_removes_the_users_passkeys(session, user) -> None:
    register(session, user, SoftKey())
    method = base.get("passkey")
    assert method.forget(type(user).objects.filter(pk=user.pk).values("pk")) == 1
    assert not Passkey.objects.exists()


def test_the_policy_is_saved_audited_and_applies(session, user, organisation, make_user) -> None:
    admin = make_user("admin@contoso.example", is_admin=True)
    changed = services.set_policy(
        organisation,
        actor=admin,
        user_verification="preferred",
        attestation="none",
        allowed_aaguids=[],
    )
    assert changed
    assert services.policy_for(organisation).user_verification == "preferred"
    assert not services.set_policy(
        organisation,
        actor=admin,
        user_verification="preferred",
        attestation="none",
        allowed_aaguids=[],
    )
    event = AuditEvent.objects.get(action=services.POLICY_CHANGED)
    assert event.details["fields"] == ["user_verification"]
    # Preferred: a passkey that did not verify its user is accepted as a second factor.
    key = SoftKey(user_verified=False)
    register(session, user, key)
    options, challenge = services.assertion_options(user)
    assert services.use(key.get(options), challenge=challenge, user=user).amr == ["hwk"]

"""Saving the settings page: verify before save, all or nothing, audited."""

import pytest

from twofold.audit.models import AuditAction, AuditEvent
from twofold.core.errors import InvalidInput
from twofold.methods import base, verification, waits
from twofold.methods.models import ChallengeState
from twofold.methods.phone import actions as phone_actions
from twofold.methods.phone import services as phone_services
from twofold.methods.phone.models import Phone
from twofold.methods.phone.settings import PhoneEntry
from twofold.selfservice import services

from .conftest import AUTH_NUMBER, NEW_NUMBER, OFFICE_NUMBER, Settings, save_page

pytestmark = pytest.mark.django_db


def settings_with(**changes) -> Settings:
    values = {
        "preferred_option": "text:authentication",
        "authentication": PhoneEntry(AUTH_NUMBER),
        "authentication_mode": "text",
        "office": PhoneEntry(),
        "alternate": PhoneEntry(),
    }
    values.update(changes)
    return Settings(**values)


def prove(user, result, outbox) -> None:
    verification.verify_code(user, result.verification.pk, outbox.last_code())
    phone_services.confirm_change(user, result.verification)


def number_of(user, role: str) -> str:
    phone = Phone.objects.filter(user=user, role=role).first()
    return phone.number if phone else ""


def test_a_first_authentication_phone_counts_only_after_its_code(user, outbox) -> None:
    result = save_page(user, settings_with())
    assert result.verification is not None
    assert outbox.texts()[0].to == AUTH_NUMBER
    assert base.options_for(user) == []
    prove(user, result, outbox)
    assert number_of(user, "authentication") == AUTH_NUMBER
    assert base.preferred_option(user).key == "text:authentication"


def test_a_new_number_for_the_preferred_option_waits_for_proof(with_phone, outbox) -> None:
    result = save_page(with_phone, settings_with(authentication=PhoneEntry(NEW_NUMBER)))
    assert result.verification.state == ChallengeState.PENDING
    assert outbox.texts()[0].to == NEW_NUMBER
    assert number_of(with_phone, "authentication") == AUTH_NUMBER
    assert Phone.objects.get(user=with_phone, role="authentication").pending_number == NEW_NUMBER


def test_once_proven_the_new_number_replaces_the_old_and_the_old_is_told(
    with_phone, outbox, settings, django_capture_on_commit_callbacks
) -> None:
    settings.TWOFOLD = {**settings.TWOFOLD, "resend_cooldown_seconds": 0}
    result = save_page(with_phone, settings_with(authentication=PhoneEntry(NEW_NUMBER)))
    with django_capture_on_commit_callbacks(execute=True):
        prove(with_phone, result, outbox)
    assert number_of(with_phone, "authentication") == NEW_NUMBER
    notice = outbox.texts()[0]
    assert notice.to == AUTH_NUMBER
    assert "+1 XXX XXX XX88" in notice.body


def test_a_wrong_code_leaves_the_old_number_in_force(with_phone, outbox) -> None:
    result = save_page(with_phone, settings_with(authentication=PhoneEntry(NEW_NUMBER)))
    wrong = outbox.wrong_code()
    with pytest.raises(verification.WrongCode):
        verification.verify_code(with_phone, result.verification.pk, wrong)
    with pytest.raises(InvalidInput):
        phone_services.confirm_change(with_phone, result.verification)
    assert number_of(with_phone, "authentication") == AUTH_NUMBER


def test_discarding_a_pending_number_keeps_the_old_one(with_phone, outbox) -> None:
    save_page(with_phone, settings_with(authentication=PhoneEntry(NEW_NUMBER)))
    phone_services.cancel_change(with_phone, "authentication")
    phone = Phone.objects.get(user=with_phone, role="authentication")
    assert (phone.number, phone.pending_number) == (AUTH_NUMBER, "")


def test_a_number_no_option_relies_on_saves_directly(with_phone, outbox) -> None:
    phone_services.set_number(with_phone, "office", OFFICE_NUMBER)
    result = save_page(with_phone, settings_with(office=PhoneEntry(NEW_NUMBER)))
    assert result.verification is None
    assert number_of(with_phone, "office") == NEW_NUMBER


def test_a_new_authentication_number_always_needs_proof(with_phone, outbox) -> None:
    phone_services.set_number(with_phone, "office", OFFICE_NUMBER)
    result = save_page(
        with_phone,
        settings_with(
            preferred_option="call:office",
            authentication=PhoneEntry(NEW_NUMBER),
            office=PhoneEntry(OFFICE_NUMBER),
        ),
    )
    assert result.verification is not None
    assert number_of(with_phone, "authentication") == AUTH_NUMBER


def test_switching_the_preferred_option_away_does_not_skip_the_proof(with_phone, outbox):
    """Changing the number the stored preferred option uses, while switching it away."""
    with_phone.preferred_option = "call:office"
    with_phone.save()
    phone_services.set_number(with_phone, "office", OFFICE_NUMBER)
    result = save_page(
        with_phone,
        settings_with(preferred_option="text:authentication", office=PhoneEntry(NEW_NUMBER)),
    )
    assert result.verification is not None
    assert number_of(with_phone, "office") == OFFICE_NUMBER


def test_office_and_alternate_phones_save_with_an_extension(with_phone) -> None:
    save_page(
        with_phone,
        settings_with(office=PhoneEntry(OFFICE_NUMBER, "4321"), alternate=PhoneEntry(NEW_NUMBER)),
    )
    office = Phone.objects.get(user=with_phone, role="office")
    assert (office.number, office.extension) == (OFFICE_NUMBER, "4321")
    assert number_of(with_phone, "alternate") == NEW_NUMBER


def test_switching_the_preferred_option_is_saved_and_audited(with_phone) -> None:
    save_page(with_phone, settings_with(preferred_option="call:authentication"))
    with_phone.refresh_from_db()
    assert with_phone.preferred_option == "call:authentication"
    event = AuditEvent.objects.get(action=AuditAction.PREFERRED_OPTION_CHANGED)
    assert event.details["method"] == "call:authentication"


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"preferred_option": "app_code"}, "preferred_option"),
        ({"preferred_option": "call:office"}, "preferred_option"),
        ({"preferred_option": "carrier-pigeon"}, "preferred_option"),
        (
            {"authentication": PhoneEntry(), "alternate": PhoneEntry(NEW_NUMBER),
             "preferred_option": "call:office", "office": PhoneEntry(OFFICE_NUMBER)},
            "alternate_number",
        ),
    ],
)  # fmt: skip
def test_an_impossible_choice_is_refused_next_to_its_field_and_changes_nothing(
    with_phone, changes, field
) -> None:
    before = list(Phone.objects.filter(user=with_phone).values())
    with pytest.raises(InvalidInput) as refused:
        save_page(with_phone, settings_with(**changes))
    assert refused.value.field == field
    assert list(Phone.objects.filter(user=with_phone).values()) == before
    with_phone.refresh_from_db()
    assert with_phone.preferred_option == ""


def test_an_option_the_organisation_forbids_cannot_be_preferred(with_phone) -> None:
    organisation = with_phone.organisation
    organisation.allowed_methods = ["call", "app_code"]
    organisation.save()
    with pytest.raises(InvalidInput, match="doesn't allow"):
        save_page(with_phone, settings_with())


def test_two_numbers_needing_proof_at_once_are_refused(user, outbox) -> None:
    with pytest.raises(InvalidInput, match="one phone number at a time"):
        save_page(
            user,
            settings_with(
                preferred_option="call:office",
                authentication=PhoneEntry(AUTH_NUMBER),
                office=PhoneEntry(OFFICE_NUMBER),
            ),
        )
    assert not Phone.objects.filter(user=user).exists()
    assert outbox.texts() == []


def test_the_phone_the_preferred_option_uses_cannot_be_removed(with_phone) -> None:
    with pytest.raises(InvalidInput, match="Enter the phone number this option uses"):
        save_page(with_phone, settings_with(authentication=PhoneEntry()))
    assert number_of(with_phone, "authentication") == AUTH_NUMBER


def test_a_phone_can_be_removed_when_another_way_remains(with_phone) -> None:
    _remove_authentication_phone(with_phone)
    assert number_of(with_phone, "authentication") == ""


def test_a_text_over_the_cap_leaves_everything_as_it_was(with_phone, settings) -> None:
    settings.TWOFOLD = {**settings.TWOFOLD, "texts_per_user_per_hour": 1}
    save_page(with_phone, settings_with(authentication=PhoneEntry(NEW_NUMBER)))
    phone_services.cancel_change(with_phone, "authentication")
    with pytest.raises(verification.RateLimited):
        save_page(with_phone, settings_with(authentication=PhoneEntry("+14255550111")))
    phone = Phone.objects.get(user=with_phone, role="authentication")
    assert (phone.number, phone.pending_number) == (AUTH_NUMBER, "")


def test_restoring_trusted_devices_moves_the_users_epoch_once(with_phone) -> None:
    before = with_phone.trusted_device_epoch
    services.restore_trusted_devices(with_phone)
    with_phone.refresh_from_db()
    assert with_phone.trusted_device_epoch == before + 1
    assert AuditEvent.objects.filter(action=AuditAction.TRUSTED_DEVICES_RESTORED).count() == 1


def test_phone_changes_are_audited_with_masked_numbers_only(with_phone, outbox) -> None:
    result = save_page(with_phone, settings_with(authentication=PhoneEntry(NEW_NUMBER)))
    prove(with_phone, result, outbox)
    changed = AuditEvent.objects.filter(action=phone_actions.CHANGED).first()  # newest
    assert changed.details["masked_number"] == "+1 XXX XXX XX88"
    dump = str(list(AuditEvent.objects.values()))
    assert NEW_NUMBER not in dump
    assert AUTH_NUMBER not in dump


def test_a_proof_counts_only_for_the_number_it_proved(with_phone, outbox, settings) -> None:
    """An approved proof held back must not confirm a number typed in later."""
    settings.TWOFOLD = {**settings.TWOFOLD, "resend_cooldown_seconds": 0}
    first = save_page(with_phone, settings_with(authentication=PhoneEntry(NEW_NUMBER)))
    verification.verify_code(with_phone, first.verification.pk, outbox.last_code())
    Phone.objects.filter(user=with_phone, role="authentication").update(
        pending_number="+14255550111"
    )
    with pytest.raises(InvalidInput):
        phone_services.confirm_change(with_phone, first.verification)
    assert number_of(with_phone, "authentication") == AUTH_NUMBER


def test_a_refused_text_during_a_save_is_audited(with_phone, settings) -> None:
    settings.TWOFOLD = {**settings.TWOFOLD, "texts_per_user_per_hour": 1}
    save_page(with_phone, settings_with(authentication=PhoneEntry(NEW_NUMBER)))
    phone_services.cancel_change(with_phone, "authentication")
    with pytest.raises(verification.RateLimited):
        save_page(with_phone, settings_with(authentication=PhoneEntry("+14255550111")))
    refused = AuditEvent.objects.filter(action=phone_actions.CHANGE_PENDING, result="denied")
    assert refused.get().details["reason"] == "rate_limited"


def test_changing_only_the_office_extension_is_audited(with_phone) -> None:
    phone_services.set_number(with_phone, "office", OFFICE_NUMBER, "4321")
    save_page(with_phone, settings_with(office=PhoneEntry(OFFICE_NUMBER, "98765432")))
    newest = AuditEvent.objects.filter(action=phone_actions.CHANGED, subject=with_phone).first()
    assert newest.details["kind"] == "office"
    assert newest.details["changes"] == ["extension"]
    assert newest.details["masked_number"] == Phone.objects.get(role="office").masked
    assert OFFICE_NUMBER not in str(newest.details)


def test_saving_the_same_office_phone_again_writes_no_audit_event(with_phone) -> None:
    phone_services.set_number(with_phone, "office", OFFICE_NUMBER, "4321")
    before = AuditEvent.objects.filter(action=phone_actions.CHANGED).count()
    phone_services.set_number(with_phone, "office", OFFICE_NUMBER, "4321")
    assert AuditEvent.objects.filter(action=phone_actions.CHANGED).count() == before


def _remove_authentication_phone(user) -> None:
    phone_services.set_number(user, "office", OFFICE_NUMBER)
    save_page(
        user,
        settings_with(
            preferred_option="call:office",
            authentication=PhoneEntry(),
            office=PhoneEntry(OFFICE_NUMBER),
        ),
    )


def test_removing_the_authentication_phone_tells_its_number(
    with_phone, outbox, django_capture_on_commit_callbacks
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        _remove_authentication_phone(with_phone)
    notice = outbox.texts()[0]
    assert notice.to == AUTH_NUMBER
    assert "no longer your authentication phone" in notice.body
    assert "Contoso" in notice.body


def test_the_removal_notice_is_sent_only_after_the_commit(
    with_phone, outbox, django_capture_on_commit_callbacks
) -> None:
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        _remove_authentication_phone(with_phone)
    assert outbox.texts() == []
    assert len(callbacks) == 1


def test_a_failed_removal_notice_does_not_undo_the_removal(
    with_phone, settings, django_capture_on_commit_callbacks
) -> None:
    dotted = "twofold.delivery.tests.gateways.UnreachableGateway"
    with django_capture_on_commit_callbacks(execute=True):
        settings.TWOFOLD = {**settings.TWOFOLD, "gateway": dotted}
        _remove_authentication_phone(with_phone)
    assert number_of(with_phone, "authentication") == ""


def test_removing_another_phone_sends_no_notice(
    with_phone, outbox, django_capture_on_commit_callbacks
) -> None:
    phone_services.set_number(with_phone, "office", OFFICE_NUMBER)
    with django_capture_on_commit_callbacks(execute=True):
        save_page(with_phone, settings_with())
    assert number_of(with_phone, "office") == ""
    assert outbox.texts() == []


def _prefer_office_with_a_new_number(user):
    user.preferred_option = "text:authentication"
    user.save()
    phone_services.set_number(user, "office", OFFICE_NUMBER)
    return save_page(
        user, settings_with(preferred_option="call:office", office=PhoneEntry(NEW_NUMBER))
    )


def _answer(challenge) -> None:
    waits.resolve_wait(challenge.pk, approved=True)


def test_a_preferred_option_on_an_unproven_number_waits_for_the_proof(with_phone, outbox):
    result = _prefer_office_with_a_new_number(with_phone)
    assert result.verification is not None
    with_phone.refresh_from_db()
    assert with_phone.preferred_option == "text:authentication"
    assert not AuditEvent.objects.filter(action=AuditAction.PREFERRED_OPTION_CHANGED).exists()


def test_a_discarded_change_leaves_the_preferred_option_as_it_was(with_phone, outbox) -> None:
    result = _prefer_office_with_a_new_number(with_phone)
    phone_services.cancel_change(with_phone, "office")
    _answer(result.verification)  # a late answer to the discarded proof changes nothing
    with pytest.raises(InvalidInput):
        phone_services.confirm_change(with_phone, result.verification)
    with_phone.refresh_from_db()
    assert with_phone.preferred_option == "text:authentication"
    assert number_of(with_phone, "office") == OFFICE_NUMBER


def test_once_proven_the_waiting_preferred_option_applies(with_phone, outbox) -> None:
    result = _prefer_office_with_a_new_number(with_phone)
    _answer(result.verification)
    phone_services.confirm_change(with_phone, result.verification)
    with_phone.refresh_from_db()
    assert with_phone.preferred_option == "call:office"
    assert number_of(with_phone, "office") == NEW_NUMBER
    event = AuditEvent.objects.get(action=AuditAction.PREFERRED_OPTION_CHANGED)
    assert (event.details["method"], event.details["via"]) == ("call:office", "verified")


def test_a_preferred_text_with_a_new_authentication_number_waits_for_its_code(with_phone, outbox):
    with_phone.preferred_option = "call:authentication"
    with_phone.save()
    result = save_page(with_phone, settings_with(authentication=PhoneEntry(NEW_NUMBER)))
    with_phone.refresh_from_db()
    assert with_phone.preferred_option == "call:authentication"
    prove(with_phone, result, outbox)
    with_phone.refresh_from_db()
    assert with_phone.preferred_option == "text:authentication"


def test_a_preferred_option_on_a_number_in_force_applies_at_once(with_phone, outbox) -> None:
    phone_services.set_number(with_phone, "office", OFFICE_NUMBER)
    with_phone.preferred_option = "call:office"
    with_phone.save()
    result = save_page(
        with_phone,
        settings_with(preferred_option="call:authentication", office=PhoneEntry(NEW_NUMBER)),
    )
    assert result.verification is not None  # the office number the old option used
    with_phone.refresh_from_db()
    assert with_phone.preferred_option == "call:authentication"


def test_a_preferred_option_chosen_later_wins_over_one_waiting_for_proof(with_phone, outbox):
    result = _prefer_office_with_a_new_number(with_phone)
    save_page(
        with_phone,
        settings_with(preferred_option="call:authentication", office=PhoneEntry(OFFICE_NUMBER)),
    )
    _answer(result.verification)
    phone_services.confirm_change(with_phone, result.verification)
    with_phone.refresh_from_db()
    assert number_of(with_phone, "office") == NEW_NUMBER
    assert with_phone.preferred_option == "call:authentication"


def test_a_later_save_keeping_the_preferred_option_drops_one_waiting_for_proof(
    with_phone, outbox
) -> None:
    result = _prefer_office_with_a_new_number(with_phone)
    save_page(with_phone, settings_with(office=PhoneEntry(OFFICE_NUMBER)))  # unchanged
    _answer(result.verification)
    phone_services.confirm_change(with_phone, result.verification)
    with_phone.refresh_from_db()
    assert number_of(with_phone, "office") == NEW_NUMBER
    assert with_phone.preferred_option == "text:authentication"


def test_a_proof_requested_for_another_role_drops_a_preference_waiting_for_proof(
    with_phone, outbox, settings
) -> None:
    settings.TWOFOLD = {**settings.TWOFOLD, "resend_cooldown_seconds": 0}
    _prefer_office_with_a_new_number(with_phone)
    phone_services.request_change(with_phone, "alternate", NEW_NUMBER)
    proof = phone_services.start_verification(with_phone, "office")  # the office, sent again
    _answer(proof)
    phone_services.confirm_change(with_phone, proof)
    with_phone.refresh_from_db()
    assert number_of(with_phone, "office") == NEW_NUMBER
    assert with_phone.preferred_option == "text:authentication"

"""The security verification page through Django's test client."""

import html

import pytest

from twofold.audit.models import AuditAction, AuditEvent
from twofold.delivery.base import call_answered
from twofold.methods.models import Challenge
from twofold.methods.phone import actions as phone_actions
from twofold.methods.phone.models import Phone

from .conftest import AUTH_NUMBER, NEW_NUMBER, page_data

pytestmark = pytest.mark.django_db
PAGE = "/account/security-verification"


def test_the_page_needs_a_signed_in_user(client) -> None:
    assert client.get(PAGE)["Location"].startswith("/signin?next=")


def test_the_short_alias_leads_to_the_page(client) -> None:
    assert client.get("/mfasetup")["Location"] == PAGE


def test_the_page_shows_the_owner_their_full_number(signed_in, with_phone) -> None:
    body = signed_in.get(PAGE).content.decode()
    assert "(425) 555-0134" in body
    assert 'data-testid="alternate-advice"' in body


def test_a_change_without_a_recent_second_factor_goes_to_confirm_first(signed_in, with_phone):
    response = signed_in.post(PAGE, page_data(authentication_number="425 555 0188"))
    assert response["Location"].startswith("/account/verify?next=")
    assert Phone.objects.get(user=with_phone).pending_number == ""


def test_a_user_with_no_method_may_register_the_first_one(signed_in, outbox) -> None:
    response = signed_in.post(PAGE, page_data(authentication_number="425 555 0134"))
    assert response["Location"] == "/account/security-verification/verify-phone"
    page = signed_in.get(response["Location"]).content.decode()
    assert "+1 XXX XXX XX34" in page
    response = signed_in.post(
        "/account/security-verification/verify-phone", {"code": outbox.last_code()}
    )
    assert response["Location"] == PAGE
    assert Phone.objects.get(role="authentication").number == AUTH_NUMBER


def test_an_invalid_number_keeps_what_was_typed_and_changes_nothing(stepped_up, with_phone):
    response = stepped_up.post(PAGE, page_data(authentication_number="555 12"))
    body = response.content.decode()
    assert response.status_code == 200
    assert "not a valid phone number" in body
    assert 'value="555 12"' in body
    assert Phone.objects.get(user=with_phone).number == AUTH_NUMBER


def test_a_number_from_another_country_is_refused(stepped_up, with_phone) -> None:
    response = stepped_up.post(PAGE, page_data(authentication_number="+44 20 7946 0123"))
    assert (
        "This number belongs to United Kingdom, not to United States" in response.content.decode()
    )


def test_an_alternate_phone_ticked_without_a_number_is_refused(stepped_up, with_phone) -> None:
    data = page_data(authentication_number="425 555 0134", alternate_enabled="on")
    response = stepped_up.post(PAGE, data)
    assert "Enter the alternate phone number." in response.content.decode()


def test_a_preferred_option_the_user_lacks_is_refused_next_to_it(stepped_up, with_phone):
    response = stepped_up.post(
        PAGE, page_data(authentication_number="425 555 0134", preferred_option="call:office")
    )
    body = response.content.decode()
    assert "Enter the phone number this option uses" in body
    with_phone.refresh_from_db()
    assert with_phone.preferred_option == ""


def test_saving_office_and_alternate_phones(stepped_up, with_phone) -> None:
    response = stepped_up.post(
        PAGE,
        page_data(
            authentication_number="425 555 0134",
            office_number="425 555 0199",
            office_extension="77",
            alternate_enabled="on",
            alternate_number="425 555 0188",
        ),
    )
    assert response["Location"] == PAGE
    office = Phone.objects.get(user=with_phone, role="office")
    assert (office.number, office.extension) == ("+14255550199", "77")
    assert Phone.objects.get(user=with_phone, role="alternate").number == NEW_NUMBER


def test_changing_the_authentication_phone_shows_the_pending_change(stepped_up, with_phone):
    response = stepped_up.post(PAGE, page_data(authentication_number="425 555 0188"))
    assert response["Location"].endswith("/verify-phone")
    page = stepped_up.get(PAGE).content.decode()
    assert 'data-testid="pending-authentication"' in page
    assert "+1 XXX XXX XX88" in page


def test_a_new_office_number_for_the_preferred_call_is_proven_by_answering(stepped_up, with_phone):
    stepped_up.post(
        PAGE,
        page_data(
            authentication_number="425 555 0134",
            office_number="425 555 0199",
            preferred_option="call:office",
        ),
    )
    challenge = Challenge.objects.get(purpose="verify_number")
    page = stepped_up.get("/account/security-verification/verify-phone").content.decode()
    assert 'data-testid="waiting"' in page
    status = stepped_up.get(f"/challenges/{challenge.pk}/status").json()
    assert status == {"state": "pending"}
    call_answered.send(sender=None, reference=str(challenge.pk), digits="#")
    assert stepped_up.get(f"/challenges/{challenge.pk}/status").json() == {"state": "approved"}
    response = stepped_up.post("/account/security-verification/verify-phone/complete")
    assert response["Location"] == PAGE
    assert Phone.objects.get(user=with_phone, role="office").number == "+14255550199"


def test_the_status_of_another_users_challenge_is_not_found(stepped_up, make_user) -> None:
    from twofold.methods.phone import services as phone_services

    bob = make_user("bob@contoso.example")
    phone_services.set_number(bob, "office", "+14255550199")
    from twofold.methods import verification

    challenge = verification.start_challenge(bob, "call:office", "signin")
    assert stepped_up.get(f"/challenges/{challenge.pk}/status").status_code == 404


def test_restoring_trusted_devices_asks_first_then_moves_the_epoch(stepped_up, with_phone):
    assert stepped_up.get(f"{PAGE}/restore-trusted-devices").status_code == 200
    response = stepped_up.post(f"{PAGE}/restore-trusted-devices")
    assert response["Location"] == PAGE
    with_phone.refresh_from_db()
    assert with_phone.trusted_device_epoch == 1
    assert AuditEvent.objects.filter(action=AuditAction.TRUSTED_DEVICES_RESTORED).exists()


class TestStepUp:
    def test_confirming_with_a_texted_code_allows_the_change(self, signed_in, with_phone, outbox):
        signed_in.get("/account/verify?next=/account/security-verification")
        signed_in.post("/account/verify/start", {"option": "text:authentication"})
        response = signed_in.post("/account/verify", {"code": outbox.last_code()})
        assert response["Location"] == PAGE
        data = page_data(
            authentication_number="425 555 0134", preferred_option="call:authentication"
        )
        response = signed_in.post(PAGE, data)
        assert response["Location"] == PAGE
        with_phone.refresh_from_db()
        assert with_phone.preferred_option == "call:authentication"

    def test_a_wrong_code_does_not_confirm(self, signed_in, with_phone, outbox) -> None:
        signed_in.post("/account/verify/start", {"option": "text:authentication"})
        wrong = outbox.wrong_code()
        response = signed_in.post("/account/verify", {"code": wrong})
        assert "didn't work" in html.unescape(response.content.decode())
        assert signed_in.post(PAGE, page_data())["Location"].startswith("/account/verify")

    def test_an_option_the_user_does_not_have_cannot_be_started(self, signed_in, with_phone):
        response = signed_in.post("/account/verify/start", {"option": "call:office"}, follow=True)
        assert "not available" in response.content.decode()
        assert not Challenge.objects.exists()


class TestAChangeThatWentMeanwhile:
    """The phones a proof was for went (an administrator's reset) or changed: no 500."""

    VERIFY = "/account/security-verification/verify-phone"

    def _office_proof(self, client):
        client.post(
            PAGE,
            page_data(
                authentication_number="425 555 0134",
                office_number="425 555 0199",
                preferred_option="call:office",
            ),
        )
        challenge = Challenge.objects.get(purpose="verify_number")
        call_answered.send(sender=None, reference=str(challenge.pk), digits="#")
        return challenge

    def test_completing_a_proof_whose_phones_were_removed_redirects_with_a_message(
        self, stepped_up, with_phone
    ) -> None:
        from twofold.accounts.models import User
        from twofold.methods import resets

        self._office_proof(stepped_up)
        resets.require_reregistration(User.objects.filter(pk=with_phone.pk))
        response = stepped_up.post(f"{self.VERIFY}/complete", follow=True)
        assert response.redirect_chain[0][0] == PAGE
        assert "no longer waiting" in response.content.decode()
        assert not Phone.objects.filter(user=with_phone).exists()

    def test_a_typed_code_for_a_removed_phone_redirects_with_a_message(
        self, stepped_up, with_phone, outbox
    ) -> None:
        stepped_up.post(PAGE, page_data(authentication_number="425 555 0188"))
        Phone.objects.filter(user=with_phone).delete()
        response = stepped_up.post(self.VERIFY, {"code": outbox.last_code()}, follow=True)
        assert response.redirect_chain == [(PAGE, 302)]
        assert "This new number is no longer waiting." in response.content.decode()
        assert not Phone.objects.filter(user=with_phone).exists()

    def test_a_proof_for_a_number_changed_since_is_refused_and_changes_nothing(
        self, stepped_up, with_phone
    ) -> None:
        self._office_proof(stepped_up)
        Phone.objects.filter(user=with_phone, role="office").update(pending_number="+14255550111")
        response = stepped_up.post(f"{self.VERIFY}/complete", follow=True)
        assert "not been verified" in response.content.decode()
        office = Phone.objects.get(user=with_phone, role="office")
        assert (office.number, office.pending_number) == ("", "+14255550111")


class TestRefusedSaves:
    """A save that cannot send its proof: a clear answer, nothing saved."""

    CHANGES = (AuditAction.PREFERRED_OPTION_CHANGED, phone_actions.CHANGED)

    def _post_new_number(self, client):
        self.changes_before = AuditEvent.objects.filter(action__in=self.CHANGES).count()
        return client.post(
            PAGE,
            page_data(authentication_number="425 555 0188", preferred_option="call:authentication"),
        )

    def _nothing_saved(self, user) -> None:
        phone = Phone.objects.get(user=user, role="authentication")
        assert (phone.number, phone.pending_number, phone.mode) == (AUTH_NUMBER, "", "text")
        user.refresh_from_db()
        assert user.preferred_option == ""
        assert AuditEvent.objects.filter(action__in=self.CHANGES).count() == self.changes_before

    def test_over_the_text_cap_the_page_says_it_inline_and_keeps_what_was_typed(
        self, stepped_up, with_phone, outbox, settings
    ) -> None:
        settings.TWOFOLD = {**settings.TWOFOLD, "texts_per_user_per_hour": 0}
        response = self._post_new_number(stepped_up)
        assert response.status_code == 429
        assert response["Retry-After"].isdigit()
        body = html.unescape(response.content.decode())
        assert "Error 429" not in body  # the settings page itself, not a dead end
        assert 'value="425 555 0188"' in body
        assert outbox.texts() == []
        self._nothing_saved(with_phone)

    def test_with_the_gateway_down_the_page_shows_a_form_error(
        self, stepped_up, with_phone, settings
    ) -> None:
        dotted = "twofold.delivery.tests.gateways.UnreachableGateway"
        settings.TWOFOLD = {**settings.TWOFOLD, "gateway": dotted}
        response = self._post_new_number(stepped_up)
        assert response.status_code == 200
        body = html.unescape(response.content.decode())
        assert "We couldn't reach your phone just now" in body
        assert 'value="425 555 0188"' in body  # what was typed stays
        self._nothing_saved(with_phone)


def test_the_page_says_phone_methods_are_restricted_and_offers_the_app(
    signed_in, with_phone
) -> None:
    body = signed_in.get(PAGE).content.decode()
    assert 'data-testid="phone-restricted-note"' in body
    assert "weaker way to verify" in body
    assert 'data-testid="authenticator-panel"' in body


class TestLimitsOnTheProofPage:
    """A limit met while proving a new number is said on the proof page, with the time to
    wait, never as a full-page error."""

    VERIFY = "/account/security-verification/verify-phone"

    def test_a_new_code_asked_within_the_cooldown_is_said_on_the_proof_page(
        self, stepped_up, with_phone, outbox
    ) -> None:
        stepped_up.post(PAGE, page_data(authentication_number="425 555 0188"))
        response = stepped_up.post(f"{self.VERIFY}/resend", follow=True)
        body = html.unescape(response.content.decode())
        assert "Error 429" not in body
        assert 'data-testid="resend"' in body  # still on the proof page, its ways offered
        assert "before asking for another text or call to this number" in body
        assert len(outbox.texts()) == 1

    def test_too_many_wrong_codes_from_the_network_are_said_beside_the_code(
        self, stepped_up, with_phone, outbox, settings
    ) -> None:
        stepped_up.post(PAGE, page_data(authentication_number="425 555 0188"))
        settings.TWOFOLD = {**settings.TWOFOLD, "mfa_failures_per_address": 0}
        response = stepped_up.post(self.VERIFY, {"code": "000000"})
        assert response.status_code == 429
        body = html.unescape(response.content.decode())
        assert "Error 429" not in body
        assert "Too many wrong codes were entered from your network" in body
        assert 'data-testid="resend"' in body


def test_passkeys_and_recovery_codes_are_each_offered_once(stepped_up, with_phone) -> None:
    # Their own panels offer them: the page's list of what may be added does not repeat it.
    body = stepped_up.get(PAGE).content.decode()
    assert 'data-testid="passkeys-panel"' in body
    assert 'data-testid="recovery-panel"' in body
    assert body.count('href="/passkeys/add') == 1
    assert body.count('href="/account/security-verification/recovery-codes/new') == 1

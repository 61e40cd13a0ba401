"""Making a set on the settings page: a fresh second factor first, the codes shown once."""

from __future__ import annotations

import re
from urllib.parse import unquote

from django.urls import reverse

from twofold.methods.recovery import codes, services

_CODE = re.compile(r"\b[a-z]{4}-[a-z]{4}-[a-z]{4}-[a-z]{4}\b")


def test_making_a_set_needs_a_fresh_second_factor(client, with_phone) -> None:
    user = with_phone
    # docs/security.md 14: a change of methods needs a second factor passed just before.
    client.force_login(user)
    answer = client.post(reverse("recovery-codes-make"))
    assert answer.status_code == 302
    assert answer.url.startswith(reverse("step-up"))
    assert services.standing(user).has_set is False


def test_a_new_set_is_shown_once_with_a_download(verified, with_phone) -> None:
    answer = verified.post(reverse("recovery-codes-make"))
    assert answer.url == reverse("recovery-codes-shown")
    page = verified.get(answer.url).content.decode()
    shown = sorted(set(_CODE.findall(page.split('href="data:')[0])))
    assert len(shown) == 10
    download = unquote(re.search(r'href="data:text/plain;charset=utf-8,([^"]*)"', page).group(1))
    assert sorted(_CODE.findall(download)) == shown
    again = verified.get(reverse("recovery-codes-shown"))
    assert again.status_code == 302
    assert not _CODE.search(verified.get(reverse("security-verification")).content.decode())


def test_the_settings_page_says_how_many_are_left(verified, with_phone) -> None:
    made = services.make_set(with_phone)
    services.spend(with_phone, codes.normalise(made[0]))
    page = verified.get(reverse("security-verification")).content.decode()
    assert "9 left" in page
    assert "Make a new set" in page


def test_the_settings_page_offers_codes_to_whoever_has_none(verified, with_phone) -> None:
    page = verified.get(reverse("security-verification")).content.decode()
    assert "You have no recovery codes." in page
    assert reverse("recovery-codes-make") in page


def test_without_another_way_to_verify_no_set_is_made(verified, user) -> None:
    answer = verified.post(reverse("recovery-codes-make"), follow=True)
    assert "Register a way to verify first" in answer.content.decode()
    assert services.standing(user).has_set is False


def test_after_the_set_the_person_goes_where_they_were_going(verified, with_phone) -> None:
    target = "/oauth2/authorize/continue?x=1"
    page = verified.get(reverse("recovery-codes-make"), {"next": target}).content.decode()
    assert 'value="/oauth2/authorize/continue?x=1"' in page
    verified.post(reverse("recovery-codes-make"), {"next": target})
    shown = verified.get(reverse("recovery-codes-shown")).content.decode()
    assert 'href="/oauth2/authorize/continue?x=1" data-testid="recovery-done"' in shown


def test_a_next_elsewhere_is_ignored(verified, with_phone) -> None:
    verified.post(reverse("recovery-codes-make"), {"next": "https://evil.example/"})
    shown = verified.get(reverse("recovery-codes-shown")).content.decode()
    assert "evil.example" not in shown
    assert f'href="{reverse("security-verification")}" data-testid="recovery-done"' in shown


def test_the_settings_page_has_no_panel_where_the_organisation_does_not_allow_codes(
    verified, with_phone
) -> None:
    organisation = with_phone.organisation
    organisation.allowed_methods = ["text", "call"]
    organisation.save()
    page = verified.get(reverse("security-verification")).content.decode()
    assert 'data-testid="recovery-panel"' not in page


def test_recovery_codes_are_offered_right_after_a_first_method_at_sign_in(
    client, make_user, outbox
) -> None:
    from conftest import STRONG_PASSWORD
    from twofold.accounts.models import MfaState

    make_user("nina@contoso.example", mfa_state=MfaState.ENABLED)
    client.post("/signin", {"username": "nina@contoso.example"})
    client.post("/signin/password", {"password": STRONG_PASSWORD})
    client.post(
        "/account/security-verification/phone/add",
        {"country": "US", "number": "425 555 0134", "mode": "text"},
    )
    back = client.post(
        "/account/security-verification/phone/add/verify", {"code": outbox.last_code()}
    )
    assert back["Location"].startswith(reverse("recovery-codes-make") + "?next=")
    offer = client.get(back["Location"])
    assert offer.status_code == 200
    assert "Make recovery codes" in offer.content.decode()

"""The activation panel on the settings page and the activation page."""

import pytest

from twofold.audit.models import AuditEvent
from twofold.methods import stepup
from twofold.methods.oath import actions as token_actions
from twofold.methods.oath.models import HardwareToken

pytestmark = pytest.mark.django_db

SETTINGS_PAGE = "/account/security-verification"


def activate_url(token_id: int) -> str:
    return f"/account/security-verification/hardware-token/{token_id}/activate"


def wrong(code: str) -> str:
    return f"{(int(code) + 1) % 1_000_000:06d}"


def test_the_settings_page_asks_to_activate_an_assigned_token(signed_in, assigned) -> None:
    page = signed_in.get(SETTINGS_PAGE).content.decode()
    assert 'data-testid="activate-token"' in page
    assert "Activate your hardware token (serial …0001)" in page
    assert f'action="{activate_url(assigned.token.pk)}"' in page


def test_the_settings_page_shows_no_token_panel_to_a_user_without_tokens(signed_in) -> None:
    page = signed_in.get(SETTINGS_PAGE).content.decode()
    assert 'data-testid="hardware-token-panel"' not in page


def test_an_activated_token_is_listed_and_not_asked_for_again(signed_in, activated) -> None:
    page = signed_in.get(SETTINGS_PAGE).content.decode()
    assert 'data-testid="active-token"' in page
    assert 'data-testid="activate-token"' not in page


def test_the_right_code_activates_the_token_and_returns_to_the_settings_page(
    signed_in, assigned, clock
) -> None:
    response = signed_in.post(
        activate_url(assigned.token.pk), {"code": clock.code(assigned.secret)}
    )
    assert response.status_code == 302
    assert response["Location"] == SETTINGS_PAGE
    assert HardwareToken.objects.get().activated_at is not None
    assert AuditEvent.objects.filter(action=token_actions.ACTIVATED).exists()


def test_activating_a_first_method_counts_as_a_second_factor_just_passed(
    signed_in, assigned, clock
) -> None:
    signed_in.post(activate_url(assigned.token.pk), {"code": clock.code(assigned.secret)})
    assert stepup.VERIFIED_AT in signed_in.session


def test_a_wrong_code_shows_an_error_and_leaves_the_token_inactive(
    signed_in, assigned, clock
) -> None:
    response = signed_in.post(
        activate_url(assigned.token.pk), {"code": wrong(clock.code(assigned.secret))}
    )
    assert response.status_code == 200
    assert "That code didn&#x27;t work" in response.content.decode()
    assert HardwareToken.objects.get().activated_at is None


def test_activation_needs_a_recent_second_factor_once_the_user_has_a_method(
    signed_in, user, give_token, activate, clock
) -> None:
    activate(give_token(user))
    second = give_token(user)
    response = signed_in.post(activate_url(second.token.pk), {"code": clock.code(second.secret)})
    assert response.status_code == 302
    assert response["Location"].startswith("/account/verify")
    second.token.refresh_from_db()
    assert second.token.activated_at is None


def test_with_a_recent_second_factor_a_further_token_can_be_activated(
    verified, user, give_token, activate, clock
) -> None:
    activate(give_token(user))
    second = give_token(user)
    verified.post(activate_url(second.token.pk), {"code": clock.code(second.secret)})
    second.token.refresh_from_db()
    assert second.token.activated_at is not None


def test_another_users_token_is_not_found(signed_in, make_user, give_token, clock) -> None:
    bobs = give_token(make_user("bob@contoso.example"))
    assert signed_in.get(activate_url(bobs.token.pk)).status_code == 404
    response = signed_in.post(activate_url(bobs.token.pk), {"code": clock.code(bobs.secret)})
    assert response.status_code == 404
    assert HardwareToken.objects.get().activated_at is None


def test_the_activation_page_has_no_inline_style_or_script(signed_in, assigned) -> None:
    page = signed_in.get(activate_url(assigned.token.pk)).content.decode()
    assert 'data-testid="activate-token"' in page
    assert " style=" not in page
    assert "<style" not in page
    assert "<script>" not in page


def test_a_locked_second_factor_is_said_on_the_activation_page_with_when(
    signed_in, user, assigned, clock
) -> None:
    from datetime import timedelta

    from django.utils import timezone

    type(user).objects.filter(pk=user.pk).update(
        mfa_locked_until=timezone.now() + timedelta(minutes=10)
    )
    response = signed_in.post(
        activate_url(assigned.token.pk), {"code": clock.code(assigned.secret)}
    )
    assert response.status_code == 429
    body = response.content.decode()
    assert "Error 429" not in body  # the activation page, not a dead end
    assert 'data-testid="activate-token"' in body
    assert "Verification is locked after too many failed attempts" in body
    assert HardwareToken.objects.get().activated_at is None

"""What the method offers the hosts: enrolment, the admin's summary, the catalogue."""

from __future__ import annotations

from twofold.methods import base
from twofold.methods.recovery import codes, method, services


def _method() -> method.RecoveryCodeMethod:
    return base.get(method.KEY)


def test_recovery_codes_are_offered_after_a_first_method_until_a_set_is_made(
    user, with_phone
) -> None:
    offer = _method().after_first_method(with_phone)
    assert offer.url_name == "recovery-codes-make"
    assert "registration" in offer.hosts
    services.make_set(with_phone)
    assert _method().after_first_method(with_phone) is None


def test_nothing_is_offered_before_any_other_method(make_user) -> None:
    newcomer = make_user("nina@contoso.example")
    assert _method().after_first_method(newcomer) is None
    assert _method().enrolments(newcomer) == []


def test_the_admin_sees_how_many_are_left_never_a_code(with_phone) -> None:
    assert _method().admin_summary(with_phone) == []
    made = services.make_set(with_phone)
    services.spend(with_phone, codes.normalise(made[0]))
    [item] = _method().admin_summary(with_phone)
    assert "9 of 10 left" in item.label
    assert item.remove_url is None
    shown = f"{item.label} {item.detail}"
    assert not any(code in shown or codes.normalise(code) in shown for code in made)


def test_a_recovery_code_is_never_a_preferred_option_and_says_what_it_is() -> None:
    spec = base.option_spec(method.OPTION)
    assert spec.preferable is False
    assert base.amr_for(method.OPTION) == ("recovery_code",)
    assert "otp" not in spec.amr

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


def test_the_admins_page_of_the_user_says_how_many_are_left(with_phone, make_user) -> None:
    from twofold.adminportal.tests.conftest import signed_in_admin

    admin = make_user("admin@contoso.example", is_admin=True)
    made = services.make_set(with_phone)
    services.spend(with_phone, codes.normalise(made[0]))
    page = signed_in_admin(admin.username).get(f"/admin-portal/users/{with_phone.pk}")
    assert page.status_code == 200
    text = page.content.decode()
    assert "Recovery codes: 9 of 10 left" in text
    assert not any(code in text or codes.normalise(code) in text for code in made)

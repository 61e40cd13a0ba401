import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from twofold.core.errors import InvalidInput
from twofold.methods import base
from twofold.organisations.models import Organisation
from twofold.organisations.services import create_organisation, find_by_username

pytestmark = pytest.mark.django_db


def test_a_new_organisation_has_the_products_default_policy(organisation) -> None:
    assert organisation.remember_device_days == 14
    assert (organisation.lockout_threshold, organisation.lockout_window_minutes) == (10, 15)
    assert organisation.lockout_duration_minutes == 15
    known = sorted(kind.value for kind in base.policy_kinds())
    assert sorted(organisation.allowed_methods) == known
    assert not organisation.allow_app_passwords
    assert organisation.fraud_report_enabled
    assert organisation.fraud_report_blocks_user
    assert (organisation.session_idle_minutes, organisation.session_absolute_hours) == (30, 12)


def test_a_user_name_finds_its_organisation_by_domain(organisation) -> None:
    assert find_by_username("Alice@CONTOSO.example") == organisation
    assert find_by_username("alice@elsewhere.example") is None
    assert find_by_username("no-at-sign") is None


def test_a_domain_belongs_to_one_organisation_only(organisation) -> None:
    with pytest.raises(InvalidInput, match="already belongs"):
        create_organisation("Impostor", ["contoso.example"], slug="impostor")
    assert not Organisation.objects.filter(slug="impostor").exists()


def test_an_organisation_needs_a_domain(db) -> None:
    with pytest.raises(InvalidInput):
        create_organisation("Nowhere", [" "])


def test_a_bad_policy_value_is_refused_and_nothing_is_created(db) -> None:
    with pytest.raises(InvalidInput):
        create_organisation("Bad", ["bad.example"], remember_device_days=400)
    assert not Organisation.objects.filter(slug="bad").exists()


@pytest.mark.parametrize("ranges", [["10.0.0.0/8", "2001:db8::/32"], []])
def test_trusted_ranges_accept_ipv4_and_ipv6_cidr(organisation, ranges) -> None:
    organisation.trusted_ip_ranges = ranges
    organisation.full_clean()


@pytest.mark.parametrize("ranges", [["10.0.0.0/33"], ["not-an-address"], "10.0.0.0/8"])
def test_trusted_ranges_refuse_anything_else(organisation, ranges) -> None:
    organisation.trusted_ip_ranges = ranges
    with pytest.raises(ValidationError):
        organisation.full_clean()


def test_unknown_method_kinds_are_refused(organisation) -> None:
    organisation.allowed_methods = ["carrier-pigeon"]
    with pytest.raises(ValidationError):
        organisation.full_clean()


def test_the_database_itself_bounds_the_lockout_threshold(organisation) -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        Organisation.objects.filter(pk=organisation.pk).update(lockout_threshold=101)


def test_the_accent_colour_must_be_a_hex_colour(organisation) -> None:
    organisation.accent_colour = "red; background: url(x)"
    with pytest.raises(ValidationError):
        organisation.full_clean()

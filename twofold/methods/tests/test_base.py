"""The method interface's catalogue: central lists come from the methods' declarations
(methods/base.py), so that a new method is its package plus a line in the registry."""

from __future__ import annotations

import pytest

from twofold.audit import models as audit_models
from twofold.audit.models import AuditEvent, AuditResult
from twofold.audit.services import record
from twofold.methods import base
from twofold.organisations import services as organisations

pytestmark = pytest.mark.django_db


def test_every_option_names_a_policy_kind_some_method_declares():
    kinds = {kind.value for kind in base.policy_kinds()}
    specs = [spec for method in base.registry().values() for spec in method.catalogue]
    assert specs
    assert {spec.policy_kind for spec in specs} <= kinds


def test_the_policy_kinds_of_today_s_methods_come_from_their_packages():
    # Today's four, and whatever new methods (recovery codes, passkeys) add beside them.
    assert {kind.value for kind in base.policy_kinds()} >= {
        "call",
        "text",
        "app_notification",
        "app_code",
        "passkey",
    }


def test_amr_values_come_from_the_catalogue():
    assert base.amr_for("text:authentication") == ("sms",)
    assert base.amr_for("call:alternate") == ("tel",)
    assert base.amr_for("app_code") == ("otp",)
    assert base.amr_for("app_notification") == ("swk",)
    assert base.amr_for("hardware_token") == ("hwk",)
    assert base.amr_for("no-such-option") == ("mfa",)


def test_admin_labels_come_from_the_catalogue():
    assert base.option_admin_label("text:authentication") == "Text message"
    assert base.option_admin_label("call:office") == "Call"
    assert base.option_admin_label("no-such-option") == ""


def test_a_new_method_s_policy_kind_is_known_and_off_by_default_if_it_says_so(with_example):
    assert ("example", "Example kind") in base.policy_kind_choices()
    assert "example" not in base.default_policy_kinds()
    organisation = organisations.create_organisation("Example", ["example.example"], slug="example")
    assert "example" not in organisation.allowed_methods
    organisation.allowed_methods = ["example", "text"]
    organisation.full_clean()  # a known kind: no ValidationError


def test_a_new_method_s_option_is_in_the_catalogue(with_example):
    assert base.amr_for("example") == ("hwk", "user")
    assert base.option_admin_label("example") == "Ex"


def test_a_new_method_s_audit_action_is_recorded_and_labelled_without_a_migration(
    with_example, user
):
    event = record("example.made", AuditResult.SUCCESS, actor=user, subject=user)
    assert AuditEvent.objects.get(pk=event.pk).action_label == "Example made"
    assert ("example.made", "Example made") in audit_models.action_choices()


def test_an_unknown_audit_action_is_refused_and_nothing_is_written(user):
    before = AuditEvent.objects.count()
    with pytest.raises(ValueError, match="unknown audit action"):
        record("example.misspelt", AuditResult.SUCCESS, actor=user, subject=user)
    assert AuditEvent.objects.count() == before


def test_a_method_cannot_redefine_a_core_audit_action():
    with pytest.raises(ValueError, match="already defined"):
        audit_models.add_method_actions({"signin.completed": "Signed in again"})

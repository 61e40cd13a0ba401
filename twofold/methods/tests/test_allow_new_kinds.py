"""The data migrations that allow a new method's kind for organisations that existed before
it (passkeys' and recovery codes' 0002): as a new organisation would have it."""

import importlib

import pytest
from django.apps import apps

from twofold.organisations.models import Organisation

pytestmark = pytest.mark.django_db

MIGRATIONS = [
    ("twofold.methods.passkeys.migrations.0002_allow_passkeys", "passkey"),
    ("twofold.methods.recovery.migrations.0002_allow_recovery_codes", "recovery_code"),
]


@pytest.mark.parametrize(("module", "kind"), MIGRATIONS)
def test_an_older_organisation_gets_the_kind_once_and_back(module, kind, organisation) -> None:
    migration = importlib.import_module(module)
    older = ["text", "call"]
    Organisation.objects.filter(pk=organisation.pk).update(allowed_methods=older)
    migration.allow(apps, None)
    migration.allow(apps, None)  # run twice (a re-run): listed once
    assert Organisation.objects.get(pk=organisation.pk).allowed_methods == [*older, kind]
    migration.disallow(apps, None)
    assert Organisation.objects.get(pk=organisation.pk).allowed_methods == older


@pytest.mark.parametrize(("module", "kind"), MIGRATIONS)
def test_new_organisations_allow_the_kind_already(module, kind) -> None:
    from twofold.methods import base

    assert kind in base.default_policy_kinds()

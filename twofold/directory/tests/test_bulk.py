"""The sync's bulk path (issue 19): a batch's new users are made in bulk, with the same
rules, refusals and audit events as one at a time (docs/directory.md, "Speed").

Against the real slapd of conftest.py; on SQLite and on PostgreSQL + Redis alike."""

from __future__ import annotations

import pytest
from django.db import IntegrityError

from twofold.accounts import services as accounts
from twofold.accounts.models import User
from twofold.audit import chain
from twofold.audit.models import AuditAction, AuditEvent
from twofold.directory import sync
from twofold.directory.models import DirectoryAccount
from twofold.directory.sync import synchronise
from twofold.directory.tests.test_directory import configure
from twofold.methods.phone import actions as phone_actions
from twofold.methods.phone.models import Phone, PhoneRole

pytestmark = [pytest.mark.xdist_group("slapd"), pytest.mark.django_db]

MADE = [f"{name}@contoso.example" for name in ("adele", "bianca", "emily", "grady", "henrietta")]


@pytest.fixture
def directory(organisation, tree):
    return configure(organisation, tree)


@pytest.fixture(params=[1000, 2], ids=["one-batch", "batches-of-2"])
def batch(request, monkeypatch) -> int:
    monkeypatch.setattr(sync, "BATCH", request.param)
    return request.param


def test_a_taken_user_name_is_refused_and_the_rest_of_its_batch_is_made(
    organisation, directory, batch
) -> None:
    local = accounts.create_user(organisation, "isaiah@contoso.example")
    report = synchronise(directory)
    assert sorted(report.created) == MADE
    assert ("isaiah@contoso.example", "a user with this user name exists already") in (
        report.refused
    )
    assert not DirectoryAccount.objects.filter(user=local).exists()  # never taken over
    assert chain.verify(organisation.pk).ok


def test_a_user_name_the_directory_lists_twice_is_made_once(organisation, directory, tree) -> None:
    tree.add_person("adele2", userPrincipalName="adele@contoso.example")
    report = synchronise(directory)
    assert report.created.count("adele@contoso.example") == 1
    assert ("adele@contoso.example", "a user with this user name exists already") in (
        report.refused
    )
    assert DirectoryAccount.objects.filter(user__username="adele@contoso.example").count() == 1


def test_an_entry_refused_in_the_middle_of_a_batch_sinks_nothing_else(
    organisation, directory, tree, batch
) -> None:
    tree.add_person("nameless", userPrincipalName="no user name")
    report = synchronise(directory)
    assert sorted(report.created) == [*MADE, "isaiah@contoso.example"]
    refused = dict(report.refused)
    assert refused["no user name"] == "the user name is not of the form name@domain"
    assert refused["diego@contoso.example"] == "disabled in the directory"


def test_bulk_made_users_are_audited_and_held_as_one_at_a_time(organisation, directory) -> None:
    report = synchronise(directory)
    adele = User.objects.get(username="adele@contoso.example")
    assert not adele.has_usable_password()
    created = AuditEvent.objects.filter(action=AuditAction.USER_CREATED, subject=adele).get()
    assert (created.actor_label, created.subject_label, created.organisation_id) == (
        "directory sync",
        "adele@contoso.example",
        organisation.pk,
    )
    assert AuditEvent.objects.filter(action=AuditAction.USER_CREATED).count() == len(report.created)
    phone = Phone.objects.get(user=adele, role=PhoneRole.AUTHENTICATION)
    assert (phone.number, phone.pending_number) == ("", "+14255550101")
    pending = AuditEvent.objects.get(action=phone_actions.CHANGE_PENDING, subject=adele,
                                     details__kind=PhoneRole.AUTHENTICATION)  # fmt: skip
    assert pending.details["via"] == "directory"
    assert "4255550101" not in str(pending.details)  # masked, never in full
    account = DirectoryAccount.objects.get(user=adele)
    assert account.phone == "+14255550101"
    assert chain.verify(organisation.pk).ok


def test_a_batch_whose_bulk_insert_fails_goes_one_at_a_time(
    organisation, directory, monkeypatch
) -> None:
    """A name taken between the batch's look-up and its insert (by another request, say):
    the insert fails, its savepoint undoes the whole bulk attempt, and the batch goes one
    at a time, each entry with its own savepoint."""
    bulk = accounts.create_users
    failed = []

    def meanwhile(users, **options):
        accounts.create_user(organisation, users[0].username)
        try:
            return bulk(users, **options)
        except IntegrityError:
            failed.append(len(users))
            raise

    monkeypatch.setattr(accounts, "create_users", meanwhile)
    report = synchronise(directory)
    assert failed == [6]
    assert sorted(report.created) == [*MADE, "isaiah@contoso.example"]
    for name in report.created:
        assert DirectoryAccount.objects.filter(user__username=name).count() == 1
    assert AuditEvent.objects.filter(action=AuditAction.USER_CREATED).count() == 6
    assert chain.verify(organisation.pk).ok

"""``twofold rotate-keys``: every stored secret re-encrypted under the first key, in batches
each committed, resumable after an exception or a SIGKILL, found from one registry."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote

import pytest
from cryptography.fernet import Fernet
from django.apps import apps
from django.core.management import CommandError, call_command
from django.db import connection, models, transaction

from conftest import side_by_side
from twofold.audit import chain, forwarding
from twofold.audit.models import AuditAction, AuditEvent
from twofold.core import context, crypto, keyrotation
from twofold.core.fields import EncryptedTextField, encrypted_fields
from twofold.directory import services as directory_services
from twofold.methods import totp
from twofold.methods.authenticator import activation
from twofold.methods.authenticator import services as app_services
from twofold.methods.authenticator.tests.phone_app import PhoneApp
from twofold.methods.oath import importing
from twofold.methods.oath import services as token_services
from twofold.organisations.services import create_organisation
from twofold.radius import clients as radius_clients

OLD = Fernet.generate_key().decode()
NEW = Fernet.generate_key().decode()
REGISTERED = {
    "audit.ForwardDestination.secret",
    "directory.Directory.bind_password",
    "authenticator.AuthenticatorDevice.secret",
    "authenticator.AuthenticatorDevice.public_key",
    "oath.HardwareToken.secret",
    "radius.RadiusClient.secret",
}
ROOT = Path(__file__).resolve().parents[3]


def use_keys(settings, *keys: str) -> None:
    settings.TWOFOLD = {**settings.TWOFOLD, "encryption_keys": keys}


def store_secrets(organisation, user, admin) -> dict[tuple[str, int], bytes]:
    """One of each stored secret, made through the services: an authenticator app (codes),
    the twofold Authenticator (a public key), hardware tokens, an organisation's SIEM
    webhook (its signing secret) and RADIUS clients (their shared secrets), two of each kind so
    that batches of one have something to resume. Keyed by (column, primary key)."""
    stored: dict[tuple[str, int], bytes] = {}
    for name in ("Work phone", "Home phone"):
        seed = app_services.new_secret()
        device = app_services.add_device(user, name, seed, crypto.totp(seed, time.time()))
        stored["authenticator.AuthenticatorDevice.secret", device.pk] = seed
    token = context.activate(context.RequestContext(client_address="127.0.0.1"))
    try:
        for _phone in range(2):
            phone = PhoneApp()
            device, seed = activation.activate(
                activation.issue(user)[1], phone.public_key, "Pixel", "Android"
            )
            stored["authenticator.AuthenticatorDevice.secret", device.pk] = seed
            stored["authenticator.AuthenticatorDevice.public_key", device.pk] = phone.point
    finally:
        context.deactivate(token)
    for serial in ("T-1", "T-2"):
        seed = crypto.random_otp_secret(20)
        line = ",".join((user.username, serial, seed.hex(), "30", "Acme", "TOTP-6"))
        csv = f"user name,serial number,secret key,time interval,manufacturer,model\n{line}"
        report = importing.import_tokens(organisation, csv.encode(), admin)
        assert len(report.imported) == 1, report.refused
        pk = token_services.tokens_of(user)[-1].pk
        stored["oath.HardwareToken.secret", pk] = seed
    for url in ("https://8.8.8.8/siem", "https://8.8.4.4/siem"):  # public: nothing is sent
        webhook, secret = forwarding.add_webhook(organisation, url)
        stored["audit.ForwardDestination.secret", webhook.pk] = secret.encode()
    fabrikam = create_organisation("Fabrikam", ["fabrikam.example"], slug="fabrikam")
    for owner, password in ((organisation, "service one"), (fabrikam, "service two")):
        directory = directory_services.configure(
            owner, urls=["ldaps://127.0.0.1:636"], bind_dn="cn=twofold", base_dn="dc=example",
            preset="ad", bind_password=password,
        )  # fmt: skip
        stored["directory.Directory.bind_password", directory.pk] = password.encode()
    for network in ("192.0.2.1", "192.0.2.2"):
        client, secret = radius_clients.create(organisation, f"VPN {network}", network, actor=admin)
        stored["radius.RadiusClient.secret", client.pk] = secret.encode()
    return stored


def column_of(label: str) -> models.Field:
    return next(field for field in encrypted_fields() if keyrotation._label(field) == label)


def stored_value(label: str, pk: int) -> str:
    column = column_of(label)
    return column.model.objects.values_list(column.name, flat=True).get(pk=pk)


def all_under_first_key(stored) -> bool:
    return all(crypto.under_first_key(stored_value(label, pk)) for label, pk in stored)


@pytest.fixture
def admin(make_user):
    return make_user("admin@contoso.example", is_admin=True)


@pytest.fixture
def stored(settings, organisation, user, admin) -> dict[tuple[str, int], bytes]:
    """Secrets written under the old key, then the new key put first."""
    use_keys(settings, OLD)
    made = store_secrets(organisation, user, admin)
    use_keys(settings, NEW, OLD)
    return made


# --- The registry ---------------------------------------------------------------------------


def test_the_registry_finds_every_encrypted_column() -> None:
    assert {keyrotation._label(field) for field in encrypted_fields()} == REGISTERED


def test_a_field_described_as_encrypted_is_an_encrypted_field() -> None:
    """A new column named "... (encrypted)" but declared a plain TextField would be missed."""
    missed = [
        f"{model._meta.label}.{field.name}"
        for model in apps.get_models()
        for field in model._meta.get_fields()
        if "encrypt" in str(getattr(field, "verbose_name", "")).lower()
        and not isinstance(field, EncryptedTextField)
    ]
    assert missed == []


def test_every_encrypt_call_stores_into_a_registered_column_or_the_session() -> None:
    """Each place that encrypts for the database names a registered column: a new one
    fails here until its column is an EncryptedTextField (or it is listed below)."""
    names = {field.name for field in encrypted_fields()}
    kept_elsewhere = {
        # The session, not the database: sealed values live only as long as a sign-in.
        "return crypto.encrypt(typed.encode())",
        '"password": crypto.encrypt(password.encode()),',
        "session[_PENDING_ENROLMENT] = crypto.encrypt(secret)",
        # A new set of recovery codes, until the page that shows them once is drawn.
        'just_made = {"codes": crypto.encrypt(json.dumps(made).encode()), "next": after}',
        # Returned to activate(), which stores it in AuthenticatorDevice.public_key.
        "return crypto.encrypt(point)",
    }
    unregistered = []
    for path in (ROOT / "twofold").rglob("*.py"):
        if "tests" in path.parts or path.name == "crypto.py":
            continue
        for line in path.read_text().splitlines():
            line = line.strip()
            if "crypto.encrypt(" not in line or line in kept_elsewhere:
                continue
            match = re.match(r"(\w+)=crypto\.encrypt\(", line)
            if not match or match.group(1) not in names:
                unregistered.append(f"{path.name}: {line}")
    assert unregistered == []


def test_no_column_outside_the_registry_holds_ciphertext(stored) -> None:
    """With one of every stored secret made, only registered columns hold Fernet tokens."""
    holding = set()
    for model in apps.get_models():
        for field in model._meta.concrete_fields:
            if isinstance(field, models.TextField | models.CharField):
                values = model.objects.values_list(field.name, flat=True)
                if any(str(value).startswith("gAAAAA") for value in values):
                    holding.add(f"{model._meta.label}.{field.name}")
    assert holding == {keyrotation._label(field) for field in encrypted_fields()}


# --- Rotating -------------------------------------------------------------------------------


def test_secrets_under_an_old_key_are_re_encrypted_under_the_new_first_key(stored) -> None:
    assert not any(crypto.under_first_key(stored_value(*where)) for where in stored)
    keyrotation.rotate_all(batch_size=2)
    assert all_under_first_key(stored)


def test_re_encrypted_secrets_decrypt_to_what_was_stored(stored) -> None:
    keyrotation.rotate_all(batch_size=2)
    assert {where: crypto.decrypt(stored_value(*where)) for where in stored} == stored


def test_after_rotation_the_old_key_can_be_removed_and_codes_still_work(
    settings, stored, user, monkeypatch
) -> None:
    keyrotation.rotate_all()
    use_keys(settings, NEW)
    later = time.time() + 90  # a step after the ones enrolment and activation used
    monkeypatch.setattr(totp, "clock", lambda: later)
    app_seed = next(seed for (label, _pk), seed in stored.items() if label.endswith("e.secret"))
    token = token_services.tokens_of(user)[0]
    token_seed = stored["oath.HardwareToken.secret", token.pk]
    token_services.activate(user, token.pk, crypto.totp(token_seed, later))
    with transaction.atomic():  # check_code locks the rows it reads
        assert app_services.check_code(user, crypto.totp(app_seed, later))
        assert token_services.check_code(user, crypto.totp(token_seed, later + 30))


def test_a_second_run_finds_nothing_left_to_do(stored) -> None:
    keyrotation.rotate_all()
    again = keyrotation.rotate_all()
    assert sum(report.rotated for report in again) == 0
    assert sum(report.current for report in again) == len(stored)


def test_a_run_interrupted_after_its_first_batch_keeps_that_batch_and_a_rerun_finishes(
    stored,
) -> None:
    class Interrupted(Exception):
        pass

    def interrupt(report: keyrotation.ColumnReport) -> None:
        raise Interrupted

    with pytest.raises(Interrupted):
        keyrotation.rotate_all(batch_size=1, progress=interrupt)
    under_new = [where for where in stored if crypto.under_first_key(stored_value(*where))]
    assert len(under_new) == 1  # the first batch, committed
    assert {where: crypto.decrypt(stored_value(*where)) for where in stored} == stored
    rerun = keyrotation.rotate_all(batch_size=1)
    assert sum(report.rotated for report in rerun) == len(stored) - 1
    assert all_under_first_key(stored)


def test_a_secret_no_key_opens_is_reported_and_the_rest_rotated(settings, stored) -> None:
    stranger = Fernet(Fernet.generate_key()).encrypt(b"seed").decode()
    label, pk = next(iter(stored))
    column_of(label).model.objects.filter(pk=pk).update(**{column_of(label).name: stranger})
    with pytest.raises(CommandError, match=rf"no configured key opens .*{label} ids \[{pk}\]"):
        call_command("rotate_keys", "--batch-size", "1")
    rest = {where: seed for where, seed in stored.items() if where != (label, pk)}
    assert all_under_first_key(rest)
    assert stored_value(label, pk) == stranger  # left as it was


def test_the_command_says_what_it_did_and_that_old_keys_may_go(stored, capsys) -> None:
    call_command("rotate_keys")
    out = capsys.readouterr().out
    assert "oath.HardwareToken.secret: 2 re-encrypted, 0 already under the first key" in out
    assert "the keys after it can be removed from TWOFOLD_ENCRYPTION_KEYS" in out


def test_a_run_is_audited_in_the_installations_chain_with_key_ids_never_keys(stored) -> None:
    call_command("rotate_keys")
    event = AuditEvent.objects.get(action=AuditAction.KEYS_ROTATED)
    assert event.organisation_id is None  # the installation's own chain
    assert (event.result, event.actor_label) == ("success", "twofold rotate-keys")
    assert event.details == {
        "count": len(stored),
        "unreadable": 0,
        "left": 0,
        "key_ids": [crypto.key_id(NEW), crypto.key_id(OLD)],
    }
    assert crypto.key_id(NEW) != crypto.key_id(OLD)
    written = json.dumps(event.details) + event.digest
    assert NEW not in written
    assert OLD not in written
    assert chain.verify(chain.INSTALLATION).ok


def test_a_run_that_left_a_secret_behind_is_audited_as_a_failure(stored) -> None:
    stranger = Fernet(Fernet.generate_key()).encrypt(b"seed").decode()
    label, pk = next(iter(stored))
    column_of(label).model.objects.filter(pk=pk).update(**{column_of(label).name: stranger})
    with pytest.raises(CommandError):
        call_command("rotate_keys")
    event = AuditEvent.objects.get(action=AuditAction.KEYS_ROTATED)
    assert event.result == "failure"
    assert (event.details["count"], event.details["unreadable"]) == (len(stored) - 1, 1)


def test_a_batch_size_below_one_is_refused(db) -> None:
    with pytest.raises(CommandError, match="--batch-size must be at least 1"):
        call_command("rotate_keys", "--batch-size", "0")


@pytest.mark.django_db(transaction=True)
def test_codes_are_accepted_while_a_rotation_runs_beside_them(stored, user, monkeypatch) -> None:
    """Safe while serving: sign-ins that lock the same rows wait their turn, then succeed."""
    later = time.time() + 90
    monkeypatch.setattr(totp, "clock", lambda: later)
    seeds = [seed for (label, _pk), seed in stored.items() if label.endswith("Device.secret")]

    def sign_in(seed: bytes) -> bool:
        with transaction.atomic():
            return app_services.check_code(user, crypto.totp(seed, later))

    results = side_by_side(
        lambda: keyrotation.rotate_all(batch_size=1), *(lambda s=s: sign_in(s) for s in seeds)
    )
    assert results[1:] == [True] * len(seeds)
    assert all_under_first_key(stored)


# --- A SIGKILLed run, in a real process, then a rerun ---------------------------------------

_KILLED_AFTER_FIRST_BATCH = """
import os, signal
from twofold.cli import main
from twofold.core import keyrotation

def die(report):
    os.kill(os.getpid(), signal.SIGKILL)

original = keyrotation.rotate_all
keyrotation.rotate_all = lambda batch_size: original(batch_size, progress=die)
main(["rotate-keys", "--batch-size", "1"])
"""


def _database_url() -> str:
    details = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{details['NAME']}"
    password = f":{quote(details['PASSWORD'], safe='')}" if details.get("PASSWORD") else ""
    return (
        f"postgres://{details['USER']}{password}@{details['HOST'] or '127.0.0.1'}:"
        f"{details['PORT'] or 5432}/{details['NAME']}"
    )


def _twofold(code: str, data_dir: Path) -> subprocess.CompletedProcess:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("TWOFOLD_")
        and k.removesuffix("_FILE") not in {"DATABASE_URL", "REDIS_URL"}
    }
    env |= {
        "TWOFOLD_DATA_DIR": str(data_dir),
        "TWOFOLD_ENCRYPTION_KEYS": f"{NEW},{OLD}",
        "DATABASE_URL": _database_url(),
        "DJANGO_SETTINGS_MODULE": "twofold.settings",
    }
    return subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120
    )


@pytest.mark.django_db(transaction=True)
def test_a_sigkilled_run_keeps_its_committed_batch_and_a_rerun_finishes(
    stored, tmp_path: Path
) -> None:
    killed = _twofold(_KILLED_AFTER_FIRST_BATCH, tmp_path)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    assert sum(crypto.under_first_key(stored_value(*where)) for where in stored) == 1
    rerun = _twofold("from twofold.cli import main; main(['rotate-keys'])", tmp_path)
    assert rerun.returncode == 0, rerun.stderr
    assert all_under_first_key(stored)
    assert {where: crypto.decrypt(stored_value(*where)) for where in stored} == stored

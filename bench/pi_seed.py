"""Seed privacyIDEA for the benchmark; run by bench/privacyidea.py with privacyIDEA's own
virtualenv (it imports privacyIDEA, not twofold).

    python pi_seed.py CONFIG_FILE seed SPECS_JSON
    python pi_seed.py CONFIG_FILE policies on|off

SPECS_JSON is a list of {"start", "stop", "pin": "" | "default" | "equal"}: user
``u<index:07d>`` of the SQL resolver gets one TOTP token with twofold's seed for the same
index (``secret`` below must match bench/seed.py) and a PIN hashed at privacyIDEA's
default Argon2 cost, at twofold's cost, or no PIN. Earlier benchmark tokens are deleted
first. One reference token goes through privacyIDEA's own ``init_token``; the rest are
copies of its rows made by bulk insert (enrolling thousands one by one gets slower and
slower in one application context).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import sys

from passlib.hash import argon2
from privacyidea.app import create_app
from privacyidea.lib.crypto import pass_hash
from privacyidea.lib.policy import delete_policy, get_policies, set_policy
from privacyidea.lib.realm import set_default_realm, set_realm
from privacyidea.lib.resolver import save_resolver
from privacyidea.lib.token.lifecycle import init_token
from privacyidea.lib.user import User
from privacyidea.models import Token, TokenInfo, TokenOwner, TokenRealm, db
from sqlalchemy import delete, insert, select

PIN = "4711"
REALM = "bench"
RESOLVER = "benchsql"
# twofold's Argon2id cost (OWASP minimum): 2 passes over 19 MiB, one lane.
EQUAL_COST = argon2.using(type="ID", rounds=2, memory_cost=19456, parallelism=1)


def secret(index: int) -> bytes:
    return hmac.new(b"twofold-bench", str(index).encode(), hashlib.sha1).digest()


def resolver_and_realm() -> None:
    save_resolver(
        {
            "resolver": RESOLVER,
            "type": "sqlresolver",
            "Driver": "postgresql+psycopg2",
            "Server": "127.0.0.1",
            "Port": "5432",
            "Database": "privacyidea_bench",
            "User": "postgres",
            "Password": "",
            "Table": "benchusers",
            "Map": json.dumps(
                {
                    "userid": "id",
                    "username": "username",
                    "password": "password",
                    "email": "email",
                    "givenname": "givenname",
                    "surname": "surname",
                    "mobile": "mobile",
                }
            ),
            "Limit": "500",
            "Editable": "0",
            "Password_Hash_Type": "SSHA256",
        }
    )
    set_realm(REALM, [{"name": RESOLVER}])
    set_default_realm(REALM)


def tuned_policies(on: bool) -> None:
    """The performance FAQ's policy switch: no token details in a successful answer."""
    if on:
        set_policy(name="bench_no_detail", scope="authorization", action="no_detail_on_success")
    else:
        delete_policy("bench_no_detail") if get_policies(name="bench_no_detail") else None


def wipe() -> None:
    ids = select(Token.id).where(Token.serial.like("BENCH%"))
    db.session.execute(delete(TokenOwner).where(TokenOwner.token_id.in_(ids)))
    db.session.execute(delete(TokenInfo).where(TokenInfo.token_id.in_(ids)))
    db.session.execute(delete(TokenRealm).where(TokenRealm.token_id.in_(ids)))
    db.session.execute(delete(Token).where(Token.serial.like("BENCH%")))
    db.session.commit()


def reference() -> tuple[list[tuple[str, str, str]], int, str]:
    """Enrol one token the documented way; its tokeninfo rows, realm id and resolver."""
    token = init_token(
        {
            "type": "totp",
            "genkey": 0,
            "otpkey": secret(0).hex(),
            "otplen": 6,
            "timeStep": 30,
            "hashlib": "sha1",
            "serial": "BENCHREF",
        },
        user=User("u0000000", REALM),
    )
    row = db.session.get(Token, token.token.id)
    infos = [(i.Key, i.Value, i.Type) for i in row.info_list]
    owner = row.owners.first()
    realm_id, resolver = owner.realm_id, owner.resolver
    wipe()
    return infos, realm_id, resolver


def tokens(specs: list[dict]) -> int:
    infos, realm_id, resolver = reference()
    hashes = {"": "", "default": pass_hash(PIN), "equal": EQUAL_COST.hash(PIN)}
    made = 0
    for spec in specs:
        for start in range(spec["start"], spec["stop"], 2000):
            indexes = range(start, min(start + 2000, spec["stop"]))
            rows = []
            for index in indexes:
                token = Token(f"BENCH{index:07d}", tokentype="totp", otpkey=secret(index).hex())
                token.pin_hash = hashes[spec["pin"]]
                rows.append(token)
            db.session.add_all(rows)
            db.session.flush()
            db.session.execute(
                insert(TokenOwner),
                [
                    {
                        "token_id": t.id,
                        "resolver": resolver,
                        "user_id": str(i + 1),
                        "realm_id": realm_id,
                    }
                    for i, t in zip(indexes, rows, strict=True)
                ],
            )
            db.session.execute(
                insert(TokenRealm), [{"token_id": t.id, "realm_id": realm_id} for t in rows]
            )
            db.session.execute(
                insert(TokenInfo),
                [
                    {"token_id": t.id, "Key": k, "Value": v, "Type": y}
                    for t in rows
                    for k, v, y in infos
                ],
            )
            db.session.commit()
            db.session.expunge_all()
            made += len(rows)
    return made


def main() -> None:
    config_file, command, argument = sys.argv[1:4]
    app = create_app(config_name="production", config_file=config_file, silent=True)
    with app.app_context():
        if command == "policies":
            tuned_policies(argument == "on")
            return
        resolver_and_realm()
        wipe()
        print(f"privacyIDEA: {tokens(json.loads(argument))} tokens")


if __name__ == "__main__":
    main()

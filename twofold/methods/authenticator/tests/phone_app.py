"""A stand-in for the twofold Authenticator in server tests: a real P-256 key that signs
exactly as the app's WebCrypto does (IEEE P1363 r || s), talking to the real endpoints."""

from __future__ import annotations

import base64
import json
from uuid import uuid4

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from twofold.methods.authenticator import push

PENDING = "/authenticator/api/pending"
DECISIONS = "/authenticator/api/decisions"
ACTIVATE = "/authenticator/api/activate"


def b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


class PhoneApp:
    def __init__(self) -> None:
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.device: int | None = None
        self.secret: bytes = b""

    @property
    def point(self) -> bytes:
        return self.key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )

    @property
    def public_key(self) -> str:
        return b64url(self.point)

    def sign(self, message: bytes) -> str:
        r, s = decode_dss_signature(self.key.sign(message, ec.ECDSA(hashes.SHA256())))
        return b64url(r.to_bytes(32, "big") + s.to_bytes(32, "big"))

    def activate(self, client, code: str, name: str = "Pixel", platform: str = "Android", **extra):
        body = {"code": code, "public_key": self.public_key, "name": name, "platform": platform}
        answer = client.post(ACTIVATE, json.dumps(body), content_type="application/json", **extra)
        if answer.status_code == 200:
            self.device = answer.json()["device"]
            secret = answer.json()["totp"]["secret"]
            self.secret = base64.urlsafe_b64decode(secret + "=" * (-len(secret) % 4))
        return answer

    def poll_headers(self, *, time: int | None = None, nonce: str | None = None) -> dict:
        time = push.now() if time is None else time
        nonce = nonce or uuid4().hex
        message = push.poll_message("GET", PENDING, self.device, time, nonce)
        return {
            "HTTP_X_TWOFOLD_DEVICE": str(self.device),
            "HTTP_X_TWOFOLD_TIME": str(time),
            "HTTP_X_TWOFOLD_NONCE": nonce,
            "HTTP_X_TWOFOLD_SIGNATURE": self.sign(message),
        }

    def poll(self, client, **signing):
        return client.get(PENDING, **self.poll_headers(**signing))

    def decision(
        self, challenge_id, decision: str, number: str = "", *, time: int | None = None
    ) -> dict:
        time = push.now() if time is None else time
        message = push.decision_message(self.device, str(challenge_id), decision, number, time)
        return {
            "device": self.device,
            "challenge": str(challenge_id),
            "decision": decision,
            "number": number,
            "time": time,
            "signature": self.sign(message),
        }

    def send(self, client, body: dict):
        return client.post(DECISIONS, json.dumps(body), content_type="application/json")

    def decide(self, client, challenge_id, decision: str, number: str = "", **signing):
        return self.send(client, self.decision(challenge_id, decision, number, **signing))

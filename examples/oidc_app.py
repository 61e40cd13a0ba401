"""A relying web app that signs people in through twofold (OpenID Connect, code flow + PKCE).

Authlib's OAuth2Session speaks OAuth 2.0; joserfc checks the ID token's signature against
the keys twofold publishes. Served by the standard library: see examples/README.md.
"""

import html
import json
import os
import secrets
from functools import cache
from http.cookies import SimpleCookie
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import requests
from authlib.common.errors import AuthlibBaseError
from authlib.integrations.requests_client import OAuth2Session
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

ISSUER = os.environ.get("TWOFOLD_ISSUER", "http://127.0.0.1:8000")
HERE = os.environ.get("EXAMPLE_APP_URL", "http://127.0.0.1:8001")
MFA = "urn:twofold:mfa"  # the acr value that makes twofold ask for a second factor
# Not "sessionid": cookies ignore ports, and twofold may run on this host too.
COOKIE = "example_app_session"
SESSIONS: dict[str, dict] = {}


def registration() -> tuple[str, str]:
    """The client ID and secret: from the environment, or else what `make run` seeded."""
    if os.environ.get("OIDC_CLIENT_ID"):
        return os.environ["OIDC_CLIENT_ID"], os.environ.get("OIDC_CLIENT_SECRET", "")
    data = Path(os.environ.get("TWOFOLD_DATA_DIR") or Path(__file__).parents[1] / "data")
    application = json.loads((data / "demo-credentials.json").read_text())["application"]
    return application["client_id"], application["client_secret"]


CLIENT_ID, CLIENT_SECRET = registration()


@cache
def provider() -> dict:
    return requests.get(f"{ISSUER}/.well-known/openid-configuration", timeout=10).json()


def oauth(state: str | None = None) -> OAuth2Session:
    return OAuth2Session(
        CLIENT_ID,
        CLIENT_SECRET,
        scope="openid profile email",
        state=state,
        redirect_uri=f"{HERE}/callback",
        code_challenge_method="S256",
    )


def verified_claims(id_token: str, nonce: str) -> dict:
    """The ID token's claims, once its signature, issuer, audience and nonce check out."""
    keys = KeySet.import_key_set(requests.get(provider()["jwks_uri"], timeout=10).json())
    claims = jwt.decode(id_token, keys, algorithms=["RS256"]).claims
    jwt.JWTClaimsRegistry(
        iss={"essential": True, "value": provider()["issuer"]},
        aud={"essential": True, "value": CLIENT_ID},
        nonce={"essential": True, "value": nonce},
    ).validate(claims)
    return claims


class App(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        cookie = SimpleCookie(self.headers.get("Cookie", "")).get(COOKIE)
        self.sid = cookie.value if cookie and cookie.value in SESSIONS else secrets.token_hex(16)
        session = SESSIONS.setdefault(self.sid, {})
        pages = {"/": self.home, "/login": self.login, "/login-mfa": self.login,
                 "/callback": self.callback, "/logout": self.logout}  # fmt: skip
        page = pages.get(urlsplit(self.path).path)
        if page is None:
            return self.send(404, body="<p>Not found. <a href='/'>Home</a></p>")
        return page(session)

    def home(self, session: dict) -> None:
        claims = session.get("claims")
        if claims is None:
            return self.send(200, body="<p data-testid='signed-out'>You are not signed in.</p>"
                             "<a href='/login'>Sign in</a> · <a href='/login-mfa'>Sign in with "
                             "a second factor, always</a>")  # fmt: skip
        shown = html.escape(f"{claims.get('name')} ({claims.get('preferred_username')})")
        how = html.escape(f"amr {' '.join(claims['amr'])}, acr {claims['acr']}")
        body = f"<p data-testid='signed-in'>Signed in as {shown}</p><p data-testid='how'>{how}</p>"
        return self.send(200, body=body + "<a href='/logout'>Sign out</a>")

    def login(self, session: dict) -> None:
        """To twofold, with PKCE and a nonce; /login-mfa demands a second factor."""
        session.update(verifier=secrets.token_urlsafe(48), nonce=secrets.token_urlsafe(16))
        extra = {"acr_values": MFA} if self.path.startswith("/login-mfa") else {}
        url, session["state"] = oauth().create_authorization_url(
            provider()["authorization_endpoint"],
            code_verifier=session["verifier"],
            nonce=session["nonce"],
            **extra,
        )
        return self.send(302, location=url)

    def callback(self, session: dict) -> None:
        try:  # Authlib checks the state and raises twofold's error (access_denied, …)
            token = oauth(session.pop("state", "-")).fetch_token(
                provider()["token_endpoint"],
                authorization_response=HERE + self.path,
                code_verifier=session.pop("verifier", ""),
            )
            claims = verified_claims(token["id_token"], session.pop("nonce", ""))
        except (AuthlibBaseError, JoseError) as error:
            return self.send(400, body=f"<p>Sign-in failed: {html.escape(str(error))}</p>")
        session.update(claims=claims, id_token=token["id_token"])
        return self.send(302, location="/")

    def logout(self, session: dict) -> None:
        """Forget the user here, then end the twofold session too (RP-initiated logout)."""
        SESSIONS.pop(self.sid)
        if "id_token" not in session:
            return self.send(302, location="/")
        query = urlencode({"id_token_hint": session["id_token"], "client_id": CLIENT_ID,
                           "post_logout_redirect_uri": f"{HERE}/"})  # fmt: skip
        return self.send(302, location=f"{provider()['end_session_endpoint']}?{query}")

    def log_request(self, code: object = "-", size: object = "-") -> None:
        """The path without its query: a callback's carries the authorization code."""
        self.log_message("%s %s %s", self.command, urlsplit(self.path).path, code)

    def send(self, status: int, *, location: str = "", body: str = "") -> None:
        self.send_response(status)
        self.send_header("Set-Cookie", f"{COOKIE}={self.sid}; HttpOnly; SameSite=Lax; Path=/")
        if location:
            self.send_header("Location", location)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.end_headers()
        page = f"<!doctype html><title>Example app</title><h1>Example app</h1>{body}"
        self.wfile.write(page.encode())


if __name__ == "__main__":
    where = urlsplit(HERE)
    print(f"Example app on {HERE}, signing in through {ISSUER}")  # noqa: T201
    ThreadingHTTPServer((where.hostname, where.port), App).serve_forever()

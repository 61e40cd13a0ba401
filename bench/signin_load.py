"""Browser sign-ins through twofold's real pages, from a separate process.

    python bench/signin_load.py PORT CONCURRENCY USERS.json

USERS.json is a list of [user name, password, TOTP seed in hex]; the code is computed
(RFC 6238, SHA-1, 30 s, 6 digits) when the code page is posted. Each sign-in is what a browser does:
GET /signin, POST the user name, GET and POST the password page, GET the verification
page (which opens the app-code challenge), POST the code, and must land on /account
(whose page is not fetched: a redirect is never followed, each step asks for its page).
Cookies (session, CSRF) and the CSRF form field are carried like a browser's. Prints one
RESULT line: sign-ins done and accepted, seconds, p50/p95/p99 of a whole sign-in in ms, and
``requests``: every request sent, so that the report can say how many a sign-in takes.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import json
import re
import struct
import sys
import threading
import time
from urllib.parse import urlencode

_CSRF = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


def totp(secret: bytes) -> str:
    mac = hmac.new(secret, struct.pack(">Q", int(time.time()) // 30), hashlib.sha1).digest()
    offset = mac[-1] & 0x0F
    return f"{(int.from_bytes(mac[offset : offset + 4], 'big') & 0x7FFFFFFF) % 1_000_000:06d}"


class Browser:
    def __init__(self, port: int) -> None:
        self.port = port
        self.cookies: dict[str, str] = {}
        self.sent = 0  # requests sent, whatever their answer

    def fetch(self, method: str, path: str, form: dict[str, str] | None = None):
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())}
        body = None
        if form is not None:
            body = urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            headers["Origin"] = f"http://127.0.0.1:{self.port}"
            headers["Referer"] = f"http://127.0.0.1:{self.port}{path}"
        connection.request(method, path, body=body, headers=headers)
        self.sent += 1
        response = connection.getresponse()
        text = response.read().decode()
        for name, value in response.getheaders():
            if name.lower() == "set-cookie":
                pair = value.split(";", 1)[0]
                key, _eq, val = pair.partition("=")
                self.cookies[key.strip()] = val
        connection.close()
        return response.status, response.getheader("Location") or "", text

    def post_form(self, path: str, fields: dict[str, object]) -> tuple[int, str]:
        _status, _location, page = self.fetch("GET", path)
        token = _CSRF.search(page)
        fields = {key: value() if callable(value) else value for key, value in fields.items()}
        form = {"csrfmiddlewaretoken": token.group(1) if token else "", **fields}
        status, location, _text = self.fetch("POST", path, form)
        return status, location


def sign_in(browser: Browser, username: str, password: str, secret: str) -> bool:
    steps = (
        ("/signin", {"username": username}, "/signin/password"),
        ("/signin/password", {"password": password}, "/signin/verify"),
        ("/signin/verify", {"code": lambda: totp(bytes.fromhex(secret))}, "/account"),
    )
    for path, fields, expected in steps:
        status, location = browser.post_form(path, fields)
        if status != 302 or not location.startswith(expected):
            sys.stderr.write(f"{path}: {status} -> {location!r}\n")
            return False
    return True


def main() -> None:
    port, concurrency = int(sys.argv[1]), int(sys.argv[2])
    with open(sys.argv[3]) as handle:
        work = [tuple(item) for item in json.load(handle)]
    times: list[float] = []
    accepted, sent = [0], [0]
    lock = threading.Lock()

    def worker() -> None:
        while True:
            with lock:
                if not work:
                    return
                username, password, secret = work.pop()
            started = time.perf_counter()
            browser = Browser(port)
            ok = sign_in(browser, username, password, secret)
            with lock:
                times.append(time.perf_counter() - started)
                accepted[0] += ok
                sent[0] += browser.sent

    started = time.perf_counter()
    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - started
    times.sort()

    def pct(p: float) -> float:
        return 1000 * times[min(len(times) - 1, int(p / 100 * len(times)))]

    print(
        f"RESULT answered={len(times)} accepted={accepted[0]} seconds={seconds:.3f} "
        f"p50={pct(50):.2f} p95={pct(95):.2f} p99={pct(99):.2f} socket_errors=0 status_errors=0 "
        f"requests={sent[0]}"
    )


if __name__ == "__main__":
    main()

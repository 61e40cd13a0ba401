"""The API's edge, against a real gunicorn started by `twofold demo` on a free loopback
port: chunked bodies are read (and an over-size one refused with 413), and what gunicorn
answers itself (a bad Content-Length, an over-long request line or headers) has the same
JSON error shape as every other answer. Malformed requests go through raw sockets."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

pytestmark = pytest.mark.own_servers  # the suite's database plays no part: once

ROOT = Path(__file__).resolve().parents[3]
CHECK = "/api/v1/validate/check"


@dataclass
class Server:
    port: int
    token: str
    password: str  # bob's: two-step verification off, so password alone is accepted


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> dict:
        assert self.headers["content-type"].startswith("application/json")
        return json.loads(self.body)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait_until_listening(port: int, process: subprocess.Popen, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert process.poll() is None, f"twofold demo exited with {process.returncode}"
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.3)
    raise AssertionError(f"nothing listened on port {port} within {seconds} s")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    data, port = tmp_path_factory.mktemp("edge"), _free_port()
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}}
    env = {k: v for k, v in env.items() if not k.startswith(("TWOFOLD_", "DJANGO_"))}
    env.update(TWOFOLD_DATA_DIR=str(data), PYTHONPATH=str(ROOT))
    command = [sys.executable, "-m", "twofold.cli", "demo", "--port", str(port), "--workers", "1"]
    log = (data / "serve.log").open("w")
    process = subprocess.Popen(command, env=env, cwd=ROOT, stdout=log, stderr=log)
    try:
        _wait_until_listening(port, process)
        saved = json.loads((data / "demo-credentials.json").read_text())
        yield Server(port, saved["api_client"]["token"], saved["users"]["bob@contoso.example"])
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()


def exchange(server: Server, head: bytes, body: bytes | list[bytes] = b"") -> Answer:
    """Send a raw request (the body in a thread, so a refusal can be read while it is
    still being sent) and read one answer."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=60) as connection:
        connection.sendall(head)
        parts = [body] if isinstance(body, bytes) else body
        sender = threading.Thread(target=_send, args=(connection, parts), daemon=True)
        sender.start()
        answer = _read_answer(connection.makefile("rb"))
        sender.join(timeout=60)
        return answer


def _send(connection: socket.socket, parts: list[bytes]) -> None:
    try:
        for part in parts:
            connection.sendall(part)
    except OSError:
        pass  # the server answered and closed before taking the whole body: that is allowed


def _read_answer(stream) -> Answer:
    status = int(stream.readline().split()[1])
    headers = {}
    while (line := stream.readline().strip()) != b"":
        name, _, value = line.decode("latin-1").partition(":")
        headers[name.strip().lower()] = value.strip()
    return Answer(status, headers, stream.read(int(headers.get("content-length", 0))))


def head(server: Server, *lines: str, method: str = "POST", path: str = CHECK) -> bytes:
    start = [f"{method} {path} HTTP/1.1", f"Host: 127.0.0.1:{server.port}"]
    start += [f"Authorization: Bearer {server.token}", "Content-Type: application/json"]
    return ("\r\n".join([*start, *lines]) + "\r\n\r\n").encode("latin-1")


def chunks(data: bytes, size: int = 4096) -> list[bytes]:
    framed = [b"%x\r\n%s\r\n" % (len(data[at : at + size]), data[at : at + size])
              for at in range(0, len(data), size)]  # fmt: skip
    return [*framed, b"0\r\n\r\n"]


def assert_the_error_shape(answer: Answer, code: str) -> None:
    found = answer.json()
    assert found["error"] == code
    assert set(found) == {"error", "message", "correlation_id"}
    assert found["message"]
    assert found["correlation_id"] == answer.headers["x-correlation-id"]


def test_a_valid_chunked_call_is_read_and_answered(server) -> None:
    call = json.dumps({"user": "bob@contoso.example", "password": server.password}).encode()
    answer = exchange(server, head(server, "Transfer-Encoding: chunked"), chunks(call, 16))
    assert (answer.status, answer.json()["result"]) == (200, "accept")


def test_a_10_mb_chunked_body_is_refused_with_413_in_json(server) -> None:
    big = b'{"user": "' + b"a" * (10 * 1024 * 1024) + b'"}'
    answer = exchange(server, head(server, "Transfer-Encoding: chunked"), chunks(big, 65536))
    assert answer.status == 413
    assert_the_error_shape(answer, "too_large")


def test_a_content_length_that_is_not_a_number_is_400_in_json(server) -> None:
    answer = exchange(server, head(server, "Content-Length: abc"), b"{}")
    assert answer.status == 400
    assert_the_error_shape(answer, "invalid_request")


def test_an_over_long_request_line_is_414_in_json(server) -> None:
    answer = exchange(server, head(server, method="GET", path=f"{CHECK}?{'a' * 8000}"))
    assert answer.status == 414
    assert_the_error_shape(answer, "request_line_too_long")


def test_an_over_long_header_is_431_in_json(server) -> None:
    answer = exchange(server, head(server, f"X-Padding: {'a' * 9000}"))
    assert answer.status == 431
    assert_the_error_shape(answer, "headers_too_large")


def test_too_many_headers_are_431_in_json(server) -> None:
    answer = exchange(server, head(server, *[f"X-Padding-{n}: a" for n in range(120)]))
    assert answer.status == 431
    assert_the_error_shape(answer, "headers_too_large")


def test_an_unknown_transfer_coding_is_501_in_json(server) -> None:
    answer = exchange(server, head(server, "Transfer-Encoding: rot13"), b"{}")
    assert answer.status == 501
    assert_the_error_shape(answer, "not_implemented")


def test_a_malformed_chunk_is_400_in_json(server) -> None:
    answer = exchange(server, head(server, "Transfer-Encoding: chunked"), b"zz\r\n{}\r\n0\r\n\r\n")
    assert answer.status == 400
    assert_the_error_shape(answer, "invalid_request")

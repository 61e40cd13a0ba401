"""Sending audit events to a SIEM: syslog (RFC 5424 over UDP, TCP or TCP with TLS) and a
webhook (JSON signed with HMAC-SHA256). Each message carries the event's ID, so that a
receiver can drop the duplicates an at-least-once sender may produce."""

from __future__ import annotations

import http.client
import ipaddress
import json
import socket
import ssl
from collections.abc import Sequence
from typing import Any
from urllib.parse import SplitResult, urlsplit

from twofold.core import crypto

TIMEOUT_SECONDS = 10
# Private enterprise number 32473 is the one RFC 5612 reserves for documentation and
# examples: the structured data's name is twofold's own, not a registered one.
SD_ID = "twofold@32473"
_AUTHPRIV = 10
_SEVERITY = {"success": 6, "failure": 5, "denied": 5}  # informational, notice
SYSLOG_SCHEMES = ("udp", "tcp", "tcp+tls")
WEBHOOK_SCHEMES = ("http", "https")


class DeliveryError(Exception):
    """The receiver did not take the events; the sender tries again later."""


def _sd_value(value: object) -> str:
    # RFC 5424 6.3.3: '"', '\' and ']' are escaped inside a PARAM-VALUE.
    text = str(value)
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("]", "\\]")


def syslog_message(event: dict[str, Any], hostname: str) -> bytes:
    """One RFC 5424 message: MSGID is the action, the structured data names the event's ID."""
    pri = _AUTHPRIV * 8 + _SEVERITY.get(event["result"], 5)
    sd = (
        f'[{SD_ID} id="{event["id"]}" result="{_sd_value(event["result"])}" '
        f'correlation="{_sd_value(event["correlation_id"])}"]'
    )
    msgid = "".join(c for c in event["action"] if 33 <= ord(c) <= 126)[:32] or "-"
    body = json.dumps(event, ensure_ascii=False, separators=(",", ":"))
    header = f"<{pri}>1 {event['at']} {hostname[:255] or '-'} twofold - {msgid} {sd} "
    return header.encode() + b"\xef\xbb\xbf" + body.encode()


def _address(url: str, schemes: Sequence[str]) -> tuple[str, str, int]:
    try:
        parts = urlsplit(url)
        port = parts.port  # a port that is not a number, or out of range: ValueError
    except ValueError:
        port = None
    if port is None or parts.scheme not in schemes or not parts.hostname:
        raise DeliveryError(f"not a {' or '.join(schemes)} address with host and port")
    return parts.scheme, parts.hostname, port


class NotPublic(DeliveryError):
    """The host is (or resolves to) a loopback, private or reserved address."""


def resolve(host: str, port: int, *, public_only: bool = False) -> list[str]:
    """The addresses ``host`` resolves to, in the resolver's order: the ones the sender then
    connects to, and only those (pinned, docs/security.md 22).

    ``public_only`` (an organisation's destination): every address must be a public one,
    so that an organisation's administrator cannot make twofold connect to its own
    loopback, private or link-local network (server-side request forgery); a name that
    does not resolve is refused too. Pinning closes DNS rebinding: a name that answers a
    public address to the check and a private one a moment later is connected to at the
    public one it was checked at."""
    try:
        found = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError) as error:
        if public_only:
            raise NotPublic(f"{host} does not resolve") from error
        raise DeliveryError(f"{host} does not resolve") from error
    addresses = list(dict.fromkeys(str(entry[4][0]) for entry in found))
    if public_only and not (addresses and all(_is_public(address) for address in addresses)):
        raise NotPublic("not a public address")
    return addresses


def _is_public(address: str) -> bool:
    return ipaddress.ip_address(address.split("%", 1)[0]).is_global


def _connect(addresses: Sequence[str], port: int, timeout: float, *_: object) -> socket.socket:
    """A TCP connection to the first of ``addresses`` that answers, never to a name."""
    error: OSError = OSError("no address to connect to")
    for address in addresses:
        try:
            return socket.create_connection((address, port), timeout=timeout)
        except OSError as refused:
            error = refused
    raise error


def tls_context(ca_file: str = "", ca_pem: str = "") -> ssl.SSLContext:
    """Certificates checked against the system's CAs, or only against the CA bundle given
    (a file the operator named, or the PEM an organisation's administrator pasted); the
    host name is checked either way."""
    if ca_pem:
        return ssl.create_default_context(cadata=ca_pem)
    return ssl.create_default_context(cafile=ca_file or None)


def check_syslog_url(url: str, *, public_only: bool = False, schemes: Sequence[str] = ()) -> None:
    """Refuse an address the syslog sender could not use (``DeliveryError``), or one that is
    not public when ``public_only`` (``NotPublic``)."""
    _, host, port = _address(url, schemes or SYSLOG_SCHEMES)
    if public_only:
        resolve(host, port, public_only=True)


def send_syslog(
    url: str,
    messages: Sequence[bytes],
    *,
    ca_file: str = "",
    ca_pem: str = "",
    public_only: bool = False,
) -> None:
    """Send messages over UDP (one datagram each, unacknowledged), TCP or TCP with TLS
    (octet-counted framing, RFC 6587) to the address the host name was checked at; a
    connection refused or broken is a DeliveryError."""
    scheme, host, port = _address(url, SYSLOG_SCHEMES)
    addresses = resolve(host, port, public_only=public_only)
    try:
        if scheme == "udp":
            with socket.socket(_family(addresses[0]), socket.SOCK_DGRAM) as sock:
                for message in messages:
                    sock.sendto(message, (addresses[0], port))
            return
        framed = b"".join(b"%d %s" % (len(message), message) for message in messages)
        with _connect(addresses, port, TIMEOUT_SECONDS) as raw:
            if scheme == "tcp":
                raw.sendall(framed)
                return
            context = tls_context(ca_file, ca_pem)
            # Closed without waiting for the server's close_notify (rsyslog sends none):
            # once sendall returned, the batch is the server's.
            with context.wrap_socket(raw, server_hostname=host) as stream:
                stream.sendall(framed)
    except (OSError, ssl.SSLError, ValueError) as error:
        raise DeliveryError(f"syslog {scheme}://{host}:{port}: {_short(error)}") from error


def _short(error: BaseException) -> str:
    """An error said in one line and a bounded length: what the state pages show."""
    return " ".join(str(error).split())[:150] or type(error).__name__


def _family(address: str) -> socket.AddressFamily:
    return socket.AF_INET6 if ":" in address else socket.AF_INET


def check_webhook_url(url: str, *, public_only: bool = False) -> None:
    """Refuse an address the webhook sender could not use (``DeliveryError``), or one that
    is not public when ``public_only`` (``NotPublic``, see ``resolve``)."""
    try:
        parts = urlsplit(url)
        port = _port(parts)  # a port that is not a number, or out of range: ValueError
    except ValueError:
        raise DeliveryError("not an http or https address") from None
    if parts.scheme not in WEBHOOK_SCHEMES or not parts.hostname:
        raise DeliveryError("not an http or https address")
    if public_only:
        resolve(parts.hostname, port, public_only=True)


def _port(parts: SplitResult) -> int:
    return parts.port or (443 if parts.scheme == "https" else 80)


def send_webhook(
    url: str, secret: str, event: dict[str, Any], *, public_only: bool = False, ca_pem: str = ""
) -> None:
    """POST one event as JSON, signed over the raw body: ``X-Twofold-Signature:
    sha256=<hex>``. Anything but a 2xx answer is a DeliveryError (a redirect too: nobody
    received the event). The host name is resolved and checked once, and the connection
    made to the address checked (``resolve``), while TLS still checks the certificate
    against the host name."""
    check_webhook_url(url, public_only=False)
    parts = urlsplit(url)
    host, port = parts.hostname or "", _port(parts)
    addresses = resolve(host, port, public_only=public_only)
    body = json.dumps(event, ensure_ascii=False, separators=(",", ":")).encode()
    headers = {
        "Content-Type": "application/json",
        "X-Twofold-Event-Id": str(event["id"]),
        "X-Twofold-Signature": f"sha256={crypto.signature(secret, body)}",
    }
    if parts.scheme == "https":
        connection: http.client.HTTPConnection = http.client.HTTPSConnection(
            host, port, timeout=TIMEOUT_SECONDS, context=tls_context(ca_pem=ca_pem)
        )
    else:
        connection = http.client.HTTPConnection(host, port, timeout=TIMEOUT_SECONDS)
    # http.client's own hook for making the socket: to the checked address, not the name
    # (the Host header and TLS's server name and certificate check still use the name).
    connection._create_connection = lambda _address, timeout, *rest: _connect(
        addresses, port, timeout
    )
    path = parts.path or "/"
    try:
        connection.request("POST", f"{path}?{parts.query}" if parts.query else path, body, headers)
        status = connection.getresponse().status
    except (OSError, http.client.HTTPException, ValueError) as error:
        raise DeliveryError(f"webhook {parts.scheme}://{host}:{port}: {_short(error)}") from error
    finally:
        connection.close()
    if not 200 <= status < 300:
        raise DeliveryError(f"webhook answered {status}")

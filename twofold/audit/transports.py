"""Sending audit events to a SIEM: syslog (RFC 5424 over UDP, TCP or TCP with TLS) and a
webhook (JSON signed with HMAC-SHA256). Each message carries the event's ID, so that a
receiver can drop the duplicates an at-least-once sender may produce."""

from __future__ import annotations

import ipaddress
import json
import socket
import ssl
import urllib.error
import urllib.request
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

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
    parts = urlsplit(url)
    if parts.scheme not in schemes or not parts.hostname or not parts.port:
        raise DeliveryError(f"not a {' or '.join(schemes)} address with host and port")
    return parts.scheme, parts.hostname, parts.port


def check_syslog_url(url: str) -> None:
    """Refuse an address the syslog sender could not use (``DeliveryError``)."""
    _address(url, SYSLOG_SCHEMES)


def send_syslog(url: str, ca_file: str, messages: Sequence[bytes]) -> None:
    """Send messages over UDP (one datagram each, unacknowledged), TCP or TCP with TLS
    (octet-counted framing, RFC 6587); a connection refused or broken is a DeliveryError."""
    scheme, host, port = _address(url, SYSLOG_SCHEMES)
    try:
        if scheme == "udp":
            with socket.socket(_family(host), socket.SOCK_DGRAM) as sock:
                for message in messages:
                    sock.sendto(message, (host, port))
            return
        framed = b"".join(b"%d %s" % (len(message), message) for message in messages)
        with socket.create_connection((host, port), timeout=TIMEOUT_SECONDS) as raw:
            if scheme == "tcp":
                raw.sendall(framed)
                return
            context = ssl.create_default_context(cafile=ca_file or None)
            # Closed without waiting for the server's close_notify (rsyslog sends none):
            # once sendall returned, the batch is the server's.
            with context.wrap_socket(raw, server_hostname=host) as stream:
                stream.sendall(framed)
    except (OSError, ssl.SSLError) as error:
        raise DeliveryError(f"syslog {scheme}://{host}:{port}: {error}") from error


def _family(host: str) -> socket.AddressFamily:
    return socket.AF_INET6 if ":" in host else socket.AF_INET


def check_webhook_url(url: str, *, public_only: bool = False) -> None:
    """Refuse an address the webhook sender could not use (``DeliveryError``).

    ``public_only`` (an organisation's webhook): every address the host name resolves to
    must be a public one, so that an organisation's administrator cannot make twofold send
    requests to its own loopback, private or link-local network (server-side request
    forgery). A name that does not resolve is refused too."""
    parts = urlsplit(url)
    if parts.scheme not in WEBHOOK_SCHEMES or not parts.hostname:
        raise DeliveryError("not an http or https address")
    if public_only and not _resolves_to_public_addresses(parts.hostname, parts.port):
        raise NotPublic("not a public address")


class NotPublic(DeliveryError):
    """The webhook's host is (or resolves to) a loopback, private or reserved address."""


def _resolves_to_public_addresses(host: str, port: int | None) -> bool:
    try:
        found = socket.getaddrinfo(host, port or 443, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError):
        return False
    addresses = {ipaddress.ip_address(entry[4][0].split("%", 1)[0]) for entry in found}
    return bool(addresses) and all(address.is_global for address in addresses)


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    # A redirect is an answer but 2xx: urllib would follow a 302 with a GET and no body,
    # and the event would count as delivered without anyone receiving it.
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


_OPENER = urllib.request.build_opener(_NoRedirects)


def send_webhook(
    url: str, secret: str, event: dict[str, Any], *, public_only: bool = False
) -> None:
    """POST one event as JSON, signed over the raw body: ``X-Twofold-Signature:
    sha256=<hex>``. Anything but a 2xx answer is a DeliveryError. ``public_only``: as in
    ``check_webhook_url``, checked again at each send (a name may resolve elsewhere now)."""
    check_webhook_url(url, public_only=public_only)
    body = json.dumps(event, ensure_ascii=False, separators=(",", ":")).encode()
    request = urllib.request.Request(  # noqa: S310 (the scheme is checked above)
        url,
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json",
            "X-Twofold-Event-Id": str(event["id"]),
            "X-Twofold-Signature": f"sha256={crypto.signature(secret, body)}",
        },
    )
    try:
        with _OPENER.open(request, timeout=TIMEOUT_SECONDS) as response:
            status = response.status
    except urllib.error.HTTPError as error:
        raise DeliveryError(f"webhook answered {error.code}") from error
    except (OSError, ValueError) as error:
        raise DeliveryError(f"webhook: {error}") from error
    if not 200 <= status < 300:
        raise DeliveryError(f"webhook answered {status}")

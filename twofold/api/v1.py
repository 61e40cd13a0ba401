"""The REST API, version 1: its routers, its security scheme and its error handling."""

from __future__ import annotations

from ninja import NinjaAPI

from twofold.api import admin, errors, radius_clients, users, validate

DESCRIPTION = """\
Check passwords and second factors for your applications, and manage your organisation's
users. Every call sends an API client's token, made by an administrator in the admin
portal under *API clients*: `Authorization: Bearer tf_…`. Each operation needs one scope
(`x-scope`): validate, users:read, users:write or admin.

Every failure has one shape: `{"error": code, "message": text, "correlation_id": id}`,
with 400 bad input (a field missing, of the wrong type or with a value refused; a NUL
character anywhere in the path, the query or the body), 401 no valid token, 403 scope
missing, 404 not found (another organisation's users are not found either), 409 the user
exists already, 413 body over 64 KB, 422 a body that is not a JSON object (`[]`, `1`,
`null`), 429 too many attempts or a locked second factor (with Retry-After), 503 texts or
calls cannot be sent now. Messages follow Accept-Language, else the organisation's
language; the codes never change.

/validate answers a decision with 200: `result` accept, reject or challenge, a `reason`
code (listed with their meanings under Reason; compare the code, never the message) and
its `message`. A challenge that waits for the user (a push, a call) is polled with GET
/validate/challenges/{challenge_id}, or by sending check the user and the challenge_id
without a code: while it waits, the answer is the challenge result it started with.

A 503 `temporarily_unavailable` (with Retry-After) means twofold's database or cache does
not answer; try again later.

Bodies may also be sent with `Transfer-Encoding: chunked` (the 64 KB limit holds for them
too). What the web server refuses before twofold reads the request has the same shape
when served by `twofold serve`: 400 `invalid_request` for a request that is not valid
HTTP (a Content-Length that is not a number, a malformed chunk), 414
`request_line_too_long` for a request line over 4,094 bytes, 431 `headers_too_large` for
a header over 8,190 bytes or more than 100 headers, 501 `not_implemented` for a transfer
coding other than chunked. A proxy in front of twofold answers its own limits its own way.
"""

api = NinjaAPI(
    title="twofold REST API",
    version="1",
    description=DESCRIPTION,
    urls_namespace="api-v1",
    openapi_url="/openapi.json",
    docs_url=None,  # django-ninja's page loads Swagger UI from a CDN: ours is in docs.py
)
errors.install(api)
api.add_router("/validate", validate.router)
api.add_router("/users", users.router)
api.add_router("/users", admin.router)
api.add_router("/radius-clients", radius_clients.router)

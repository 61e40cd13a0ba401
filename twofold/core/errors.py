"""The typed errors services raise, turned into form errors or error responses in one place each.

TwofoldError
├── InvalidInput            the request is wrong (a form or JSON error, 400)
│   └── AlreadyExists       what it would create exists already (409)
├── NotAllowed              the actor may not do this (403)
├── NotFound                no such object for this actor (404)
├── RateLimited             too many attempts; try again later (429)
└── DependencyUnavailable   the database or the cache does not answer; try again soon (503)
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _


class TwofoldError(Exception):
    status = 400
    code = "error"
    default_message = _("Something went wrong.")

    def __init__(self, message: str | None = None) -> None:
        self.message = message or str(self.default_message)
        super().__init__(self.message)


class InvalidInput(TwofoldError):
    code = "invalid_input"
    default_message = _("The request is not valid.")

    def __init__(self, message: str | None = None, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field  # the form field or JSON key the message belongs next to


class AlreadyExists(InvalidInput):
    """Bad input for a form (an InvalidInput), a conflict for the API."""

    status = 409
    code = "already_exists"
    default_message = _("This exists already.")


class NotAllowed(TwofoldError):
    status = 403
    code = "not_allowed"
    default_message = _("You are not allowed to do this.")


class NotFound(TwofoldError):
    status = 404
    code = "not_found"
    default_message = _("Not found.")


class RateLimited(TwofoldError):
    status = 429
    code = "rate_limited"
    default_message = _("Wait a few minutes, then try again.")

    def __init__(self, message: str | None = None, retry_after: int = 60) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class DependencyUnavailable(TwofoldError):
    """A dependency (the database, the cache) does not answer: nothing was done or skipped.

    Raised from, or standing for, the client libraries' connection and timeout errors
    (``twofold.core.dependencies``); answered with 503 and Retry-After (docs/security.md 35).
    """

    status = 503
    code = "temporarily_unavailable"
    default_message = _(
        "twofold is temporarily unavailable. Nothing was changed. Try again in a minute."
    )

    def __init__(
        self, message: str | None = None, *, dependency: str, retry_after: int = 30
    ) -> None:
        super().__init__(message)
        self.dependency = dependency  # "database", "cache", "directory", "encryption_keys"
        self.retry_after = retry_after

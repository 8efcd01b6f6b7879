"""The one error type services raise; the API turns it into a 4xx JSON answer.

This module sits below the apps (every app's services raise these), so it imports nothing:
tests/test_import_boundaries.py fails if it, or any project module the apps import, reaches an app.
"""


class DomainError(Exception):
    """A request that breaks a business rule. `status` is the HTTP status the API answers with."""

    def __init__(self, message: str, *, code: str = "invalid", status: int = 400, fields: dict | None = None):
        super().__init__(message)
        self.message = message
        self.code = code
        self.status = status
        self.fields = fields or {}


class NotFound(DomainError):
    def __init__(self, message: str = "Not found.", *, code: str = "not_found"):
        super().__init__(message, code=code, status=404)


class Conflict(DomainError):
    def __init__(self, message: str, *, code: str = "conflict", fields: dict | None = None):
        super().__init__(message, code=code, status=409, fields=fields)


class TooManyAttempts(DomainError):
    """Too many tries in a period: a 429, and the API adds a Retry-After header with `retry_after_s`."""

    def __init__(self, message: str, *, retry_after_s: int, code: str = "throttled"):
        super().__init__(message, code=code, status=429)
        self.retry_after_s = max(1, int(retry_after_s))

"""Domain errors: one base with an HTTP status and a slug, mapped to the error envelope once,
in the gateway."""

from typing import Any


class DomainError(Exception):
    """Base of every error a caller may see; `status` and `code` become the HTTP envelope."""

    status: int = 400
    code: str = "bad_request"

    def __init__(self, message: str, details: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details

    def __reduce__(self) -> tuple[Any, ...]:
        # Ray pickles errors across processes; keep message and details intact.
        return (type(self), (self.message, self.details))


class BadRequest(DomainError):
    status, code = 400, "bad_request"


class Unauthorized(DomainError):
    status, code = 401, "unauthorized"


class Forbidden(DomainError):
    status, code = 403, "forbidden"


class NotFound(DomainError):
    status, code = 404, "not_found"


class Conflict(DomainError):
    status, code = 409, "conflict"


class PayloadTooLarge(DomainError):
    status, code = 413, "payload_too_large"


class ValidationFailed(DomainError):
    status, code = 422, "validation_error"


class RateLimited(DomainError):
    status, code = 429, "rate_limited"

    def __init__(self, message: str, retry_after: int, details: Any = None) -> None:
        super().__init__(message, details)
        self.retry_after = retry_after

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.message, self.retry_after, self.details))


class DependencyDown(DomainError):
    status, code = 503, "dependency_unavailable"

    retry_after: int = 5

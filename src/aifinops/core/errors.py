"""The aifinops error tree.

    AifinopsError                 base; every error has a ``code`` and an HTTP ``status``
    ├── ConfigError               aifinops.yaml is invalid (400)
    ├── InputError                bad input from outside: a file, a body, a header (400)
    │   └── RowError              one bad row of an import, with its line number
    ├── NotFound                  an unknown model, record, resource (404)
    ├── Conflict                  the request conflicts with state, e.g. the ledger is held by a server (409)
    ├── Unauthorized / Forbidden  API access control (401 / 403)
    └── StorageError              the ledger failed (500)

Connector errors are also marked ``Transient`` (can be retried) or ``Terminal``.
"""

from __future__ import annotations

__all__ = [
    "AifinopsError",
    "ConfigError",
    "InputError",
    "RowError",
    "NotFound",
    "Conflict",
    "Unauthorized",
    "Forbidden",
    "StorageError",
    "Transient",
    "Terminal",
]


class AifinopsError(Exception):
    """Base of all aifinops errors."""

    code = "error"
    status = 500

    def __init__(self, message: str, *, details: list[object] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or []

    def to_dict(self) -> dict[str, object]:
        """The one API error shape."""
        return {"error": {"code": self.code, "message": self.message, "details": self.details}}


class Transient:
    """Marks an error that can be retried."""


class Terminal:
    """Marks an error that retrying will not fix."""


class ConfigError(AifinopsError, Terminal):
    """The configuration is invalid."""

    code = "invalid_config"
    status = 400


class InputError(AifinopsError, Terminal):
    """Input from outside is malformed."""

    code = "invalid_input"
    status = 400


class RowError(InputError):
    """One row of an imported file is bad; the rest of the file still imports."""

    code = "invalid_row"

    def __init__(self, line: int, reason: str) -> None:
        super().__init__(f"line {line}: {reason}")
        self.line = line
        self.reason = reason


class NotFound(AifinopsError):
    """Something named does not exist."""

    code = "not_found"
    status = 404


class Conflict(AifinopsError):
    """The request conflicts with the current state."""

    code = "conflict"
    status = 409


class Unauthorized(AifinopsError):
    """No valid API key."""

    code = "unauthorized"
    status = 401


class Forbidden(AifinopsError):
    """The key's role does not allow this."""

    code = "forbidden"
    status = 403


class StorageError(AifinopsError, Transient):
    """The ledger failed."""

    code = "storage_error"
    status = 500

"""Errors in the client's own protocol: OpenAI's and Anthropic's error shapes."""

from __future__ import annotations

import orjson

__all__ = ["error_response"]

_OPENAI_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    413: "invalid_request_error",
    429: "rate_limit_error",
    502: "api_error",
    503: "api_error",
    504: "timeout_error",
}
_ANTHROPIC_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    502: "api_error",
    503: "overloaded_error",
    504: "api_error",
}


def error_response(
    protocol: str, status: int, message: str, *, code: str | None = None, param: str | None = None
) -> tuple[int, bytes]:
    """``(status, body)`` for an error raised by the gateway itself."""
    if protocol == "anthropic":
        kind = _ANTHROPIC_TYPES.get(status, "api_error")
        return status, orjson.dumps({"type": "error", "error": {"type": kind, "message": message}})
    kind = _OPENAI_TYPES.get(status, "api_error")
    return status, orjson.dumps({"error": {"message": message, "type": kind, "param": param, "code": code}})

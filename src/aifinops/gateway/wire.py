"""Wire helpers of the gateway: usage from a response body, upstream errors and headers, the models list."""

from __future__ import annotations

from typing import Any

import orjson

from aifinops.core import normalize
from aifinops.core.usage import TokenUsage

__all__ = ["usage_of", "error_text", "down_headers", "models_listing"]

_DOWN_PREFIXES = (b"x-request-id", b"request-id", b"openai-", b"anthropic-", b"retry-after", b"x-ratelimit-")


def usage_of(route: str, body: dict[str, Any]) -> TokenUsage:
    usage = body.get("usage")
    if route == "messages":
        return normalize.from_anthropic(usage)
    if route == "responses":
        return normalize.from_openai_responses(usage)
    return normalize.from_openai_chat(usage)


def error_text(data: bytes) -> str:
    try:
        body = orjson.loads(data)
        err = body.get("error") if isinstance(body, dict) else None
        if isinstance(err, dict) and err.get("message"):
            return str(err["message"])[:500]
    except orjson.JSONDecodeError:
        pass
    return data[:500].decode("utf-8", "replace")


def down_headers(headers: Any) -> list[tuple[bytes, bytes]]:
    """Upstream response headers worth passing to the client."""
    out = []
    for name, value in headers.items():
        low = name.lower().encode()
        if low.startswith(_DOWN_PREFIXES) or low == b"content-type":
            out.append((low, value.encode("latin-1")))
    return out


def models_listing(path: str, headers: dict[str, str], names: list[str]) -> tuple[str, int, Any]:
    """``(protocol, status, body)`` for ``GET /v1/models[/ID]`` in the caller's protocol (Anthropic when it
    sends ``anthropic-version``); on 404 the body is the message."""
    anthropic = "anthropic-version" in headers
    protocol = "anthropic" if anthropic else "openai"
    if path != "/v1/models":
        wanted = path[len("/v1/models/") :]
        if wanted not in names:
            return protocol, 404, f"model {wanted!r} not found"
        names = [wanted]
    if anthropic:
        data = [
            {"type": "model", "id": n, "display_name": n, "created_at": "2024-01-01T00:00:00Z"} for n in names
        ]
        body: Any = (
            data[0]
            if path != "/v1/models"
            else {
                "data": data,
                "has_more": False,
                "first_id": names[0] if names else None,
                "last_id": names[-1] if names else None,
            }
        )
    else:
        data = [{"id": n, "object": "model", "created": 0, "owned_by": "aifinops"} for n in names]
        body = data[0] if path != "/v1/models" else {"object": "list", "data": data}
    return protocol, 200, orjson.dumps(body)

"""A tiny client for applications: record business outcomes (the value ledger) on a running aifinops.

    import aifinops
    aifinops.record_outcome("ticket_resolved", value="9.50", feature="support-agent", customer="globex")

The server is ``url`` or ``$AIFINOPS_URL`` (default ``http://127.0.0.1:8787``); an API key comes from
``api_key`` or ``$AIFINOPS_API_KEY``. In-process code can call :meth:`aifinops.App.record_outcomes` instead.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import httpx

from aifinops.core.errors import AifinopsError, InputError
from aifinops.core.records import OUTCOME_DIMENSIONS

__all__ = ["record_outcome", "DEFAULT_URL"]

DEFAULT_URL = "http://127.0.0.1:8787"
_KEYS = OUTCOME_DIMENSIONS


def record_outcome(
    outcome_type: str,
    *,
    value: Decimal | str | int | None = None,
    count: int = 1,
    occurred_at: datetime | None = None,
    outcome_id: str | None = None,
    currency: str = "USD",
    tags: dict[str, str] | None = None,
    url: str | None = None,
    api_key: str | None = None,
    timeout: float = 10.0,
    transport: httpx.BaseTransport | None = None,
    **attribution: str,
) -> dict[str, Any]:
    """Send one outcome to ``POST /api/v1/outcomes``; returns ``{"inserted", "duplicates"}``.

    ``attribution`` takes the keys costs use: team, project, product, feature, customer, environment,
    use_case, initiative. Give ``outcome_id`` to make retries safe (a known id is not stored twice).
    """
    unknown = sorted(set(attribution) - set(_KEYS))
    if unknown:
        raise InputError(f"unknown attribution key(s): {', '.join(unknown)}; use {', '.join(_KEYS)}")
    when = occurred_at or datetime.now(UTC)
    body: dict[str, Any] = {
        "outcome_type": outcome_type,
        "count": count,
        "occurred_at": when.isoformat(),
        "currency": currency,
        **attribution,
    }
    if value is not None:
        body["value"] = str(value)
    if outcome_id is not None:
        body["outcome_id"] = outcome_id
    if tags:
        body["tags"] = tags
    key = api_key or os.environ.get("AIFINOPS_API_KEY")
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    base = (url or os.environ.get("AIFINOPS_URL") or DEFAULT_URL).rstrip("/")
    try:
        with httpx.Client(timeout=timeout, transport=transport) as client:
            response = client.post(f"{base}/api/v1/outcomes", json=body, headers=headers)
    except httpx.HTTPError as exc:
        raise AifinopsError(f"aifinops at {base} did not answer: {exc}") from None
    if response.status_code >= 400:
        try:
            err = response.json()["error"]
            exc = AifinopsError(err["message"], details=err.get("details"))
        except (ValueError, KeyError, TypeError):
            exc = AifinopsError(f"aifinops answered {response.status_code}: {response.text[:200]}")
        exc.status = response.status_code
        raise exc
    return response.json()

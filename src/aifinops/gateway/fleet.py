"""Fleet mode: gateway processes without a ledger of their own.

Each ships its write-ahead log to the server that owns the ledger (``POST /api/v1/records``, idempotent by
record id, so a retry after a crash stores nothing twice) and reads budget spend-to-date from it. Budgets,
buckets and caps are shared through Redis (``redis_url``).
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from decimal import Decimal
from typing import Any

import httpx

from aifinops.budgets.policy import CompiledBudget
from aifinops.core.errors import StorageError
from aifinops.core.records import UsageRecord
from aifinops.core.serde import dumps
from aifinops.core.settings import resolve_secret
from aifinops.gateway.spend import budget_filters

__all__ = ["HttpRecordSink", "http_spent_loader"]


def _headers(token: str | None) -> dict[str, str]:
    secret = resolve_secret(token) if token else None
    return {"x-aifinops-fleet-token": secret} if secret else {}


class HttpRecordSink:
    """A WAL shipper sink that posts batches to the ledger server; a failure raises, so the WAL keeps them."""

    def __init__(self, ledger_url: str, token: str | None = None, timeout: float = 30.0) -> None:
        self.client = httpx.Client(base_url=ledger_url.rstrip("/"), headers=_headers(token), timeout=timeout)

    def __call__(self, records: list[UsageRecord]) -> None:
        try:
            response = self.client.post(
                "/api/v1/records", content=dumps(records), headers={"content-type": "application/json"}
            )
        except httpx.HTTPError as exc:
            raise StorageError(f"the ledger server did not take the records: {exc}") from None
        if response.status_code != 200:
            raise StorageError(
                f"the ledger server refused the records: {response.status_code} {response.text[:200]}"
            )


def http_spent_loader(ledger_url: str, token: str | None = None) -> Any:
    """Budget spend-to-date from the ledger server's cost API."""
    client = httpx.Client(base_url=ledger_url.rstrip("/"), headers=_headers(token), timeout=30.0)

    def fetch(budget: CompiledBudget, subject: dict[str, str], start: datetime, end: datetime) -> Decimal:
        where = [
            f"{k}={v}"
            for k, v in budget_filters(budget.rule, subject).items()
            for v in (v if isinstance(v, list) else [v])
        ]
        params: list[tuple[str, str]] = [("since", start.isoformat()), ("until", end.isoformat())]
        params += [("where", w) for w in where]
        response = client.get("/api/v1/costs", params=params)
        response.raise_for_status()
        rows = response.json()
        return Decimal(rows[0]["cost"]) if rows and rows[0].get("cost") is not None else Decimal(0)

    async def load(
        budget: CompiledBudget, subject: dict[str, str], start: datetime, end: datetime
    ) -> Decimal:
        return await asyncio.to_thread(fetch, budget, subject, start, end)

    return load

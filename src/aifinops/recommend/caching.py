"""Caching recommendations: repeated prompt prefixes paid at full price, and duplicate requests.

Both need hashes, never content (DESIGN §7): a record's ``tags`` carry ``prefix_hash`` and ``prefix_tokens``
(the shared prompt prefix) and ``request_hash`` (the canonical request body), stamped by the gateway or the
application (``x-aifinops-*`` headers / OTLP attributes). Without them these recommendations stay silent.

Events are dicts: ``time`` (datetime), ``feature``, ``model``, ``provider``, ``scope`` (the cache scope, e.g.
the API key), the hash, ``prefix_tokens`` / ``cached_input_tokens`` / ``cache_write_tokens`` / ``cost``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from aifinops.core.money import ZERO
from aifinops.recommend.model import Recommendation, monthly, recommendation_id
from aifinops.recommend.tokens import TOKEN_CLASSES, cost_on

__all__ = ["prompt_caching", "response_caching", "cache_ttl", "PROMPT_CACHE_TTL", "MIN_PREFIX"]

#: A provider's prompt cache lives about five minutes after the last use.
PROMPT_CACHE_TTL = 300.0
#: Providers cache prefixes of at least 1024 tokens.
MIN_PREFIX = 1024


def _runs(
    events: Sequence[Mapping[str, Any]], key: tuple[str, ...]
) -> dict[tuple[Any, ...], list[Mapping[str, Any]]]:
    out: dict[tuple[Any, ...], list[Mapping[str, Any]]] = defaultdict(list)
    for event in events:
        out[tuple(event.get(k) for k in key)].append(event)
    for items in out.values():
        items.sort(key=lambda e: e["time"])
    return out


def prompt_caching(
    events: Sequence[Mapping[str, Any]], catalog: Any, *, days: Decimal
) -> list[Recommendation]:
    """Requests that repeated a prefix seen less than :data:`PROMPT_CACHE_TTL` earlier but paid it as input.

    The saving is exact: those prefix tokens re-priced as cache reads, minus the cache-write premium of the
    request that starts each run (explicit caches such as Anthropic's bill writes above the input price).
    A feature and model whose calls already read or write a prompt cache (``cached_input_tokens`` or
    ``cache_write_tokens`` above 0 on any of them) has caching on: its misses are cache expiries, not a
    missing setting (:func:`cache_ttl` weighs the TTL of explicit caches), so nothing is proposed there.
    """
    caching_on = {
        (e.get("feature"), e.get("model"))
        for e in events
        if int(e.get("cached_input_tokens") or 0) or int(e.get("cache_write_tokens") or 0)
    }
    per_feature: dict[tuple[str, str], dict[str, Any]] = {}
    for (feature, model, provider, _prefix), items in _runs(
        events, ("feature", "model", "provider", "prefix_hash")
    ).items():
        if not feature or not model or (feature, model) in caching_on:
            continue
        now_rows: list[dict[str, Any]] = []
        then_rows: list[dict[str, Any]] = []
        previous = None
        repeats = 0
        for event in items:
            size = int(event.get("prefix_tokens") or 0)
            uncached = max(0, size - int(event.get("cached_input_tokens") or 0))
            if size < MIN_PREFIX or uncached == 0:
                previous = event["time"]
                continue
            day = event["time"].replace(hour=0, minute=0, second=0, microsecond=0)
            base = {"model": model, "provider": provider, "day": day, "requests": 1}
            repeat = previous is not None and (event["time"] - previous).total_seconds() < PROMPT_CACHE_TTL
            now_rows.append({**base, "input_tokens": uncached})
            if repeat:
                then_rows.append({**base, "cached_input_tokens": uncached})
                repeats += 1
            else:
                then_rows.append({**base, "cache_write_5m_tokens": uncached})
            previous = event["time"]
        if not repeats:
            continue
        now, a = cost_on(now_rows, catalog)
        then, b = cost_on(then_rows, catalog)
        if a or b:
            continue
        slot = per_feature.setdefault(
            (feature, model), {"saving": ZERO, "repeats": 0, "prefixes": 0, "provider": provider}
        )
        slot["saving"] += now - then
        slot["repeats"] += repeats
        slot["prefixes"] += 1
    out = []
    for (feature, model), slot in per_feature.items():
        if slot["saving"] <= 0:
            continue
        scope = {"feature": feature, "model": model}
        how = (
            "mark the shared prefix with cache_control: {type: ephemeral}"
            if slot["provider"] == "anthropic"
            else "put the shared prefix first and keep it byte-identical (automatic prefix caching)"
        )
        out.append(
            Recommendation(
                id=recommendation_id("prompt_caching", scope),
                kind="prompt_caching",
                title=f"{feature}: cache the repeated prompt prefix on {model}",
                scope=scope,
                monthly_saving=monthly(slot["saving"], days),
                confidence="high",
                change=f"# in {feature}'s requests to {model}: {how}\n",
                evidence={
                    "repeated_requests": slot["repeats"],
                    "distinct_prefixes": slot["prefixes"],
                    "days": days,
                    "saving_in_window": slot["saving"],
                },
                window_days=days,
            )
        )
    return out


def response_caching(
    events: Sequence[Mapping[str, Any]], *, days: Decimal, ttl_seconds: float = 300.0
) -> list[Recommendation]:
    """Identical requests (same ``request_hash``, model and cache scope) within ``ttl_seconds`` of the last one.

    The gateway's exact-match cache would have answered them without calling upstream: their whole cost is
    the saving (it is what the gateway records as ``avoided_cost`` once the cache is on).
    """
    per_model: dict[str, dict[str, Any]] = {}
    for (model, _scope, _digest), items in _runs(events, ("model", "scope", "request_hash")).items():
        if not model:
            continue
        previous = None
        for event in items:
            if previous is not None and (event["time"] - previous).total_seconds() < ttl_seconds:
                slot = per_model.setdefault(model, {"saving": ZERO, "duplicates": 0, "features": set()})
                slot["saving"] += Decimal(event.get("cost") or 0)
                slot["duplicates"] += 1
                if event.get("feature"):
                    slot["features"].add(event["feature"])
            previous = event["time"]
    out = []
    for model, slot in per_model.items():
        if slot["saving"] <= 0:
            continue
        scope = {"model": model}
        ttl = int(ttl_seconds) if float(ttl_seconds).is_integer() else ttl_seconds
        out.append(
            Recommendation(
                id=recommendation_id("response_caching", scope),
                kind="response_caching",
                title=f"turn on the gateway's response cache for {model}",
                scope=scope,
                monthly_saving=monthly(slot["saving"], days),
                confidence="high",
                change=f'gateway:\n  cache:\n    models: ["{model}"]\n    ttl_seconds: {ttl}\n',
                evidence={
                    "duplicate_requests": slot["duplicates"],
                    "features": sorted(slot["features"]),
                    "days": days,
                    "saving_in_window": slot["saving"],
                },
                window_days=days,
            )
        )
    return out


def _replay_ttl(
    items: Sequence[Mapping[str, Any]], ttl: float, write_field: str
) -> tuple[list[dict[str, Any]], int]:
    """The same calls with one cache TTL: a write when the prefix was unused for ``ttl`` seconds, else a read."""
    rows: list[dict[str, Any]] = []
    previous = None
    reads = 0
    for item in items:
        prefix = (
            int(item["cached_input_tokens"])
            + int(item["cache_write_5m_tokens"])
            + int(item["cache_write_1h_tokens"])
        )
        row = {
            k: item.get(k)
            for k in (
                "model",
                "provider",
                "day",
                "context_window",
                "input_tokens",
                "output_tokens",
                "requests",
            )
        }
        if previous is not None and (item["time"] - previous).total_seconds() < ttl:
            row["cached_input_tokens"] = prefix
            reads += 1
        else:
            row[write_field] = prefix
        rows.append(row)
        previous = item["time"]
    return rows, reads


def _by_day(rows: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Rows summed per model, provider, day and long-context interval: the same cost, priced once."""
    out: dict[tuple[Any, ...], dict[str, Any]] = {}
    for row in rows:
        key = (row["model"], row["provider"], row["day"], row.get("context_window"))
        slot = out.setdefault(
            key, {"model": key[0], "provider": key[1], "day": key[2], "context_window": key[3]}
        )
        for name in TOKEN_CLASSES + ("requests",):
            if row.get(name):
                slot[name] = slot.get(name, 0) + int(row[name])
    return list(out.values())


def cache_ttl(calls: Sequence[Mapping[str, Any]], catalog: Any, *, days: Decimal) -> list[Recommendation]:
    """Explicit prompt caches (Anthropic): the TTL that would have cost least, replayed call by call.

    ``calls``: one per call that read or wrote the cache, with ``time``, ``feature``, ``model``, ``provider``,
    ``environment``, ``day`` and its token classes. Calls of one feature, model and environment share a prefix.
    A cache entry lives ``ttl`` seconds after its last use (a read refreshes it, as Anthropic's does). The
    saving is exact: the calls re-priced with every write at the chosen TTL, against what they cost.
    """
    groups = _runs(calls, ("feature", "model", "environment"))
    per_feature: dict[tuple[str, str], dict[str, Any]] = {}
    for (feature, model, _env), items in groups.items():
        if not feature or not model:
            continue
        actual, bad = cost_on(_by_day(items), catalog)
        if bad:
            continue
        slot = per_feature.setdefault(
            (feature, model),
            {"actual": ZERO, "options": {"5m": [ZERO, 0, 0], "1h": [ZERO, 0, 0]}, "calls": 0, "ok": True},
        )
        slot["actual"] += actual
        slot["calls"] += len(items)
        for name, ttl, field in (
            ("5m", 300.0, "cache_write_5m_tokens"),
            ("1h", 3600.0, "cache_write_1h_tokens"),
        ):
            rows, reads = _replay_ttl(items, ttl, field)
            cost, bad = cost_on(_by_day(rows), catalog)
            if bad:
                slot["ok"] = False
            option = slot["options"][name]
            option[0] += cost
            option[1] += reads
            option[2] += len(rows) - reads
    out = []
    for (feature, model), slot in per_feature.items():
        if not slot["ok"]:
            continue
        name, (cost, reads, writes) = min(slot["options"].items(), key=lambda kv: kv[1][0])
        saving = slot["actual"] - cost
        if saving <= 0:
            continue
        scope = {"feature": feature, "model": model}
        ttl = "1h" if name == "1h" else "5m"
        out.append(
            Recommendation(
                id=recommendation_id("prompt_caching", scope, f"ttl:{ttl}"),
                kind="prompt_caching",
                title=f"{feature}: write {model}'s prompt cache with the {ttl} TTL",
                scope=scope,
                monthly_saving=monthly(saving, days),
                current_monthly_cost=monthly(slot["actual"], days),
                confidence="medium",
                change=(
                    f"# in {feature}'s requests to {model}: cache_control: "
                    + ('{type: ephemeral, ttl: "1h"}' if ttl == "1h" else "{type: ephemeral}  # 5-minute TTL")
                    + "\n"
                ),
                evidence={
                    "ttl": ttl,
                    "calls": slot["calls"],
                    "cache_reads": reads,
                    "cache_writes": writes,
                    "days": days,
                    "cost": slot["actual"],
                    "cost_with_ttl": cost,
                    "saving_in_window": saving,
                },
                window_days=days,
            )
        )
    return out

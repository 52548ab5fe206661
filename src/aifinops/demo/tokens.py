"""Token sizes and latencies: (context, generated) pairs from the Azure LLM inference traces, rescaled.

The table in ``data/azure_llm_trace_sample.json`` is 2,000 real request pairs from each of the code and
conversation traces (CC BY 4.0, Patel et al., "Splitwise", ISCA 2024; see ``data/README.md``). Sampling
whole pairs keeps the heavy tails and the joint shape of real traffic.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources

import numpy as np

from aifinops.demo.company import Feature, Model

__all__ = ["trace_pairs", "sample_pairs", "prompt_and_output", "reasoning_split", "latency_ms"]


@cache
def trace_pairs(trace: str) -> np.ndarray:
    """The ``(n, 2)`` int64 array of (context tokens, generated tokens) for ``trace`` ("code" or "conv")."""
    text = resources.files("aifinops.demo").joinpath("data/azure_llm_trace_sample.json").read_text()
    pairs = np.asarray(json.loads(text)["traces"][trace]["pairs"], dtype=np.int64)
    pairs.setflags(write=False)
    return pairs


def sample_pairs(rng: np.random.Generator, trace: str, n: int) -> tuple[np.ndarray, np.ndarray]:
    """``n`` (context, generated) pairs drawn with replacement from ``trace``."""
    table = trace_pairs(trace)
    idx = rng.integers(0, len(table), size=n)
    return table[idx, 0], table[idx, 1]


def prompt_and_output(rng: np.random.Generator, feature: Feature, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Prompt tokens (system prefix included) and visible output tokens for ``n`` requests of ``feature``."""
    ctx, gen = sample_pairs(rng, feature.trace, n)
    jitter = rng.lognormal(0.0, 0.15, size=n)
    prompt = feature.prefix_tokens + np.maximum(1, np.rint(ctx * feature.context_scale * jitter))
    if feature.max_context is not None:
        prompt = np.minimum(prompt, feature.max_context)
    output = np.clip(np.rint(gen * feature.output_scale * jitter), 1, feature.max_output)
    return prompt.astype(np.int64), output.astype(np.int64)


def reasoning_split(
    rng: np.random.Generator, models: list[Model], visible: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Billed output (visible + reasoning) and the reasoning part, for reasoning models only."""
    is_reasoning = np.fromiter((m.reasoning for m in models), dtype=bool, count=len(models))
    ratio = rng.lognormal(np.log(1.5), 0.6, size=len(models))
    reasoning = np.where(is_reasoning, np.rint(np.maximum(visible, 64) * ratio), 0).astype(np.int64)
    return visible + reasoning, reasoning


def latency_ms(
    rng: np.random.Generator, models: list[Model], prompt: np.ndarray, output: np.ndarray
) -> np.ndarray:
    """Request latency: time to first token, prefill and decode at each model's speed, with noise."""
    ttft = np.fromiter((m.ttft_ms for m in models), dtype=float, count=len(models))
    tps = np.fromiter((m.tokens_per_s for m in models), dtype=float, count=len(models))
    base = ttft + prompt / 20.0 + output / tps * 1000.0
    return np.round(base * rng.lognormal(0.0, 0.25, size=len(models)), 1)

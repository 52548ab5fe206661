"""Splitting one GPU-hour's cost among the parts of the GPU that telemetry saw (MIG instances, pods), exactly.

A physical GPU in one hour is priced once, ``rate x GPU-seconds / 3600``; that amount is then cut among its
parts with the allocation area's :func:`~aifinops.allocation.split.split` (largest remainder at the ledger's
12 places), so the parts sum to the GPU's cost to the last unit. The weights are the parts' exact GPU-seconds:
a MIG instance's compute slices out of 7 (4 on an A30), the unallocated slices, and an even part of the
instance per pod time-sliced on it (:mod:`aifinops.gpu.samples`).

Where a shared pool of ``allocation.shared`` matches the GPU, its choices apply:

- ``split_by: fixed``: each part's weight is multiplied by its owner's ratio (on the pool's ``among``
  dimension); with no ratio for any part, the plain weights;
- any other ``split_by`` splits by GPU-seconds (telemetry has no tokens, requests or cost per pod);
- ``idle``: the cost of idle parts (utilization under the threshold) goes to the pool's ``owner``
  (``owner``), to the idle bucket (``bucket``), or, ``proportional``, to the busy parts of the same
  GPU-hour in proportion to their weights (stays where it is when no part was busy).
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal, localcontext
from fractions import Fraction

from aifinops.allocation.split import split
from aifinops.core.money import quantize

__all__ = ["exact_share", "gpu_hour_cost", "share_gpu_cost", "IDLE_OWNER"]

#: The payer of :func:`share_gpu_cost` that stands for the pool's idle owner (its ``owner`` or idle bucket).
IDLE_OWNER = -1


def exact_share(share: float) -> Fraction:
    """The rational a stored ``share`` stands for (``3/7`` of a GPU, ``1/2`` of an instance ...)."""
    return Fraction(share).limit_denominator(1_000_000)


def gpu_hour_cost(rate: Decimal, gpu_seconds: Fraction) -> Decimal:
    """``rate`` per GPU-hour times exact GPU-seconds, at the ledger's 12 places."""
    amount = Fraction(rate) * gpu_seconds / 3600
    with localcontext(prec=60):
        return quantize(Decimal(amount.numerator) / Decimal(amount.denominator))


def share_gpu_cost(
    cost: Decimal,
    weights: Sequence[Fraction],
    idle: Sequence[bool],
    *,
    ratios: Sequence[Decimal | None] | None = None,
    idle_policy: str | None = None,
) -> list[tuple[int, int, Decimal, float]]:
    """``(part, payer, amount, fraction)`` rows: ``cost`` cut by ``weights`` (times ``ratios``), the idle parts'
    amounts moved per ``idle_policy`` (None: they stay). ``payer`` is a part's index or :data:`IDLE_OWNER`;
    ``fraction`` is the share of the part's GPU time that goes with the amount. The amounts sum to ``cost``."""
    driver: list[Fraction] = list(weights)
    if ratios is not None:
        scaled = [w * Fraction(r or 0) for w, r in zip(weights, ratios, strict=True)]
        if any(scaled):
            driver = scaled
    amounts = split(cost, driver)
    busy = [i for i, flag in enumerate(idle) if not flag and driver[i] > 0]
    out: list[tuple[int, int, Decimal, float]] = []
    for i, amount in enumerate(amounts):
        if not idle[i] or idle_policy is None:
            out.append((i, i, amount, 1.0))
        elif idle_policy in ("owner", "bucket"):
            out.append((i, IDLE_OWNER, amount, 1.0))
        elif busy:  # proportional: the busy parts pay for the idle ones as they use the GPU
            total = sum(driver[j] for j in busy)
            for j, part in zip(busy, split(amount, [driver[j] for j in busy]), strict=True):
                out.append((i, j, part, float(driver[j] / total)))
        else:
            out.append((i, i, amount, 1.0))
    return out

"""Training runs: the pre-run estimate (6 x parameters x tokens), efficiency, and the runaway check.

A dense transformer costs about ``6 N D`` FLOPs to train on ``D`` tokens with ``N`` parameters
(2 forward + 4 backward per parameter per token; Kaplan et al. 2020, Chinchilla 2022). At a model FLOPs
utilization ``mfu`` of the GPU's peak dense BF16/FP16 tensor throughput, the run takes
``6 N D / (peak x mfu)`` GPU-seconds. The range assumes the MFU lands within ``mfu x (1 +- spread)``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from decimal import Decimal, localcontext
from typing import Any

from aifinops.core.money import quantize
from aifinops.pricing.gpu import normalize_gpu_type

__all__ = [
    "PEAK_TFLOPS",
    "TrainingEstimate",
    "estimate_training",
    "is_runaway",
    "achieved_mfu",
    "peak_tflops",
]

#: Peak dense (no sparsity) BF16/FP16 tensor TFLOPS per GPU, from the vendors' data sheets (SXM parts
#: where there are several form factors). Approximate: a PCIe card or a lower clock gives less.
PEAK_TFLOPS: dict[str, float] = {
    "GB200": 2500.0,
    "B200": 2250.0,
    "H200": 989.0,
    "H100": 989.0,
    "H800": 989.0,
    "A100": 312.0,
    "A100-40GB": 312.0,
    "A100-80GB": 312.0,
    "A800": 312.0,
    "MI300X": 1307.0,
    "L40S": 362.0,
    "L40": 181.0,
    "L4": 121.0,
    "A10": 125.0,
    "A10G": 70.0,
    "T4": 65.0,
    "V100": 125.0,
}


def peak_tflops(gpu: str) -> float:
    """The peak dense TFLOPS of a GPU name (``h100``, ``NVIDIA H100 80GB HBM3``, ``A100-80GB``)."""
    key = normalize_gpu_type(gpu) or ""
    if key not in PEAK_TFLOPS:
        known = ", ".join(sorted(PEAK_TFLOPS))
        raise ValueError(f"no peak throughput known for GPU {gpu!r}; known: {known}")
    return PEAK_TFLOPS[key]


@dataclass(frozen=True, slots=True)
class TrainingEstimate:
    """GPU hours and dollars of a training run, with a low-high range."""

    params: float
    tokens: float
    gpu_type: str
    gpu_count: int
    mfu: float
    flops: float
    peak_tflops: float
    gpu_hours: float
    gpu_hours_low: float
    gpu_hours_high: float
    wall_clock_hours: float
    rate_per_gpu_hour: Decimal | None
    cost: Decimal | None
    cost_low: Decimal | None
    cost_high: Decimal | None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def estimate_training(
    *,
    params: float,
    tokens: float,
    gpu: str,
    count: int,
    mfu: float = 0.4,
    spread: float = 0.25,
    rate_per_gpu_hour: Decimal | None = None,
) -> TrainingEstimate:
    """Estimate a run. ``rate_per_gpu_hour`` None gives hours without dollars (the GPU has no price)."""
    if not params > 0 or not tokens > 0:
        raise ValueError("params and tokens must be positive")
    if count < 1:
        raise ValueError("count must be at least 1")
    if not 0 < mfu <= 1:
        raise ValueError("mfu must be in (0, 1]")
    if not 0 <= spread < 1:
        raise ValueError("spread must be in [0, 1)")
    peak = peak_tflops(gpu)
    flops = 6.0 * params * tokens

    def hours(at_mfu: float) -> float:
        return flops / (peak * 1e12 * at_mfu) / 3600.0

    mid, low, high = hours(mfu), hours(min(mfu * (1 + spread), 1.0)), hours(mfu * (1 - spread))

    def dollars(h: float) -> Decimal | None:
        if rate_per_gpu_hour is None:
            return None
        with localcontext(prec=60):  # a huge run must not overflow the default 28 digits
            return quantize(rate_per_gpu_hour * Decimal(repr(h)))

    return TrainingEstimate(
        params=params,
        tokens=tokens,
        gpu_type=normalize_gpu_type(gpu) or gpu,
        gpu_count=count,
        mfu=mfu,
        flops=flops,
        peak_tflops=peak,
        gpu_hours=mid,
        gpu_hours_low=low,
        gpu_hours_high=high,
        wall_clock_hours=mid / count,
        rate_per_gpu_hour=rate_per_gpu_hour,
        cost=dollars(mid),
        cost_low=dollars(low),
        cost_high=dollars(high),
    )


def achieved_mfu(params: float, tokens: float, gpu: str, gpu_hours: float) -> float | None:
    """The MFU a finished run reached: ``6 N D`` over what its GPU-hours could have done at peak."""
    if not params or not tokens or gpu_hours <= 0:
        return None
    try:
        peak = peak_tflops(gpu)
    except ValueError:
        return None
    return 6.0 * params * tokens / (peak * 1e12 * gpu_hours * 3600.0)


def is_runaway(actual: float | Decimal, expected: float | Decimal | None, margin: float) -> bool:
    """Whether ``actual`` (GPU hours or dollars) exceeds ``expected`` by more than ``margin`` (0.25 = 25 %)."""
    if expected is None or expected <= 0:
        return False
    return Decimal(repr(float(actual))) > Decimal(repr(float(expected))) * Decimal(repr(1.0 + margin))

"""GPU economics, pure: telemetry samples to busy/idle GPU hours, cost, energy and CO2e; training estimates.

No I/O here (the NVML collector in :mod:`aifinops.gpu.nvml` is the one exception, and it is imported only
when asked for). Parsers live in :mod:`aifinops.ingest`; storage in the ledger; the facade ties them.
"""

from __future__ import annotations

from aifinops.gpu.attribution import Owner, resolve_owner
from aifinops.gpu.samples import GpuSample, mig_fraction, split_shared
from aifinops.gpu.sharing import share_gpu_cost
from aifinops.gpu.training import PEAK_TFLOPS, TrainingEstimate, estimate_training, is_runaway
from aifinops.gpu.usage import GpuUsage, UsageSlice, summarize

__all__ = [
    "GpuSample",
    "mig_fraction",
    "split_shared",
    "share_gpu_cost",
    "Owner",
    "resolve_owner",
    "GpuUsage",
    "UsageSlice",
    "summarize",
    "PEAK_TFLOPS",
    "TrainingEstimate",
    "estimate_training",
    "is_runaway",
]

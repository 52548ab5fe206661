"""GPU telemetry of the demo company: what a DCGM exporter on each GPU would have reported every 5 minutes.

One sample per GPU per 5 minutes (``source = "dcgm"``, ``seconds = 300``) for every endpoint instance and
training node that the demo's hourly GPU records (:mod:`aifinops.demo.infra`) bill, on the same host (the
record's ``instance_id`` or ``host`` tag) and in the same hours, so the GPU reports read utilization, idle
hours and energy from telemetry and cost and owner from the records, as they would for a real fleet.

Each GPU's readings vary around its record's hourly ``gpu_util`` tag (the mean of the 12 readings' noise
is 1), so the idle-gpu-endpoint incident (the L4s at ~1 %) is idle in telemetry too, and the runaway
training run is busy for all of its 66 hours. Memory and power follow utilization: power is the GPU's idle
draw plus its dynamic range times utilization. Deterministic: the same seed and window give the same rows.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

import numpy as np
import pyarrow as pa

from aifinops.core.records import UsageRecord
from aifinops.demo.context import DemoContext
from aifinops.demo.infra import gpu_day, jobs_day

__all__ = ["STEP_SECONDS", "GPU_SPECS", "demo_samples"]

#: Seconds between two readings of a GPU.
STEP_SECONDS = 300
_STEPS = 3600 // STEP_SECONDS
#: GPU type -> (DCGM modelName, framebuffer MiB, idle W, board power limit W), from the vendors' data sheets.
GPU_SPECS: dict[str, tuple[str, int, float, float]] = {
    "H100": ("NVIDIA H100 80GB HBM3", 81559, 70.0, 700.0),
    "A100": ("NVIDIA A100-SXM4-40GB", 40960, 55.0, 400.0),
    "L4": ("NVIDIA L4", 23034, 16.0, 72.0),
}


def _gpu_records(ctx: DemoContext) -> list[UsageRecord]:
    """The demo's hourly GPU records (endpoints and training nodes) inside the window."""
    out = []
    for day in ctx.days():
        for r in (*gpu_day(ctx, day), *jobs_day(ctx, day)):
            if ctx.start <= r.charge_period_start < ctx.end:
                out.append(r)
    return out


def _host(r: UsageRecord) -> str:
    return r.tags.get("host") or r.tags["instance_id"]


def demo_samples(seed: int, start: datetime, end: datetime) -> pa.Table:
    """Per-GPU 5-minute samples of the demo window ``[start, end)`` (an Arrow table of ``gpu_samples`` rows)."""
    from aifinops.ledger.schema_gpu import SAMPLE_SCHEMA

    ctx = DemoContext(seed, start, end, 1.0)
    numeric: dict[str, list[np.ndarray]] = {"util": [], "mem_util": [], "fb_used_mib": [], "power_w": []}
    epochs: list[np.ndarray] = []
    gpu_keys: list[tuple[str, int, str | None, str | None, int]] = []  # host, index, type, job, rows
    offsets = np.arange(_STEPS, dtype=np.int64) * STEP_SECONDS
    rng = ctx.rng("gpu-telemetry")  # one stream, drawn in the records' (deterministic) order
    for r in _gpu_records(ctx):
        host = _host(r)
        gpus = r.gpu_count or 1
        _, fb_total, idle_w, max_w = GPU_SPECS[r.gpu_type or "H100"]
        training = r.operation == "train"
        hour = int(r.charge_period_start.timestamp())
        u = float(r.tags.get("gpu_util", "0"))
        sigma = 0.04 if training else 0.2
        util = np.clip(u * rng.lognormal(-(sigma**2) / 2, sigma, size=(gpus, _STEPS)), 0.0, 1.0)
        fb = (
            (0.82 + 0.1 * rng.random((gpus, 1))) if training else np.full((gpus, 1), 0.9)
        )  # vLLM pre-allocates
        power = idle_w + (max_w - idle_w) * util * rng.uniform(0.9, 1.0, size=(gpus, _STEPS))
        numeric["util"].append(np.round(util, 4).ravel())
        numeric["mem_util"].append(np.round(util * (0.55 if training else 0.35), 4).ravel())
        numeric["fb_used_mib"].append(np.broadcast_to(np.round(fb * fb_total), (gpus, _STEPS)).ravel())
        numeric["power_w"].append(np.round(power, 2).ravel())
        epochs.append(np.tile(hour + offsets, gpus))
        gpu_keys.extend((host, g, r.gpu_type, r.tags.get("job"), _STEPS) for g in range(gpus))
    seconds = np.concatenate(epochs) if epochs else np.zeros(0, dtype=np.int64)
    iso = {int(t): datetime.fromtimestamp(int(t), UTC).isoformat() for t in np.unique(seconds).tolist()}
    cols: dict[str, object] = {name: np.concatenate(v) if v else [] for name, v in numeric.items()}
    uuids = {
        (h, g): "GPU-" + hashlib.blake2b(f"{h}#{g}".encode(), digest_size=16).hexdigest()
        for h, g, *_ in gpu_keys
    }
    per_row = [(h, g, t, j) for h, g, t, j, n in gpu_keys for _ in range(n)]
    cols["host"] = [k[0] for k in per_row]
    cols["gpu_index"] = [k[1] for k in per_row]
    cols["gpu_uuid"] = [uuids[k[0], k[1]] for k in per_row]
    cols["gpu_type"] = [k[2] for k in per_row]
    cols["gpu_model"] = [GPU_SPECS[k[2] or "H100"][0] for k in per_row]
    cols["job"] = [k[3] for k in per_row]
    cols["sample_id"] = [
        hashlib.blake2b(f"{h}\x1f{u}\x1f\x1f\x1f\x1f\x1f{iso[t]}".encode(), digest_size=16).hexdigest()
        for h, u, t in zip(cols["host"], cols["gpu_uuid"], seconds.tolist(), strict=True)
    ]  # as aifinops.gpu.samples.sample_id: a re-import of the same reading is a no-op
    rows = len(per_row)
    cols["ts"] = pa.array(seconds * 1_000_000, pa.int64()).cast(pa.timestamp("us", tz="UTC"))
    cols["source"] = ["dcgm"] * rows
    cols["seconds"] = np.full(rows, float(STEP_SECONDS))
    cols["share"] = np.ones(rows)
    for name in ("mig_profile", "mig_instance", "namespace", "pod", "container", "team"):
        cols[name] = pa.nulls(rows, pa.string())
    return pa.Table.from_pydict(cols, schema=SAMPLE_SCHEMA)

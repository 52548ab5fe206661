"""One telemetry sample: one GPU (or one MIG instance, or one pod on a shared GPU) over one interval.

Telemetry sees a physical GPU several times when it is shared:

- **MIG**: one series per GPU instance (``GPU_I_PROFILE="3g.40gb"``). An instance owns its compute slices
  out of the GPU's 7 (4 on an A30): ``share = slices / 7``. Slices no instance holds are provisioned but
  unused: they become one unowned row with ``share = 1 - sum(instances)`` and utilization 0.
- **Time-slicing / several pods on one GPU** (or on one MIG instance): each pod gets an equal part
  (the allocation issue's ``even`` split), ``share = instance share / pods``.

Power follows the share, so summing ``power_w`` over rows gives the GPU's draw once. Money is not split
here: reports price each physical GPU-hour once and cut it by these shares, exactly, under the matching
``allocation.shared`` pool (:mod:`aifinops.gpu.sharing`).
"""

from __future__ import annotations

import hashlib
import re
from collections import defaultdict
from dataclasses import dataclass, replace
from datetime import datetime

__all__ = ["GpuSample", "mig_fraction", "split_shared", "sample_id"]

_MIG_PROFILE = re.compile(r"^\s*(\d+)g\.", re.IGNORECASE)


@dataclass(slots=True)
class GpuSample:
    """A GPU reading over ``[ts, ts + seconds)``. ``util`` and ``mem_util`` are 0-1 (None: not measured)."""

    source: str
    ts: datetime
    seconds: float
    host: str
    gpu_index: int | None = None
    gpu_uuid: str | None = None
    gpu_model: str | None = None
    gpu_type: str | None = None
    mig_profile: str | None = None
    mig_instance: str | None = None
    share: float = 1.0
    util: float | None = None
    mem_util: float | None = None
    fb_used_mib: float | None = None
    power_w: float | None = None
    namespace: str | None = None
    pod: str | None = None
    container: str | None = None
    job: str | None = None

    @property
    def gpu_key(self) -> str:
        """The physical GPU: its UUID, else host and index."""
        return self.gpu_uuid or f"{self.host}#{self.gpu_index}"


def sample_id(s: GpuSample) -> str:
    """Deterministic id: the same reading imported twice is stored once."""
    parts = (s.host, s.gpu_key, s.mig_instance, s.namespace, s.pod, s.container, s.ts.isoformat())
    text = "\x1f".join("" if p is None else str(p) for p in parts)
    return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()


def mig_fraction(profile: str | None, gpu_model: str | None = None) -> float:
    """The part of a GPU a MIG profile holds: ``"3g.40gb"`` is 3 of 7 compute slices (of 4 on an A30)."""
    if not profile:
        return 1.0
    match = _MIG_PROFILE.match(profile)
    if not match:
        raise ValueError(f"MIG profile {profile!r} is not like '3g.40gb'")
    slices = 4 if gpu_model and "A30" in gpu_model.upper() else 7
    return min(int(match.group(1)) / slices, 1.0)


def split_shared(samples: list[GpuSample]) -> list[GpuSample]:
    """Samples with ``share`` and ``power_w`` set for MIG instances and GPUs shared by several pods.

    Samples of one GPU at one time are considered together; each sample's ``power_w`` is the whole GPU's
    reading on input and the sample's part of it on output. See the module docstring for the rules.
    """
    by_gpu: dict[tuple[str, datetime], list[GpuSample]] = defaultdict(list)
    for s in samples:
        by_gpu[(s.gpu_key, s.ts)].append(s)
    out: list[GpuSample] = []
    for group in by_gpu.values():
        by_instance: dict[str | None, list[GpuSample]] = defaultdict(list)
        for s in group:
            by_instance[s.mig_instance if s.mig_profile else None].append(s)
        held = 0.0
        for instance, members in by_instance.items():
            first = members[0]
            try:
                part = mig_fraction(first.mig_profile, first.gpu_model) if instance is not None else 1.0
            except ValueError:  # a profile we cannot read: the instance is taken as the whole GPU
                part = 1.0
            held += part
            for s in members:
                share = part / len(members)
                power = s.power_w * share if s.power_w is not None else None
                out.append(replace(s, share=share, power_w=power))
        mig = any(s.mig_profile for s in group)
        if mig and held < 1.0 - 1e-9:
            first = group[0]
            power = first.power_w * (1.0 - held) if first.power_w is not None else None
            out.append(
                replace(
                    first,
                    mig_profile=None,
                    mig_instance="unallocated",
                    share=1.0 - held,
                    util=0.0,
                    mem_util=None,
                    fb_used_mib=None,
                    power_w=power,
                    namespace=None,
                    pod=None,
                    container=None,
                    job=None,
                )
            )
    return out

"""Recognize GPU instance lines in cloud bills (FOCUS rows) and tell the GPU type and count.

Recognized: AWS GPU families (``p3``, ``p4d``, ``p4de``, ``p5``, ``p5e``, ``p5en``, ``g4dn``, ``g5``,
``g6``, ``g6e``; also as SageMaker ``ml.`` types), GCP accelerator machine types (``a2-*``,
``a3-*``, ``g2-*``), Azure N-series (``NC``, ``ND``, ``NV``: ``Standard_NC24ads_A100_v4``,
"ND A100 v4 Series"), data-center GPU names (A100, H100, ...), the word GPU, and
``SkuPriceDetails.GpuCount > 0``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

__all__ = ["GpuInfo", "detect_gpu", "gpu_seconds"]

_G_SIZES = {"12xlarge": 4, "24xlarge": 4, "48xlarge": 8, "metal": 8}
# family: (GPU type, default count per instance, count by size where it differs)
_AWS: dict[str, tuple[str, int, dict[str, int]]] = {
    "p3": ("V100", 1, {"8xlarge": 4, "16xlarge": 8}),
    "p3dn": ("V100", 8, {}),
    "p4d": ("A100", 8, {}),
    "p4de": ("A100-80GB", 8, {}),
    "p5": ("H100", 8, {"4xlarge": 1}),
    "p5e": ("H200", 8, {}),
    "p5en": ("H200", 8, {}),
    "g4dn": ("T4", 1, {"12xlarge": 4, "metal": 8}),
    "g5": ("A10G", 1, _G_SIZES),
    "g6": ("L4", 1, _G_SIZES),
    "g6e": ("L40S", 1, _G_SIZES),
}
_AWS_RE = re.compile(r"\b(p3dn|p3|p4de|p4d|p5en|p5e|p5|g4dn|g5|g6e|g6)\.(\d*x?large|metal[\w-]*)\b", re.I)
# GCP: a2-highgpu-4g, a2-ultragpu-8g, a3-highgpu-8g, a3-megagpu-8g, g2-standard-24
_GCP_RE = re.compile(r"\b(a2|a3|g2)-(highgpu|megagpu|ultragpu|edgegpu|standard)-(\d+)g?\b", re.I)
_GCP_TYPES = {"a2": "A100", "a2-ultragpu": "A100-80GB", "a3": "H100", "g2": "L4"}
_G2_COUNTS = {24: 2, 48: 4, 96: 8}
# GCP billing SKUs also read "A2 Instance Core running in Americas" or "Nvidia Tesla A100 GPU ..."
_GCP_SKU_RE = re.compile(r"\b(A2|A3|G2) (?:Instance|Ultragpu|Highgpu|Megagpu)\b")
_AZURE_RE = re.compile(
    r"\bStandard_N[CDV]\d+\w*|\bN[CDV](?:[A-Za-z0-9]*)(?:[ _](?:[A-Z]\d+\w*|v\d|Promo))*\s+Series\b"
)
_AZURE_SIZE_RE = re.compile(r"\bN[CDV]\d+[a-z]*(?:[ _][A-Z]\d+\w*)?(?:[ _]v\d)?\b")
_NAMES_RE = re.compile(r"(GB200|B200|H200|H100|A100|V100|A10G|L40S|MI300X|T4|L4|A10)(?![A-Za-z0-9])")
_STRONG_RE = re.compile(r"\b(?:GB200|B200|H200|H100|A100|V100|A10G|L40S|MI300X|GPU|NVIDIA)\b", re.I)


@dataclass(frozen=True, slots=True)
class GpuInfo:
    """A GPU line: the GPU model and GPUs per instance, when known."""

    gpu_type: str | None = None
    gpu_count: int | None = None


def detect_gpu(texts: list[str], details: Mapping[str, object] | None = None) -> GpuInfo | None:
    """``GpuInfo`` if any of ``texts`` (description, SKU meter, instance type...) or the
    ``SkuPriceDetails`` mapping names a GPU instance; else ``None``."""
    details = details or {}
    text = " ".join(t for t in texts if t)
    for key in ("InstanceType", "InstanceSeries", "x_InstanceType"):
        value = details.get(key)
        if isinstance(value, str):
            text += " " + value
    count = _int(details.get("GpuCount"))
    match = _AWS_RE.search(text)
    if match:
        family, size = match.group(1).lower(), match.group(2).lower()
        gpu_type, default, sizes = _AWS[family]
        return GpuInfo(gpu_type, count or sizes.get(size, default))
    match = _GCP_RE.search(text)
    if match:
        family, flavor, number = match.group(1).lower(), match.group(2).lower(), int(match.group(3))
        gpu_type = _GCP_TYPES.get(f"{family}-{flavor}", _GCP_TYPES[family])
        guess = _G2_COUNTS.get(number, 1) if family == "g2" else number
        return GpuInfo(gpu_type, count or guess)
    named = _NAMES_RE.search(text)
    gpu_type = named.group(1) if named else None
    if _AZURE_RE.search(text) or _AZURE_SIZE_RE.search(text) or _GCP_SKU_RE.search(text):
        return GpuInfo(gpu_type, count)
    if _STRONG_RE.search(text) or count:
        return GpuInfo(gpu_type, count)
    return None


def gpu_seconds(info: GpuInfo, quantity: Decimal | None, unit: str | None) -> Decimal | None:
    """GPU-seconds of a line: instance hours x 3600 x GPUs per instance (or GPU-hours x 3600)."""
    if quantity is None or not unit:
        return None
    unit = unit.strip().lower()
    if "gpu" in unit and "hour" in unit:
        return quantity * 3600
    if unit in ("hours", "hour", "hrs", "hr", "instance-hours", "instance hours"):
        return quantity * 3600 * info.gpu_count if info.gpu_count else None
    return None


def _int(value: object) -> int | None:
    try:
        number = int(str(value)) if value is not None else None
    except ValueError:
        return None
    return number if number and number > 0 else None

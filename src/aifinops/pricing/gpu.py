"""GPU names: turn what telemetry and bills call a GPU into the catalog's GPU type.

DCGM reports ``NVIDIA H100 80GB HBM3``, nvidia-smi ``NVIDIA A100-SXM4-40GB``, bills ``p4d.24xlarge``; the catalog
keys GPU prices by a short type (``H100``, ``H200``, ``A100-40GB``, ``A100-80GB``, ``L40S``, ``L4``, ``A10G`` ...).
An A100 whose memory is not given stays ``A100`` (the 40GB and 80GB cards are priced differently, so it is not
guessed); user prices may still define a plain ``A100``.
"""

from __future__ import annotations

import re

__all__ = ["normalize_gpu_type", "GPU_TYPES"]

#: GPU types the shipped catalog knows (user prices may add any other).
GPU_TYPES = ("B200", "H200", "H100", "A100-80GB", "A100-40GB", "L40S", "L4", "A10G", "A10", "T4", "V100")

_FAMILY = re.compile(r"(GB200|B200|B100|H200|H100|H800|A100|A800|L40S|L40|L4|A10G|A10|T4|V100|MI300X|MI325X)")
_MEMORY = re.compile(r"(\d{2,3})\s*G(?:B|IB)?\b")


def normalize_gpu_type(name: str | None) -> str | None:
    """The catalog's GPU type for a GPU name, or the name upper-cased when no known family is in it."""
    if not name:
        return None
    text = name.strip().upper().replace("_", " ")
    match = _FAMILY.search(text.replace("-", " ").replace("NVIDIA", " "))
    if not match:
        return text
    family = match.group(1)
    if family == "A100":
        memory = _MEMORY.search(text.replace("-", " "))
        if memory and memory.group(1) in ("40", "80"):
            return f"A100-{memory.group(1)}GB"
    return family

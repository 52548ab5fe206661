"""The built-in NVML collector (``nvidia-ml-py``, module ``pynvml``): this machine's GPUs as samples.

The one module of :mod:`aifinops.gpu` that does I/O. Where there is no NVIDIA GPU or driver, :func:`collect`
raises :class:`~aifinops.core.errors.InputError` saying so, instead of an NVML traceback.
"""

from __future__ import annotations

import socket
import time
from typing import Any

from aifinops.core.errors import InputError
from aifinops.core.timeutil import utcnow
from aifinops.gpu.samples import GpuSample
from aifinops.pricing.gpu import normalize_gpu_type

__all__ = ["collect", "NO_GPU"]

NO_GPU = "no NVIDIA GPU/driver found"


def _nvml() -> Any:
    try:
        import pynvml
    except ImportError:
        raise InputError(
            f"{NO_GPU}: the nvidia-ml-py package is not installed (pip install nvidia-ml-py)"
        ) from None
    try:
        pynvml.nvmlInit()
    except Exception as exc:  # NVMLError_LibraryNotFound, _DriverNotLoaded, ...: all mean no usable GPU
        raise InputError(f"{NO_GPU} on this machine (NVML: {exc})") from None
    return pynvml


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _read(nvml: Any, index: int, host: str, interval: float) -> GpuSample:
    handle = nvml.nvmlDeviceGetHandleByIndex(index)
    name = _text(nvml.nvmlDeviceGetName(handle))
    util = mem = power = used = None
    try:
        rates = nvml.nvmlDeviceGetUtilizationRates(handle)
        util, mem = rates.gpu / 100, rates.memory / 100
    except nvml.NVMLError:
        pass
    try:
        power = nvml.nvmlDeviceGetPowerUsage(handle) / 1000  # mW
    except nvml.NVMLError:
        pass
    try:
        used = nvml.nvmlDeviceGetMemoryInfo(handle).used / (1 << 20)  # bytes -> MiB
    except nvml.NVMLError:
        pass
    return GpuSample(
        source="nvml",
        ts=utcnow(),
        seconds=interval,
        host=host,
        gpu_index=index,
        gpu_uuid=_text(nvml.nvmlDeviceGetUUID(handle)),
        gpu_model=name,
        gpu_type=normalize_gpu_type(name),
        util=util,
        mem_util=mem,
        fb_used_mib=used,
        power_w=power,
    )


def collect(*, count: int = 1, interval: float = 10.0, host: str | None = None) -> list[GpuSample]:
    """``count`` readings of every GPU, ``interval`` seconds apart (each stands for ``interval`` seconds)."""
    nvml = _nvml()
    host = host or socket.gethostname()
    samples: list[GpuSample] = []
    try:
        devices = nvml.nvmlDeviceGetCount()
        if devices == 0:
            raise InputError(f"{NO_GPU}: NVML sees 0 GPUs")
        for i in range(count):
            if i:
                time.sleep(interval)
            samples.extend(_read(nvml, index, host, interval) for index in range(devices))
    finally:
        nvml.nvmlShutdown()
    return samples

"""DCGM exporter metrics (Prometheus text exposition, as ``curl :9400/metrics`` prints it) to GPU samples.

One sample per GPU (per MIG instance, per pod on a shared GPU) per scrape, from the series' labels
(REFERENCE.md §5.1): ``gpu``, ``UUID`` (or ``uuid``), ``modelName``, ``Hostname`` (or ``hostname``),
``GPU_I_PROFILE``/``GPU_I_ID`` (MIG), ``pod``/``namespace``/``container`` (or the legacy ``pod_name``,
``pod_namespace``, ``container_name``), ``hpc_job``. Utilization is ``DCGM_FI_PROF_GR_ENGINE_ACTIVE``
(0-1, also reported on MIG instances) when present, else ``DCGM_FI_DEV_GPU_UTIL`` / 100.

The time of a sample is the series' own timestamp (milliseconds) when the exposition has one, else
``at`` (the scrape time; default the file's modification time); it stands for ``interval`` seconds.
Lines of other metrics are skipped; a line that is not valid exposition text is a row error.
"""

from __future__ import annotations

import re
from collections.abc import Generator, Iterable
from datetime import UTC, datetime
from pathlib import Path

from aifinops.core.errors import InputError, RowError
from aifinops.gpu.samples import GpuSample, split_shared
from aifinops.ingest._common import ReadSummary, open_text, row_error
from aifinops.pricing.gpu import normalize_gpu_type

__all__ = ["read_dcgm", "read_exposition", "parse_exposition"]

_LINE = re.compile(
    r"^(?P<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(?P<labels>.*)\})?\s+(?P<value>\S+)(?:\s+(?P<ts>-?\d+))?\s*$"
)
_LABEL = re.compile(r'\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*=\s*"((?:[^"\\]|\\.)*)"\s*(,|$)')
_UNESCAPE = {"\\\\": "\\", '\\"': '"', "\\n": "\n"}
_FIELDS = {
    "DCGM_FI_DEV_GPU_UTIL": "gpu_util",
    "DCGM_FI_PROF_GR_ENGINE_ACTIVE": "gr_active",
    "DCGM_FI_DEV_MEM_COPY_UTIL": "mem_util",
    "DCGM_FI_DEV_FB_USED": "fb_used",
    "DCGM_FI_DEV_POWER_USAGE": "power",
}


def _labels(text: str) -> dict[str, str]:
    labels: dict[str, str] = {}
    pos = 0
    text = text.strip()
    while pos < len(text):
        match = _LABEL.match(text, pos)
        if not match:
            raise ValueError(f"malformed labels near {text[pos : pos + 30]!r}")
        value = re.sub(r"\\[\\\"n]", lambda m: _UNESCAPE[m.group(0)], match.group(2))
        labels[match.group(1)] = value
        pos = match.end()
    return labels


def parse_exposition(
    lines: Iterable[str],
) -> Generator[tuple[int, str, dict[str, str], float, int | None] | RowError, None, None]:
    """``(line, metric, labels, value, timestamp_ms)`` per sample line; a ``RowError`` per bad line."""
    for number, raw in enumerate(lines, start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        match = _LINE.match(line)
        if not match:
            yield row_error(number, "not a Prometheus exposition line", raw=line)
            continue
        try:
            labels = _labels(match.group("labels") or "")
            value = float(match.group("value"))
        except ValueError as exc:
            yield row_error(number, str(exc), raw=line)
            continue
        ts = int(match.group("ts")) if match.group("ts") else None
        yield number, match.group("name"), labels, value, ts


def _first(labels: dict[str, str], *names: str) -> str | None:
    for name in names:
        value = labels.get(name)
        if value:
            return value
    return None


def read_dcgm(
    path: Path, *, at: datetime | None = None, interval: float = 60.0
) -> Generator[GpuSample | RowError, None, ReadSummary]:
    """Samples of one DCGM exporter scrape saved to a file (or several, when the series carry timestamps)."""
    default_at = at or datetime.fromtimestamp(Path(path).stat().st_mtime, UTC)
    with open_text(path) as handle:
        try:
            return (yield from read_exposition(handle, at=default_at, interval=interval, where=str(path)))
        except UnicodeDecodeError as exc:
            raise InputError(
                f"{path}: not UTF-8 text ({exc.reason}); expected DCGM exporter metrics"
            ) from None


def read_exposition(
    lines: Iterable[str], *, at: datetime, interval: float, where: str = "metrics"
) -> Generator[GpuSample | RowError, None, ReadSummary]:
    """Samples from exposition text lines (a file or a scrape's body); ``at`` is the scrape time."""
    if interval <= 0:
        raise InputError("interval must be positive")
    summary = ReadSummary()
    series: dict[tuple[str | None, ...], dict[str, object]] = {}
    seen_dcgm = False
    for item in parse_exposition(lines):
        summary.rows += 1
        if isinstance(item, RowError):
            yield item
            continue
        number, name, labels, value, ts_ms = item
        if not name.startswith("DCGM_FI_"):
            summary.skipped += 1
            continue
        seen_dcgm = True
        field = _FIELDS.get(name)
        if field is None:  # a DCGM field we do not use (clocks, temperatures, health)
            summary.skipped += 1
            continue
        host = _first(labels, "Hostname", "hostname")
        gpu = _first(labels, "gpu")
        uuid = _first(labels, "UUID", "uuid")
        if not host or (gpu is None and uuid is None):
            yield row_error(number, f"{name}: needs a Hostname and a gpu or UUID label", raw=labels)
            continue
        when = datetime.fromtimestamp(ts_ms / 1000, UTC) if ts_ms is not None else at
        key = (
            host,
            uuid or gpu,
            _first(labels, "GPU_I_ID"),
            _first(labels, "namespace", "pod_namespace"),
            _first(labels, "pod", "pod_name"),
            _first(labels, "container", "container_name"),
            when.isoformat(),
        )
        entry = series.setdefault(key, {"labels": labels, "when": when})
        if field in entry:
            yield row_error(number, f"{name}: the same series appears twice without timestamps", raw=labels)
            continue
        entry[field] = value
    if not seen_dcgm:
        raise InputError(f"{where}: no DCGM_FI_* metrics found; expected dcgm-exporter output (/metrics)")
    yield from split_shared([_sample(entry, interval) for entry in series.values()])
    return summary


def _sample(entry: dict[str, object], interval: float) -> GpuSample:
    labels: dict[str, str] = entry["labels"]  # type: ignore[assignment]
    gr, util = entry.get("gr_active"), entry.get("gpu_util")
    utilization = float(gr) if gr is not None else (float(util) / 100 if util is not None else None)  # type: ignore[arg-type]
    mem = entry.get("mem_util")
    gpu = _first(labels, "gpu")
    model = _first(labels, "modelName")
    return GpuSample(
        source="dcgm",
        ts=entry["when"],  # type: ignore[arg-type]
        seconds=interval,
        host=_first(labels, "Hostname", "hostname") or "",
        gpu_index=int(gpu) if gpu is not None and gpu.isdigit() else None,
        gpu_uuid=_first(labels, "UUID", "uuid"),
        gpu_model=model,
        gpu_type=normalize_gpu_type(model),
        mig_profile=_first(labels, "GPU_I_PROFILE"),
        mig_instance=_first(labels, "GPU_I_ID"),
        util=None if utilization is None else min(max(utilization, 0.0), 1.0),
        mem_util=float(mem) / 100 if mem is not None else None,  # type: ignore[arg-type]
        fb_used_mib=entry.get("fb_used"),  # type: ignore[arg-type]
        power_w=entry.get("power"),  # type: ignore[arg-type]
        namespace=_first(labels, "namespace", "pod_namespace"),
        pod=_first(labels, "pod", "pod_name"),
        container=_first(labels, "container", "container_name"),
        job=_first(labels, "hpc_job"),
    )

"""``nvidia-smi --query-gpu=... --format=csv`` output to GPU samples (REFERENCE.md §5.2).

The header names the fields and keeps ``[unit]`` suffixes (``utilization.gpu [%]``); values carry a leading
space and a unit (``87 %``) unless ``nounits``; ``[N/A]`` / ``[Not Supported]`` mean not measured. The
``timestamp`` (``YYYY/MM/DD HH:MM:SS.mmm``) is the machine's local time: give its zone with ``tz``. The CSV
does not name the host: give ``host``. Needed fields: ``timestamp`` and ``index`` or ``uuid``; used when
present: ``name``, ``utilization.gpu``, ``utilization.memory``, ``memory.used``, ``power.draw``.

A sample lasts until the same GPU's next row (``-l SEC`` loops); a GPU's last row lasts as long as its usual
gap (or ``interval`` when it has a single row); a gap longer than 5 usual gaps (the logger stopped) is cut.
"""

from __future__ import annotations

import csv
import statistics
from collections import defaultdict
from collections.abc import Generator
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from aifinops.core.errors import InputError, RowError
from aifinops.gpu.samples import GpuSample
from aifinops.ingest._common import ReadSummary, open_text, row_error
from aifinops.pricing.gpu import normalize_gpu_type

__all__ = ["read_nvidia_smi"]

_NA = ("[N/A]", "[Not Supported]", "N/A", "[Unknown Error]", "")
_POWER = ("power.draw", "power.draw.instant", "power.draw.average")


def _name(header: str) -> str:
    return header.split("[", 1)[0].strip().lower()


def _number(value: str | None, field: str) -> float | None:
    if value is None:
        return None
    text = value.strip()
    if text in _NA:
        return None
    for unit in ("MiB", "W", "%", "MHz", "C"):
        if text.endswith(unit):
            text = text[: -len(unit)].strip()
            break
    try:
        return float(text)
    except ValueError:
        raise ValueError(f"{field}: {value.strip()!r} is not a number") from None


def read_nvidia_smi(
    path: Path, *, host: str | None = None, tz: str = "UTC", interval: float = 60.0
) -> Generator[GpuSample | RowError, None, ReadSummary]:
    """Samples of an nvidia-smi CSV log (one row per GPU per query)."""
    if not host:
        raise InputError("nvidia-smi output does not name its host: give one (--host)")
    try:
        zone = ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        raise InputError(f"tz: {tz!r} is not a time zone name (e.g. UTC, Europe/Paris)") from None
    summary = ReadSummary()
    rows: dict[str, list[GpuSample]] = defaultdict(list)
    with open_text(path) as handle:
        reader = csv.reader(handle, skipinitialspace=True)
        try:
            header = next(reader, None)
        except (csv.Error, UnicodeDecodeError) as exc:
            raise InputError(f"{path}: not a CSV file ({exc})") from None
        if not header:
            raise InputError(f"{path}: the file is empty, expected nvidia-smi --format=csv output")
        names = [_name(h) for h in header]
        if "timestamp" not in names or not ({"index", "uuid"} & set(names)):
            raise InputError(
                f"{path}: not nvidia-smi CSV with a header: run nvidia-smi "
                "--query-gpu=timestamp,index,uuid,name,utilization.gpu,... --format=csv (without noheader)"
            )
        try:
            for number, values in enumerate(reader, start=2):
                if not values or all(not v.strip() for v in values):
                    continue
                summary.rows += 1
                if len(values) != len(names):
                    yield row_error(number, f"expected {len(names)} fields, found {len(values)}", raw=values)
                    continue
                row = dict(zip(names, values, strict=True))
                try:
                    sample = _sample(row, host, zone, interval)
                except ValueError as exc:
                    yield row_error(number, str(exc), raw=values)
                    continue
                rows[sample.gpu_key].append(sample)
        except (csv.Error, UnicodeDecodeError) as exc:
            raise InputError(f"{path}: unreadable CSV ({exc})") from None
    for samples in rows.values():
        samples.sort(key=lambda s: s.ts)
        gaps = [(b.ts - a.ts).total_seconds() for a, b in zip(samples, samples[1:], strict=False)]
        gaps = [g for g in gaps if g > 0]
        usual = statistics.median(gaps) if gaps else interval
        for i, s in enumerate(samples):
            gap = (samples[i + 1].ts - s.ts).total_seconds() if i + 1 < len(samples) else usual
            s.seconds = usual if gap <= 0 or gap > 5 * usual else gap
            yield s
    return summary


def _sample(row: dict[str, str], host: str, zone: ZoneInfo, interval: float) -> GpuSample:
    stamp = row["timestamp"].strip()
    try:
        ts = datetime.strptime(stamp, "%Y/%m/%d %H:%M:%S.%f")
    except ValueError:
        try:
            ts = datetime.strptime(stamp, "%Y/%m/%d %H:%M:%S")
        except ValueError:
            raise ValueError(f"timestamp: {stamp!r} is not YYYY/MM/DD HH:MM:SS.mmm") from None
    index = row.get("index", "").strip()
    if index and not index.isdigit():
        raise ValueError(f"index: {index!r} is not a GPU index")
    util = _number(row.get("utilization.gpu"), "utilization.gpu")
    mem = _number(row.get("utilization.memory"), "utilization.memory")
    power = next((_number(row[k], k) for k in _POWER if k in row and row[k].strip() not in _NA), None)
    uuid = row.get("uuid", "").strip() or None
    name = row.get("name", "").strip() or None
    return GpuSample(
        source="nvidia-smi",
        ts=ts.replace(tzinfo=zone).astimezone(ZoneInfo("UTC")),
        seconds=interval,
        host=host,
        gpu_index=int(index) if index else None,
        gpu_uuid=uuid,
        gpu_model=name,
        gpu_type=normalize_gpu_type(name),
        util=None if util is None else min(max(util / 100, 0.0), 1.0),
        mem_util=None if mem is None else mem / 100,
        fb_used_mib=_number(row.get("memory.used"), "memory.used"),
        power_w=power,
    )

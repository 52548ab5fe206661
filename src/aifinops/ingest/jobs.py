"""Training job records (CSV, JSON array or JSON lines) to :class:`JobRun` rows.

Fields (aliases in brackets): ``name`` [job, job_name], ``run_id`` (default: name + start), ``team``,
``project``, ``start`` [started_at, start_time], ``end`` [ended_at, end_time], ``gpu_type`` [gpu],
``gpu_count`` [gpus, count], ``provider``, ``instance_type``, ``pricing_mode`` (on_demand, reserved, spot),
``region``, ``environment``, ``estimate_id`` (links the run to an approved estimate), and optionally
``params`` and ``tokens`` (for the run's achieved MFU). A run needs a name, start < end, a GPU count and a
GPU type or an instance type.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Generator, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from aifinops.core.errors import InputError, RowError
from aifinops.ingest._common import ReadSummary, is_null, open_text, parse_count, parse_time, row_error

__all__ = ["JobRun", "read_jobs", "parse_job"]

_MODES = ("on_demand", "reserved", "spot")
_ALIASES = {
    "name": ("name", "job", "job_name"),
    "start": ("start", "started_at", "start_time"),
    "end": ("end", "ended_at", "end_time"),
    "gpu_type": ("gpu_type", "gpu"),
    "gpu_count": ("gpu_count", "gpus", "count"),
}


@dataclass(slots=True)
class JobRun:
    """One training run as a job record describes it."""

    run_id: str
    name: str
    start: datetime
    end: datetime
    gpu_count: int
    gpu_type: str | None = None
    instance_type: str | None = None
    provider: str | None = None
    pricing_mode: str = "on_demand"
    team: str | None = None
    project: str | None = None
    region: str | None = None
    environment: str | None = None
    estimate_id: str | None = None
    params: float | None = None
    tokens: float | None = None


def _get(row: Mapping[str, Any], key: str) -> Any:
    for name in _ALIASES.get(key, (key,)):
        value = row.get(name)
        if not is_null(value):
            return value.strip() if isinstance(value, str) else value
    return None


def _float(value: Any, field: str) -> float | None:
    if value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{field}: {value!r} is not a number") from None
    if not number > 0:
        raise ValueError(f"{field}: must be positive")
    return number


def parse_job(row: Mapping[str, Any]) -> JobRun:
    """A :class:`JobRun` from one record; ``ValueError`` names the field that is wrong."""
    if not isinstance(row, Mapping):
        raise ValueError(f"expected an object, found {type(row).__name__}")
    name = _get(row, "name")
    if not name:
        raise ValueError("name: missing (the job's name)")
    for key in ("start", "end", "gpu_count"):
        if _get(row, key) is None:
            raise ValueError(f"{key}: missing")
    start = parse_time(_get(row, "start"), "start")
    end = parse_time(_get(row, "end"), "end")
    if end <= start:
        raise ValueError("end: must be after start")
    count = parse_count(_get(row, "gpu_count"), "gpu_count")
    if count < 1:
        raise ValueError("gpu_count: must be at least 1")
    gpu_type, instance = _get(row, "gpu_type"), _get(row, "instance_type")
    if not gpu_type and not instance:
        raise ValueError("gpu_type: missing (give gpu_type or instance_type)")
    mode = str(_get(row, "pricing_mode") or "on_demand").lower().replace("-", "_")
    if mode not in _MODES:
        raise ValueError(f"pricing_mode: {mode!r} is not one of {', '.join(_MODES)}")
    text = {k: (str(v) if (v := _get(row, k)) is not None else None) for k in ("team", "project", "provider")}
    return JobRun(
        run_id=str(_get(row, "run_id") or f"{name}-{start:%Y%m%dT%H%M%SZ}"),
        name=str(name),
        start=start,
        end=end,
        gpu_count=count,
        gpu_type=str(gpu_type) if gpu_type else None,
        instance_type=str(instance) if instance else None,
        provider=text["provider"],
        pricing_mode=mode,
        team=text["team"],
        project=text["project"],
        region=_get(row, "region"),
        environment=_get(row, "environment"),
        estimate_id=_get(row, "estimate_id"),
        params=_float(_get(row, "params"), "params"),
        tokens=_float(_get(row, "tokens"), "tokens"),
    )


def read_jobs(path: Path) -> Generator[JobRun | RowError, None, ReadSummary]:
    """Job runs of a CSV file (by suffix or content) or a JSON array / JSON lines file."""
    summary = ReadSummary()
    with open_text(path) as handle:
        try:
            text = handle.read()
        except UnicodeDecodeError as exc:
            raise InputError(f"{path}: not UTF-8 text ({exc.reason}); expected job records") from None
    stripped = text.lstrip()
    if not stripped:
        raise InputError(f"{path}: the file is empty, expected job records (CSV or JSON)")
    items: list[tuple[int, Any]] = []
    if stripped[0] in "[{":
        try:
            value = json.loads(text)
            items = [(1, v) for v in (value if isinstance(value, list) else [value])]
        except ValueError:
            for number, line in enumerate(text.splitlines(), start=1):
                if line.strip():
                    try:
                        items.append((number, json.loads(line)))
                    except ValueError as exc:
                        items.append((number, RowError(number, f"malformed JSON: {exc}")))
    else:
        reader = csv.DictReader(text.splitlines())
        if not reader.fieldnames or not (
            {"name", "job", "job_name"} & {f.strip() for f in reader.fieldnames}
        ):
            raise InputError(
                f"{path}: not job records: a CSV needs a header with name (or job), start, end, ..."
            )
        items = [(i + 2, {k.strip(): v for k, v in row.items() if k}) for i, row in enumerate(reader)]
    for number, item in items:
        summary.rows += 1
        if isinstance(item, RowError):
            yield row_error(number, item.reason)
            continue
        try:
            yield parse_job(item)
        except ValueError as exc:
            yield row_error(number, str(exc), raw=item)
    return summary

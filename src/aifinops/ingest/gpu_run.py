"""Driving the GPU readers (``dcgm``, ``nvidia-smi``, ``jobs``): their rows are not usage records.

:func:`drain` runs one reader over one file, collects the good items, counts and lists the bad rows (and
writes them to a reject file) in the same :class:`~aifinops.ingest.base.ImportReport` the other sources use.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Generator
from pathlib import Path
from typing import Any

from aifinops.core.errors import InputError, RowError
from aifinops.ingest._common import ReadSummary
from aifinops.ingest.base import MAX_REPORTED_ERRORS, ImportReport
from aifinops.ingest.gpu_dcgm import read_dcgm
from aifinops.ingest.gpu_smi import read_nvidia_smi
from aifinops.ingest.jobs import read_jobs

__all__ = ["GPU_SOURCES", "drain"]

#: ``aifinops ingest`` sources handled by the gpu area.
GPU_SOURCES: dict[str, Callable[..., Generator[Any, None, ReadSummary]]] = {
    "dcgm": read_dcgm,
    "nvidia-smi": read_nvidia_smi,
    "jobs": read_jobs,
}


def drain(
    source: str, paths: list[Path], *, reject_path: Path | None = None, **options: Any
) -> tuple[list[Any], ImportReport]:
    """All good items of ``paths`` and the import report (``accepted`` rows, ``rejected`` with reasons)."""
    reader = GPU_SOURCES.get(source)
    if reader is None:
        raise InputError(f"unknown GPU source {source!r}; expected one of: {', '.join(GPU_SOURCES)}")
    report = ImportReport(source=source, files=[str(p) for p in paths])
    items: list[Any] = []
    rejects: list[dict[str, Any]] = []
    for path in paths:
        if not Path(path).is_file():
            raise InputError(f"{path}: no such file")
        generator = reader(Path(path), **options)
        while True:
            try:
                item = next(generator)
            except StopIteration as stop:
                summary = stop.value if isinstance(stop.value, ReadSummary) else ReadSummary()
                break
            except InputError as exc:
                message = exc.message if str(path) in exc.message else f"{path}: {exc.message}"
                raise InputError(message, details=exc.details) from None
            if isinstance(item, RowError):
                entry = {"file": str(path), "line": item.line, "reason": item.reason}
                if len(report.errors) < MAX_REPORTED_ERRORS:
                    report.errors.append(dict(entry))
                rejects.append({**entry, "raw": getattr(item, "raw", None)})
                report.rejected += 1
            else:
                items.append(item)
        report.rows_read += summary.rows
        report.skipped += summary.skipped
    report.records = len(items)
    report.accepted = report.rows_read - report.rejected - report.skipped
    if reject_path is not None and rejects:
        Path(reject_path).parent.mkdir(parents=True, exist_ok=True)
        with open(reject_path, "w", encoding="utf-8") as handle:
            for entry in rejects:
                handle.write(json.dumps(entry, default=str, ensure_ascii=False) + "\n")
        report.reject_path = str(reject_path)
    return items, report

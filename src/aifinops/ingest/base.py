"""Running an import: stream a source's records to a sink in batches, collect rejects, report.

A *reader* (one per source, see :data:`aifinops.ingest.SOURCES`) is a generator
``read(path) -> Iterator[UsageRecord | RowError]``: it yields a record for every good row and a
:class:`~aifinops.core.errors.RowError` for every bad one, and raises
:class:`~aifinops.core.errors.InputError` when the file is not its format at all. When it finishes
it may return a :class:`ReadSummary` (rows read, rows skipped on purpose).

:func:`run_import` drives one reader over several files::

    report = run_import("openai-usage", [Path("usage.json")], ledger_sink, reject_path=Path("rej.jsonl"))
    print(report.to_dict())
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import ExitStack
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import IO, Any

from aifinops.core.errors import InputError, RowError
from aifinops.core.records import UsageRecord
from aifinops.ingest._common import METER, ByteMeter, ReadSummary

__all__ = ["ImportReport", "ReadSummary", "Reader", "Sink", "run_import", "MAX_REPORTED_ERRORS"]

Reader = Callable[..., Iterator[UsageRecord | RowError]]
Sink = Callable[[list[UsageRecord]], None]

#: The report lists at most this many errors; all of them go to the reject file.
MAX_REPORTED_ERRORS = 1000
#: Below this total size no progress bar is shown, even with ``progress=True``.
PROGRESS_MIN_BYTES = 8 << 20
_PROGRESS_EVERY = 4096


@dataclass(slots=True)
class ImportReport:
    """The outcome of one import. ``rows_read == accepted + rejected + skipped``."""

    source: str
    files: list[str] = field(default_factory=list)
    rows_read: int = 0
    accepted: int = 0  # rows that became records
    rejected: int = 0  # rows with an error (see ``errors`` and the reject file)
    skipped: int = 0  # rows deliberately not imported (e.g. non-AI lines of a cloud bill)
    records: int = 0  # records sent to the sink (a row may give several)
    batches: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)  # first MAX_REPORTED_ERRORS
    reject_path: str | None = None
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        """No row was rejected."""
        return self.rejected == 0

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (what ``aifinops ingest --json`` and the API return)."""
        data = asdict(self)
        data["errors_truncated"] = self.rejected > len(self.errors)
        data["seconds"] = round(self.seconds, 3)
        return data


def run_import(
    source: str,
    paths: list[Path],
    sink: Sink,
    *,
    batch_size: int = 50_000,
    reject_path: Path | None = None,
    progress: bool = False,
    options: Mapping[str, Any] | None = None,
) -> ImportReport:
    """Import ``paths`` with the reader registered as ``source``, handing records to ``sink``.

    Records reach ``sink`` in lists of at most ``batch_size``, as soon as each list is full, so
    memory stays constant whatever the file size. Each bad row is counted, listed in the report
    (the first :data:`MAX_REPORTED_ERRORS`) and written to ``reject_path`` as one JSON line
    ``{"file", "line", "reason", "raw"}``; the import goes on. A file that is not the source's
    format raises :class:`InputError` naming the file.

    **Atomicity is the sink's job**: this function may already have called ``sink`` several times
    when a later file fails. The caller makes the import all-or-nothing by wrapping every sink call
    in one ledger transaction and rolling it back on an exception. Record ids are deterministic, so
    re-running an import after fixing a file is safe (the ledger drops duplicates).

    ``options`` are passed to the reader as keyword arguments (e.g. ``{"all_lines": True}`` for
    ``focus``). ``progress=True`` shows a progress bar (by bytes read, on stderr) for inputs larger
    than :data:`PROGRESS_MIN_BYTES`.
    """
    from aifinops.ingest import SOURCES  # the registry imports this module

    if source not in SOURCES:
        raise InputError(f"unknown source {source!r}; expected one of: {', '.join(SOURCES)}")
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    reader = SOURCES[source]
    for path in paths:
        if not Path(path).is_file():
            raise InputError(f"{path}: no such file")
    report = ImportReport(source=source, files=[str(p) for p in paths])
    report.reject_path = str(reject_path) if reject_path is not None else None
    started = time.perf_counter()
    batcher = _Batcher(sink, batch_size, report)
    if reject_path is not None:
        Path(reject_path).parent.mkdir(parents=True, exist_ok=True)
    with ExitStack() as stack:
        rejects = stack.enter_context(open(reject_path, "w", encoding="utf-8")) if reject_path else None
        bar = stack.enter_context(_Progress(paths)) if progress else None
        for path in paths:
            path = Path(path)
            meter = ByteMeter()
            token = METER.set(meter)
            try:
                items = reader(path, **(options or {}))
                summary = _drain(items, path, report, batcher, rejects, bar, meter)
            except RowError as exc:  # a reader must yield row errors, not raise them
                raise InputError(f"{path}: {exc.message}") from exc
            except InputError as exc:
                message = exc.message if str(path) in exc.message else f"{path}: {exc.message}"
                raise InputError(message, details=exc.details) from exc
            finally:
                METER.reset(token)
            report.skipped += summary.skipped
            if bar is not None:
                bar.finish_file(path)
        batcher.flush()
    if reject_path is not None and not report.rejected:
        Path(reject_path).unlink(missing_ok=True)  # no bad rows: leave no empty reject file behind
        report.reject_path = None
    report.accepted = report.rows_read - report.rejected - report.skipped
    report.seconds = time.perf_counter() - started
    return report


class _Batcher:
    """Collects records and hands them to the sink in lists of ``size``."""

    def __init__(self, sink: Sink, size: int, report: ImportReport) -> None:
        self._sink = sink
        self._size = size
        self._report = report
        self._items: list[UsageRecord] = []

    def add(self, record: UsageRecord) -> None:
        self._items.append(record)
        if len(self._items) >= self._size:
            self.flush()

    def flush(self) -> None:
        if self._items:
            items, self._items = self._items, []
            self._sink(items)
            self._report.batches += 1


def _drain(
    items: Iterator[UsageRecord | RowError],
    path: Path,
    report: ImportReport,
    batcher: _Batcher,
    rejects: IO[str] | None,
    bar: _Progress | None,
    meter: ByteMeter,
) -> ReadSummary:
    """Consume one reader; returns its summary (or one counted here for plain iterators)."""
    seen = 0
    summary: ReadSummary | None = None
    iterator = iter(items)
    while True:
        try:
            item = next(iterator)
        except StopIteration as stop:
            summary = stop.value if isinstance(stop.value, ReadSummary) else None
            break
        seen += 1
        if isinstance(item, RowError):
            _reject(item, path, report, rejects)
        else:
            report.records += 1
            batcher.add(item)
        if bar is not None and seen % _PROGRESS_EVERY == 0:
            bar.update(path, meter.done)
    if summary is None:  # a plain iterator: every item is a row
        summary = ReadSummary(rows=seen)
    report.rows_read += summary.rows
    return summary


def _reject(error: RowError, path: Path, report: ImportReport, rejects: IO[str] | None) -> None:
    report.rejected += 1
    entry: dict[str, Any] = {"file": str(path), "line": error.line, "reason": error.reason}
    if len(report.errors) < MAX_REPORTED_ERRORS:
        report.errors.append(dict(entry))
    if rejects is not None:
        entry["raw"] = getattr(error, "raw", None)
        rejects.write(json.dumps(entry, default=str, ensure_ascii=False) + "\n")


class _Progress:
    """A rich progress bar over the total bytes of all files (stderr), shown for large inputs."""

    def __init__(self, paths: list[Path]) -> None:
        self._sizes = {str(p): Path(p).stat().st_size for p in paths}
        self._total = sum(self._sizes.values())
        self._base = 0
        self._bar: Any = None
        self._task: Any = None

    def __enter__(self) -> _Progress:
        if self._total >= PROGRESS_MIN_BYTES:
            from rich.console import Console
            from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn

            self._bar = Progress(
                TextColumn("[bold]importing[/bold] {task.description}"),
                BarColumn(),
                DownloadColumn(),
                TimeRemainingColumn(),
                console=Console(stderr=True),
                transient=True,
            )
            self._bar.__enter__()
            self._task = self._bar.add_task("", total=self._total)
        return self

    def update(self, path: Path, done: int) -> None:
        if self._bar is not None:
            done = min(done, self._sizes[str(path)])
            self._bar.update(self._task, completed=self._base + done, description=path.name)

    def finish_file(self, path: Path) -> None:
        self._base += self._sizes[str(path)]
        if self._bar is not None:
            self._bar.update(self._task, completed=self._base)

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.__exit__(None, None, None)

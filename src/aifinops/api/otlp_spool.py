"""Durable write-behind for OTLP exports: answer once the export is safe on disk, store it in big batches.

A DuckDB append has a large fixed cost (milliseconds), so storing each 500-span export in its own
transaction caps ingestion well below what decoding, normalizing and pricing allow. The receiver instead
hands each export's priced rows (Arrow tables) to the :class:`Spool`, which writes them to an Arrow IPC
file under ``<data-dir>/otlp-spool/`` (fsync optional) and queues them; the export is answered then. A
flusher thread stores everything queued in one ledger transaction and deletes the files. After a crash, the
files left behind are stored when the next process starts; appends are idempotent (record ids, span ids), so
a file stored twice changes nothing. The flusher waits up to ``linger`` seconds for more rows before a write
(bigger batches cost less per row), so reports see an export a fraction of a second after its answer.

If the ledger cannot write, the flusher keeps the files and retries; once ``max_pending_rows`` are queued
:meth:`Spool.put` refuses (the receiver answers 503, and exporters retry later). Without a directory (an
in-memory ledger) nothing is written to disk.
"""

from __future__ import annotations

import itertools
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa

from aifinops.core.errors import StorageError

__all__ = ["Spool"]

_SUFFIXES = (".records.arrow", ".spans.arrow")


@dataclass(slots=True)
class _Item:
    records: pa.Table
    spans: pa.Table
    paths: list[Path] = field(default_factory=list)

    @property
    def rows(self) -> int:
        return self.records.num_rows + self.spans.num_rows


class Spool:
    """Write-behind queue of (records, spans) Arrow tables in front of ``store(records_tables, spans_tables)``."""

    def __init__(
        self,
        directory: Path | None,
        store: Callable[[list[pa.Table], list[pa.Table]], Any],
        empty: tuple[pa.Table, pa.Table],
        *,
        fsync: bool = False,
        linger: float = 0.25,
        max_batch_rows: int = 200_000,
        max_pending_rows: int = 2_000_000,
    ) -> None:
        self.directory = directory
        self.store = store
        self.fsync = fsync
        self.linger = linger
        self.max_batch_rows = max_batch_rows
        self.max_pending_rows = max_pending_rows
        self.last_error: str | None = None
        self._empty = empty
        self._seq = itertools.count()
        self._prefix = f"{time.time_ns():020d}-{os.getpid()}"
        self._cv = threading.Condition()
        self._pending: list[_Item] = []
        self._pending_rows = 0
        self._busy = False
        self._stopping = False
        self._flushers = 0  # threads waiting in flush(): the flusher does not linger for them
        if directory is not None:
            directory.mkdir(parents=True, exist_ok=True)
            self._recover()
        self._thread = threading.Thread(target=self._run, name="aifinops-otlp-spool", daemon=True)
        self._thread.start()

    # -- producers ------------------------------------------------------------------------------
    def put(self, records: pa.Table, spans: pa.Table) -> None:
        """Queue one export (durably, when there is a directory); raises StorageError when the queue is full."""
        with self._cv:
            if self._pending_rows >= self.max_pending_rows:
                raise StorageError(
                    f"the OTLP spool holds {self._pending_rows:,} rows the ledger has not taken yet"
                    + (f" (last error: {self.last_error})" if self.last_error else "")
                )
        item = _Item(records, spans)
        if self.directory is not None:
            stem = self.directory / f"{self._prefix}-{next(self._seq):010d}"
            for table, suffix in ((spans, _SUFFIXES[1]), (records, _SUFFIXES[0])):
                if table.num_rows:
                    item.paths.append(self._write(stem.with_name(stem.name + suffix), table))
        with self._cv:
            self._pending.append(item)
            self._pending_rows += item.rows
            self._cv.notify_all()

    def _write(self, path: Path, table: pa.Table) -> Path:
        tmp = path.with_name(path.name + ".tmp")
        try:
            with pa.OSFile(str(tmp), "wb") as sink, pa.ipc.new_file(sink, table.schema) as writer:
                writer.write_table(table)
            if self.fsync:
                fd = os.open(tmp, os.O_RDONLY)
                try:
                    os.fsync(fd)
                finally:
                    os.close(fd)
            os.replace(tmp, path)
        except OSError as exc:
            raise StorageError(f"cannot write the OTLP spool file {path}: {exc}") from None
        return path

    def flush(self, timeout: float = 30.0) -> bool:
        """Wait until everything queued is stored; False on timeout."""
        deadline = time.monotonic() + timeout
        with self._cv:
            self._flushers += 1
            self._cv.notify_all()
            try:
                while self._pending or self._busy:
                    left = deadline - time.monotonic()
                    if left <= 0:
                        return False
                    self._cv.wait(left)
            finally:
                self._flushers -= 1
        return True

    def close(self, timeout: float = 30.0) -> None:
        """Store what is queued (files stay for the next start if the ledger cannot write) and stop."""
        self.flush(timeout)
        with self._cv:
            self._stopping = True
            self._cv.notify_all()
        self._thread.join(timeout)

    # -- the flusher ----------------------------------------------------------------------------
    def _take(self) -> list[_Item] | None:
        with self._cv:
            while not self._pending and not self._stopping:
                self._cv.wait()
            if not self._pending:
                return None
            deadline = time.monotonic() + self.linger
            while self._pending_rows < self.max_batch_rows and not self._stopping and not self._flushers:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._cv.wait(left)
            batch, rows = [], 0
            while self._pending and (not batch or rows + self._pending[0].rows <= self.max_batch_rows):
                item = self._pending.pop(0)
                batch.append(item)
                rows += item.rows
            self._busy = True
            return batch

    def _run(self) -> None:
        while (batch := self._take()) is not None:
            try:
                self.store([i.records for i in batch], [i.spans for i in batch])
            except Exception as exc:  # noqa: BLE001 - keep the rows; retry until the ledger takes them
                self.last_error = f"{type(exc).__name__}: {exc}"
                with self._cv:
                    self._pending[:0] = batch
                    self._busy = False
                    self._cv.notify_all()
                    self._cv.wait(1.0)
                    if self._stopping:
                        return
                continue
            self.last_error = None
            for item in batch:
                for path in item.paths:
                    path.unlink(missing_ok=True)
            with self._cv:
                self._pending_rows -= sum(i.rows for i in batch)
                self._busy = False
                self._cv.notify_all()

    def _recover(self) -> None:
        """Queue the exports a previous process answered but did not store."""
        assert self.directory is not None
        for tmp in self.directory.glob("*.tmp"):
            tmp.unlink(missing_ok=True)  # never answered
        stems: dict[str, _Item] = {}
        for path in sorted(self.directory.iterdir()):
            suffix = next((s for s in _SUFFIXES if path.name.endswith(s)), None)
            if suffix is None:
                continue
            item = stems.setdefault(path.name[: -len(suffix)], _Item(*self._empty))
            try:
                with pa.OSFile(str(path), "rb") as source:
                    table = pa.ipc.open_file(source).read_all()
            except (OSError, pa.ArrowInvalid) as exc:
                raise StorageError(
                    f"unreadable OTLP spool file {path}: {exc}; move it away to start"
                ) from None
            if suffix == _SUFFIXES[0]:
                item.records = table
            else:
                item.spans = table
            item.paths.append(path)
        for item in stems.values():
            self._pending.append(item)
            self._pending_rows += item.rows

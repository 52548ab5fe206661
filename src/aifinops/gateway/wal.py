"""The gateway's write-ahead log: every metered request is on disk before its response completes.

Each gateway process appends JSON lines to its own segment file (``wal/<start_ns>-<pid>.wal``) with a
single ``os.write`` on an ``O_APPEND`` descriptor: a ``kill -9`` cannot lose a line the kernel accepted.
(``fsync=True`` also survives power loss, at a latency cost.) Entries:

- ``{"t": "r", "rec": {...}}``: a finished request's record;
- ``{"t": "b", "id": ..., "rec": {...}}``: a stream began (its 200 went out before usage was known).

The :class:`Shipper` moves records into the ledger in batches and keeps a checkpoint (offset plus the
streams still open) next to each segment. A stream whose process died before it ended becomes a record
with status ``interrupted``. Record ids are deterministic, so a replay after a crash between "appended"
and "checkpointed" is dropped by the ledger as a duplicate: nothing is lost, nothing is stored twice.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson

from aifinops.core.procs import pid_alive
from aifinops.core.records import UsageRecord
from aifinops.core.serde import dumps_record, record_from_dict

__all__ = ["WalWriter", "Shipper", "interrupted"]

_SEGMENT_BYTES = 16 * 1024 * 1024


class WalWriter:
    """Appends entries to this process's current segment."""

    def __init__(self, directory: Path, *, fsync: bool = False, segment_bytes: int = _SEGMENT_BYTES) -> None:
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)
        self.fsync = fsync
        self.segment_bytes = segment_bytes
        self._lock = threading.Lock()
        self._fd = -1
        self._size = 0
        self.closed = False
        self.path = self._open()

    def _open(self) -> Path:
        path = self.directory / f"{time.time_ns():020d}-{os.getpid()}.wal"
        self._fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        self._size = 0
        return path

    def _write(self, line: bytes) -> None:
        with self._lock:
            if self._size + len(line) > self.segment_bytes and self._size:
                os.close(self._fd)
                self.path = self._open()
            view = memoryview(line)
            while view:
                written = os.write(self._fd, view)
                view = view[written:]
            self._size += len(line)
            if self.fsync:
                os.fsync(self._fd)

    def record(self, record: UsageRecord) -> None:
        """A finished request."""
        self._write(b'{"t":"r","rec":' + dumps_record(record) + b"}\n")

    def begin(self, record: UsageRecord) -> None:
        """A stream whose response started before its usage is known."""
        self._write(
            b'{"t":"b","id":"' + record.record_id.encode() + b'","rec":' + dumps_record(record) + b"}\n"
        )

    def close(self) -> None:
        """Close the segment (the shipper still ships and removes it)."""
        with self._lock:
            if self._fd >= 0:
                os.close(self._fd)
                self._fd = -1
            self.closed = True


def interrupted(record: UsageRecord) -> UsageRecord:
    """The record of a stream whose gateway died before it ended: usage unknown, so unpriced, never $0."""
    record.status = "interrupted"
    record.error = "the gateway stopped before the stream ended; usage unknown"
    record.cost_status = "unpriced"
    record.list_cost = record.effective_cost = record.billed_cost = None
    return record


class Shipper:
    """Ships WAL segments into a sink (the ledger) in batches, from a background thread.

    Its state (an offset per segment, and the streams begun but not ended, with their process id) is one
    small JSON file, ``wal/state.json``, replaced atomically after each pass.
    """

    def __init__(
        self,
        directory: Path,
        sink: Callable[[list[UsageRecord]], Any],
        *,
        writer: WalWriter | None = None,
        interval: float = 0.2,
        batch: int = 5_000,
        chunk_bytes: int = 4 * 1024 * 1024,
    ) -> None:
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)
        self.chunk_bytes = chunk_bytes
        self.sink = sink
        self.writer = writer
        self.interval = interval
        self.batch = batch
        self.shipped = 0
        self.errors = 0
        self.last_error: str | None = None
        self._state_path = directory / "state.json"
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._ship_lock = threading.Lock()

    def _load_state(self) -> dict[str, Any]:
        with contextlib.suppress(ValueError, OSError):
            state = orjson.loads(self._state_path.read_bytes())
            if isinstance(state, dict):
                return state
        return {"offsets": {}, "open": {}}

    def _save_state(self, state: dict[str, Any]) -> None:
        tmp = self._state_path.with_suffix(".tmp")
        tmp.write_bytes(orjson.dumps(state))
        os.replace(tmp, self._state_path)

    def _active(self, segment: Path) -> bool:
        """Whether a process may still write to ``segment``."""
        if self.writer is not None and segment == self.writer.path and not self.writer.closed:
            return True
        pid = _segment_pid(segment)
        if pid == os.getpid():
            return False  # ours, rotated or closed
        return pid is not None and pid_alive(pid)

    # -- one pass -------------------------------------------------------------------------------
    def ship_once(self) -> int:
        """Ship everything written so far, a bounded chunk at a time; returns how many records went to the sink."""
        with self._ship_lock:
            total = 0
            while True:
                shipped, more = self._pass()
                total += shipped
                if not more:
                    break
            self.shipped += total
            return total

    def _pass(self) -> tuple[int, bool]:
        """Read at most ``chunk_bytes`` of each segment, ship it, checkpoint. ``more``: data is left to read."""
        state = self._load_state()
        offsets: dict[str, int] = state["offsets"]
        open_streams: dict[str, list[Any]] = state["open"]
        records: list[UsageRecord] = []
        finished: list[Path] = []
        more = False
        for segment in sorted(self.directory.glob("*.wal")):
            active = self._active(segment)
            offset = offsets.get(segment.name, 0)
            with open(segment, "rb") as fh:
                fh.seek(offset)
                data = fh.read(self.chunk_bytes)
            end = data.rfind(b"\n") + 1  # a trailing partial line is unfinished (or cut by a crash)
            pid = _segment_pid(segment)
            for line in data[:end].splitlines():
                self._entry(line, segment, pid, records, open_streams)
            offsets[segment.name] = offset + end
            if len(data) == self.chunk_bytes:
                more = True
                break  # keep WAL order: later segments wait until this one is read to its end
            if not active:
                finished.append(segment)
        if not more:  # every segment read to its end: streams of dead processes will never end
            live = {_segment_pid(s) for s in self.directory.glob("*.wal") if self._active(s)}
            for stream_id, (pid, rec) in list(open_streams.items()):
                if pid not in live and pid != os.getpid():
                    records.append(interrupted(record_from_dict(rec)))
                    del open_streams[stream_id]
        for start in range(0, len(records), self.batch):
            self.sink(records[start : start + self.batch])
        for segment in finished:
            segment.unlink(missing_ok=True)
            offsets.pop(segment.name, None)
        self._save_state(state)
        return len(records), more

    def _entry(
        self,
        line: bytes,
        segment: Path,
        pid: int | None,
        records: list[UsageRecord],
        open_streams: dict[str, list[Any]],
    ) -> None:
        if not line.strip():
            return
        try:
            entry = orjson.loads(line)
            if entry.get("t") == "b":
                open_streams[entry["id"]] = [pid, entry["rec"]]
            else:
                rec = entry["rec"]
                open_streams.pop(rec["record_id"], None)
                records.append(record_from_dict(rec))
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
            self.errors += 1
            self.last_error = f"{segment.name}: unreadable WAL line skipped ({exc})"

    # -- background -----------------------------------------------------------------------------
    def start(self) -> None:
        """Ship every ``interval`` seconds in a daemon thread."""
        self._thread = threading.Thread(target=self._run, name="aifinops-wal-shipper", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.ship_once()
            except Exception as exc:  # noqa: BLE001 - keep shipping; the WAL keeps the data
                self.errors += 1
                self.last_error = f"{type(exc).__name__}: {exc}"

    def stop(self) -> None:
        """Stop the thread and ship what is left."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        self.ship_once()


def _segment_pid(segment: Path) -> int | None:
    try:
        return int(segment.stem.rsplit("-", 1)[1])
    except (IndexError, ValueError):
        return None

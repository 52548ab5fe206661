"""The guardrail audit log: one JSON line per decision, appended with a single ``os.write``
(``<data-dir>/audit/audit-YYYY-MM-DD.jsonl``), readable through the API."""

from __future__ import annotations

import os
import threading
from collections import deque
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from aifinops.core.serde import dumps

__all__ = ["AuditLog"]


class AuditLog:
    """Append-only decision log, one file per UTC day; ``recent`` keeps the last entries in memory."""

    def __init__(self, directory: Path | None, *, keep: int = 1_000) -> None:
        self.directory = directory
        self._lock = threading.Lock()
        self._fd = -1
        self._day = ""
        self.recent: deque[dict[str, Any]] = deque(maxlen=keep)
        if directory is not None:
            directory.mkdir(parents=True, exist_ok=True)

    def write(self, entry: dict[str, Any]) -> None:
        """Record one decision."""
        now = datetime.now(UTC)
        entry = {"ts": now.isoformat().replace("+00:00", "Z"), **entry}
        self.recent.append(entry)
        if self.directory is None:
            return
        line = dumps(entry) + b"\n"
        with self._lock:
            day = now.strftime("%Y-%m-%d")
            if day != self._day:
                if self._fd >= 0:
                    os.close(self._fd)
                self._fd = os.open(
                    self.directory / f"audit-{day}.jsonl", os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600
                )
                self._day = day
            os.write(self._fd, line)

    def read(self, *, limit: int = 100, decision: str | None = None) -> list[dict[str, Any]]:
        """The newest entries first, from the files (or memory when there is no folder)."""
        if self.directory is None:
            rows = list(self.recent)
        else:
            rows = []
            for path in sorted(self.directory.glob("audit-*.jsonl"), reverse=True):
                lines = path.read_bytes().splitlines()
                rows = [orjson.loads(x) for x in lines if x.strip()] + rows
                if len(rows) >= limit * 4 and decision is None:
                    break
        if decision is not None:
            rows = [r for r in rows if r.get("decision") == decision]
        return list(reversed(rows))[:limit]

    def close(self) -> None:
        """Close the current file."""
        with self._lock:
            if self._fd >= 0:
                os.close(self._fd)
                self._fd = -1

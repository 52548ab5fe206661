"""Opt-in request embeddings (``value.keep_embeddings: true``): a bounded queue on the hot path, a thread off it.

The gateway hands :meth:`EmbedQueue.offer` the request body; it keeps the last user turn's text
(:func:`aifinops.value.embeddings.request_text`) with the record id in memory, never blocking: when the queue
is full the text is dropped and counted. :class:`Embedder`, a daemon thread in the server process, embeds
what is queued in batches on the CPU with the offline model (:func:`aifinops.recommend.semantic.load_encoder`)
and appends ``(record_id, time, model, feature, team, vector)`` rows to the ``embeddings`` ledger table. The
text itself is never stored nor logged. torch / sentence-transformers are imported here, lazily, only when
the thread loads the model: with the option off nothing of this runs.
"""

from __future__ import annotations

import sys
import threading
from collections import deque
from datetime import UTC, datetime
from typing import Any

from aifinops.core.records import make_record_id
from aifinops.value.embeddings import DIMENSIONS, request_text

__all__ = ["EmbedQueue", "Embedder"]


class EmbedQueue:
    """A bounded in-memory queue of ``(record_id, time, model, feature, team, text)``; full means dropped."""

    def __init__(self, capacity: int = 10_000) -> None:
        self.capacity = capacity
        self.items: deque[tuple[Any, ...]] = deque()
        self.dropped = 0

    def offer(self, request_id: str, route: str, body: dict[str, Any], fields: dict[str, str]) -> bool:
        """Queue one request's last user turn (cheap: no I/O, no model); whether it was queued."""
        text = request_text(route, body)
        if text is None:
            return False
        if len(self.items) >= self.capacity:
            self.dropped += 1
            return False
        self.items.append(
            (
                make_record_id("gateway", request_id),
                datetime.now(UTC),
                body.get("model"),
                fields.get("feature"),
                fields.get("team"),
                text,
            )
        )
        return True

    def take(self, n: int) -> list[tuple[Any, ...]]:
        """Up to ``n`` queued items, oldest first."""
        out = []
        while len(out) < n:
            try:
                out.append(self.items.popleft())
            except IndexError:
                break
        return out


class Embedder:
    """Embeds queued requests in batches and stores the vectors: every ``interval`` seconds, off the hot path."""

    def __init__(
        self, ledger: Any, settings: Any, queue: EmbedQueue, *, batch: int = 64, interval: float = 1.0
    ) -> None:
        self.ledger = ledger
        self.settings = settings  # the ``value`` section
        self.queue = queue
        self.batch = batch
        self.interval = interval
        self.stored = 0
        self.failed = 0
        self.error: str | None = None
        self._encoder: Any = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="aifinops-embedder", daemon=True)

    def encoder(self) -> Any:
        """The offline model, loaded once (ConfigError when the extra is missing)."""
        if self._encoder is None:
            from aifinops.recommend.semantic import load_encoder

            self._encoder = load_encoder(self.settings)
        return self._encoder

    def flush(self) -> int:
        """Embed and store everything queued now; rows stored. A failure drops the batch, counted, said once."""
        stored = 0
        while items := self.queue.take(self.batch):
            try:
                stored += self._store(items)
            except Exception as exc:  # noqa: BLE001 - the thread must not die; the gateway is unaffected
                self.failed += len(items)
                message = f"{type(exc).__name__}: {exc}"
                if message != self.error:
                    print(f"aifinops embedder: {message}", file=sys.stderr)
                self.error = message
        self.stored += stored
        return stored

    def _store(self, items: list[tuple[Any, ...]]) -> int:
        import pyarrow as pa

        vectors = self.encoder().encode(
            [item[5] for item in items], batch_size=self.batch, convert_to_numpy=True, show_progress_bar=False
        )
        if vectors.shape[1] != DIMENSIONS:
            raise ValueError(
                f"the embedding model gives {vectors.shape[1]} dimensions, the ledger keeps {DIMENSIONS}"
            )
        flat = pa.array(vectors.astype("float32").reshape(-1))
        table = pa.table(
            {
                "record_id": [i[0] for i in items],
                "time": pa.array([i[1] for i in items], pa.timestamp("us", tz="UTC")),
                "model": [i[2] for i in items],
                "feature": pa.array([i[3] for i in items], pa.string()),
                "team": pa.array([i[4] for i in items], pa.string()),
                "embedding_model": [self.settings.embedding_model] * len(items),
                "vector": pa.FixedSizeListArray.from_arrays(flat, DIMENSIONS),
            }
        )
        return self.ledger.append_table("embeddings", table, "record_id", "time").inserted

    def start(self) -> None:
        """Start the thread (it loads the model first, off the request path)."""
        self._thread.start()

    def stop(self) -> None:
        """Stop the thread and store what is still queued."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(30)
        self.flush()

    def _run(self) -> None:
        try:
            import torch  # type: ignore[import-not-found]

            torch.set_num_threads(1)  # leave the other cores to the gateway
            self.encoder()
        except Exception as exc:  # noqa: BLE001 - said once; flush() keeps counting the drops
            self.error = f"{type(exc).__name__}: {exc}"
            print(f"aifinops embedder: {self.error}", file=sys.stderr)
        while not self._stop.wait(self.interval):
            self.flush()

"""Incremental server-sent-events framing: bytes in, complete events out (``event`` name, ``data`` text)."""

from __future__ import annotations

__all__ = ["SSEParser"]


class SSEParser:
    """Feed raw chunks; get back complete events as ``(event, data, raw_bytes)``."""

    __slots__ = ("_buf",)

    def __init__(self) -> None:
        self._buf = b""

    def feed(self, chunk: bytes) -> list[tuple[str | None, str, bytes]]:
        """Complete events in ``chunk`` (plus what was buffered)."""
        buf = self._buf + chunk
        if b"\r\n" in buf:
            buf = buf.replace(b"\r\n", b"\n")
        events = []
        while True:
            end = buf.find(b"\n\n")
            if end < 0:
                break
            raw, buf = buf[: end + 2], buf[end + 2 :]
            name: str | None = None
            data: list[str] = []
            for line in raw.decode("utf-8", "replace").split("\n"):
                if line.startswith("data:"):
                    data.append(line[6:] if line[5:6] == " " else line[5:])
                elif line.startswith("event:"):
                    name = line[6:].strip()
            if data or name:
                events.append((name, "\n".join(data), raw))
        self._buf = buf
        return events

    @property
    def pending(self) -> bytes:
        """Bytes of an event not yet complete."""
        return self._buf

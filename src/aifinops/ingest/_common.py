"""Helpers shared by the importers: file opening (gzip, byte metering), values, ids, JSON pages.

Everything here streams: files are read line by line or page by page, never loaded whole
(a single pretty-printed JSON document is the one exception: API pages are small).
"""

from __future__ import annotations

import gzip
import hashlib
import io
import itertools
import json
from collections.abc import Callable, Generator, Iterator, Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import IO, Any

from aifinops.core.errors import InputError, RowError
from aifinops.core.money import to_decimal
from aifinops.core.records import UsageRecord

__all__ = [
    "ReadSummary",
    "ByteMeter",
    "METER",
    "row_error",
    "open_binary",
    "open_text",
    "is_null",
    "NULL_STRINGS",
    "parse_time",
    "parse_count",
    "parse_decimal",
    "OccurrenceIds",
    "content_digest",
    "Bucket",
    "iter_buckets",
    "read_buckets",
    "dimensions",
]

#: How many bad lines a JSON file may start with before it is declared "not this format at all".
_MAX_LEADING_BAD_LINES = 20
_RAW_LIMIT = 4000


@dataclass(slots=True)
class ReadSummary:
    """What a reader returns when it finishes (the generator's return value)."""

    rows: int = 0  # rows (or results) read, good or bad
    skipped: int = 0  # rows deliberately not imported (e.g. non-AI FOCUS lines)


@dataclass(slots=True)
class ByteMeter:
    """Counts bytes read from input files, for the progress bar."""

    done: int = 0

    def add(self, n: int) -> None:
        self.done += n


METER: ContextVar[ByteMeter | None] = ContextVar("aifinops_ingest_meter", default=None)


def row_error(line: int, reason: str, raw: object = None) -> RowError:
    """A :class:`RowError` that also carries the raw row (written to the reject file)."""
    err = RowError(line, reason)
    if isinstance(raw, str) and len(raw) > _RAW_LIMIT:
        raw = raw[:_RAW_LIMIT] + "..."
    err.raw = raw  # type: ignore[attr-defined]
    return err


class _Counting(io.RawIOBase):
    """A raw binary stream that reports every byte it reads to the current :data:`METER`."""

    def __init__(self, raw: IO[bytes], meter: ByteMeter | None) -> None:
        super().__init__()
        self._raw = raw
        self._meter = meter

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        n = self._raw.readinto(buffer)  # type: ignore[attr-defined]
        if n and self._meter is not None:
            self._meter.add(n)
        return n or 0

    def close(self) -> None:
        self._raw.close()
        super().close()


def open_binary(path: Path) -> IO[bytes]:
    """Open ``path`` for reading, transparently un-gzipping, counting (compressed) bytes read."""
    try:
        raw = open(path, "rb", buffering=0)  # noqa: SIM115 - closed by the caller
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror or exc})") from None
    stream: IO[bytes] = io.BufferedReader(_Counting(raw, METER.get()), 1 << 16)
    if stream.peek(2)[:2] == b"\x1f\x8b":  # type: ignore[attr-defined]
        return gzip.GzipFile(fileobj=stream, mode="rb")  # type: ignore[return-value]
    return stream


def open_text(path: Path) -> IO[str]:
    """Open ``path`` as UTF-8 text (a leading BOM is dropped), for csv and line reading."""
    return io.TextIOWrapper(open_binary(path), encoding="utf-8-sig", newline="")


NULL_STRINGS = frozenset(("", "NULL", "null", "None"))


def is_null(value: object) -> bool:
    """``None``, an empty string, or the literal ``NULL`` some exports write."""
    if value is None:
        return True
    return isinstance(value, str) and value.strip() in NULL_STRINGS


def parse_time(value: object, field: str) -> datetime:
    """A timezone-aware UTC datetime from ISO 8601 (``Z``, offset, or none = UTC), a date,
    ``YYYY-MM-DD HH:MM:SS``, unix seconds, or a ``datetime`` object."""
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, date):
        moment = datetime(value.year, value.month, value.day)
    elif isinstance(value, int | float) and not isinstance(value, bool):
        try:
            return datetime.fromtimestamp(value, UTC)
        except (OverflowError, OSError, ValueError):
            raise ValueError(f"{field}: {value!r} is not a valid unix time") from None
    elif isinstance(value, str) and value.strip():
        text = value.strip()
        if len(text) != 8 and text.replace(".", "", 1).isdigit():  # unix seconds (YYYYMMDD is a date)
            return parse_time(float(text) if "." in text else int(text), field)
        if text.endswith(("Z", "z")):
            text = text[:-1] + "+00:00"
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            raise ValueError(f"{field}: {value!r} is not a valid date/time") from None
    else:
        raise ValueError(f"{field}: {value!r} is not a valid date/time")
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def parse_count(value: object, field: str) -> int:
    """A non-negative whole number (token and request counts)."""
    if isinstance(value, bool):
        raise ValueError(f"{field}: {value!r} is not an integer")
    if isinstance(value, int):
        number = value
    else:
        try:
            exact = value if isinstance(value, Decimal) else Decimal(str(value).strip())
        except InvalidOperation:
            raise ValueError(f"{field}: {value!r} is not an integer") from None
        if not exact.is_finite() or exact != exact.to_integral_value():
            raise ValueError(f"{field}: {value!r} is not an integer")
        number = int(exact)
    if number < 0:
        raise ValueError(f"{field}: {value!r} is negative")
    return number


def parse_decimal(value: object, field: str) -> Decimal:
    """An exact ``Decimal`` (floats through ``repr``); the message names the field and value."""
    try:
        return to_decimal(value, field=field)
    except ValueError:
        raise ValueError(f"{field}: {value!r} is not a number") from None


def content_digest(items: Mapping[str, object], *, has_nulls: bool = True) -> str:
    """A stable digest of a row's non-null content (column order does not matter).

    ``has_nulls=False`` skips the null filter for a row already cleaned of nulls.
    """
    pairs = items.items() if not has_nulls else ((k, v) for k, v in items.items() if not is_null(v))
    parts = sorted(f"{k}\x1f{v}" for k, v in pairs)
    return hashlib.blake2b("\x1e".join(parts).encode(), digest_size=16).hexdigest()


class OccurrenceIds:
    """Numbers identical rows within one file: ``<digest>:<n>`` where n counts earlier copies.

    Re-reading the same file gives the same ids; two identical rows stay two records. Memory is
    one small int per distinct row (about 60 bytes), the price of telling duplicates apart.
    """

    def __init__(self) -> None:
        self._seen: set[int] = set()
        self._repeats: dict[int, int] = {}

    def __call__(self, digest: str) -> str:
        key = int(digest[:16], 16)
        if key not in self._seen:
            self._seen.add(key)
            return f"{digest}:0"
        n = self._repeats.get(key, 0) + 1
        self._repeats[key] = n
        return f"{digest}:{n}"


def dimensions(result: Mapping[str, Any], *, exclude: tuple[str, ...] = ()) -> str:
    """The grouping fields of a usage/cost result (strings and booleans; nulls dropped) as JSON.

    Part of a bucket's deterministic id: the same bucket, re-exported, gives the same string.
    """
    dims = {
        k: v for k, v in result.items() if k not in exclude and v is not None and isinstance(v, str | bool)
    }
    return json.dumps(dims, sort_keys=True, separators=(",", ":"))


# --------------------------------------------------------------------------- JSON pages


@dataclass(slots=True)
class Bucket:
    """One time bucket of a usage/cost page."""

    line: int
    where: str  # e.g. "data[2]" or "[1].data[2]" for an array of pages
    start: datetime
    end: datetime
    results: list[Any]


def _iter_json_values(path: Path, what: str) -> Iterator[tuple[int, str, object] | RowError]:
    """``(line, prefix, page)`` for a JSON document, an array of pages, or JSONL of pages."""
    with open_text(path) as handle:
        try:
            lines = enumerate(handle, start=1)
            head: list[tuple[int, str]] = []
            for number, text in lines:
                if text.strip():
                    head.append((number, text))
                    if len(head) == 2:
                        break
            if not head:
                raise InputError(f"{path}: the file is empty, expected {what}")
            jsonl = any(_parses_alone(text) for _, text in head)
            if not jsonl:
                rest = "".join(text for _, text in lines)
                document = "".join(text for _, text in head) + rest
                first_line = head[0][0]
                try:
                    value = json.loads(document)
                except ValueError as exc:
                    raise InputError(f"{path}: not JSON ({exc}); expected {what}") from None
                if isinstance(value, list):
                    for i, page in enumerate(value):
                        yield first_line, f"[{i}].", page
                else:
                    yield first_line, "", value
                return
            for number, text in itertools.chain(head, lines):
                if not text.strip():
                    continue
                try:
                    value = json.loads(text)
                except ValueError as exc:
                    yield row_error(number, f"malformed JSON: {exc}", raw=text.rstrip("\n"))
                    continue
                if isinstance(value, list):
                    for i, page in enumerate(value):
                        yield number, f"[{i}].", page
                else:
                    yield number, "", value
        except UnicodeDecodeError as exc:
            raise InputError(f"{path}: not UTF-8 text ({exc.reason}); expected {what}") from None


def _parses_alone(text: str) -> bool:
    try:
        return isinstance(json.loads(text), dict | list)
    except ValueError:
        return False


def iter_buckets(
    path: Path,
    *,
    what: str,
    time_keys: tuple[str, str],
    wrong_keys: dict[str, str],
) -> Iterator[Bucket | RowError]:
    """The time buckets of every page in ``path``, with their parsed start and end.

    ``wrong_keys`` maps a bucket key that betrays another export (e.g. ``starting_at`` in an
    OpenAI importer) to a hint; seeing one raises :class:`InputError`. A file whose first
    ``_MAX_LEADING_BAD_LINES`` items are all bad, or that holds no page at all, is not ``what``.
    """
    pending: list[RowError] = []
    seen_page = False
    start_key, end_key = time_keys
    for item in _iter_json_values(path, what):
        if isinstance(item, RowError):
            if seen_page:
                yield item
            else:
                pending.append(item)
                if len(pending) >= _MAX_LEADING_BAD_LINES:
                    raise InputError(f"{path}: not {what} (line {pending[0].line}: {pending[0].reason})")
            continue
        line, prefix, page = item
        if not isinstance(page, Mapping) or not isinstance(page.get("data"), list):
            reason = f"{prefix or ''}expected a page object with a 'data' list, found {_describe(page)}"
            err = row_error(line, reason, raw=page)
            if seen_page:
                yield err
                continue
            pending.append(err)
            if len(pending) >= _MAX_LEADING_BAD_LINES:
                raise InputError(f"{path}: not {what} (line {pending[0].line}: {pending[0].reason})")
            continue
        if not seen_page:
            seen_page = True
            yield from pending
            pending.clear()
        for i, bucket in enumerate(page["data"]):
            where = f"{prefix}data[{i}]"
            if not isinstance(bucket, Mapping):
                yield row_error(line, f"{where}: expected a bucket object, found {_describe(bucket)}", bucket)
                continue
            for key, hint in wrong_keys.items():
                if key in bucket and start_key not in bucket:
                    raise InputError(f"{path}: not {what}: buckets have '{key}' ({hint})")
            results = bucket.get("results", bucket.get("result"))
            if not isinstance(results, list):
                yield row_error(line, f"{where}.results: missing or not a list", bucket)
                continue
            try:
                start = parse_time(_required(bucket, start_key, where), f"{where}.{start_key}")
                end = parse_time(_required(bucket, end_key, where), f"{where}.{end_key}")
                if end <= start:
                    raise ValueError(f"{where}: {end_key} is not after {start_key}")
            except ValueError as exc:
                yield row_error(line, str(exc), bucket)
                continue
            yield Bucket(line=line, where=where, start=start, end=end, results=results)
    if not seen_page:
        if pending:
            raise InputError(f"{path}: not {what} (line {pending[0].line}: {pending[0].reason})")
        raise InputError(f"{path}: no pages found, expected {what}")


def read_buckets(
    path: Path,
    to_records: Callable[[Bucket, Mapping[str, Any]], list[UsageRecord]],
    *,
    what: str,
    time_keys: tuple[str, str],
    wrong_keys: dict[str, str],
) -> Generator[UsageRecord | RowError, None, ReadSummary]:
    """Drive a page-based importer: each result of each bucket becomes records via ``to_records``.

    A ``ValueError`` from ``to_records`` rejects that one result (line + JSON path + reason);
    an :class:`InputError` stops the file. Returns the :class:`ReadSummary`.
    """
    summary = ReadSummary()
    for item in iter_buckets(path, what=what, time_keys=time_keys, wrong_keys=wrong_keys):
        if isinstance(item, RowError):
            summary.rows += 1
            yield item
            continue
        for j, result in enumerate(item.results):
            summary.rows += 1
            where = f"{item.where}.results[{j}]"
            if not isinstance(result, Mapping):
                yield row_error(item.line, f"{where}: expected an object, found {_describe(result)}", result)
                continue
            try:
                records = to_records(item, result)
            except ValueError as exc:
                yield row_error(item.line, f"{where}: {exc}", result)
                continue
            yield from records
    return summary


def _required(mapping: Mapping[str, Any], key: str, where: str) -> Any:
    value = mapping.get(key)
    if value is None:
        raise ValueError(f"{where}.{key}: missing")
    return value


def _describe(value: object) -> str:
    if isinstance(value, Mapping):
        keys = ", ".join(list(map(str, value))[:5])
        return f"an object with keys {keys or '(none)'}"
    return f"a JSON {type(value).__name__}"

"""Business outcomes (the value ledger): CSV with a header, or JSONL, one outcome event per row.

Fields: ``occurred_at`` (or ``timestamp``; required), ``outcome_type`` (or ``type``; required), ``count``
(default 1), ``value`` (money, optional: counted but not valued without it), ``currency`` (USD), the
attribution keys shared with costs (``team``, ``project``, ``product``, ``feature``, ``customer``,
``environment``, ``use_case``, ``initiative``), ``outcome_id`` or ``id`` (else derived from the row's content, so
re-importing a file is a no-op), ``source`` (default ``outcomes``) and ``tags`` (a JSON object) or ``tag.KEY``.
"""

from __future__ import annotations

import csv
import itertools
import json
from collections.abc import Iterator, Mapping, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

from aifinops.core.errors import InputError, RowError
from aifinops.core.records import Outcome, make_record_id
from aifinops.ingest._common import (
    content_digest,
    is_null,
    open_text,
    parse_count,
    parse_decimal,
    parse_time,
    row_error,
)

__all__ = ["outcome_from_dict", "read_outcomes", "import_outcomes", "OUTCOME_KEYS"]

SOURCE = "outcomes"
OUTCOME_KEYS = ("team", "project", "product", "feature", "customer", "environment", "use_case", "initiative")
_KNOWN = {
    "outcome_id", "id", "source", "occurred_at", "timestamp", "outcome_type", "type", "count", "value",
    "currency", "tags", *OUTCOME_KEYS,
}  # fmt: skip
_MAX_LEADING_BAD_LINES = 20
_MAX_COUNT = 10**12
_MAX_VALUE = Decimal(10) ** 20  # DECIMAL(38, 12) holds 26 integer digits
_MAX_TAGS = 50


def _text(value: Any, field: str, limit: int = 200) -> str | None:
    if is_null(value):
        return None
    if not isinstance(value, str | int):
        raise ValueError(f"{field}: expected text, got {type(value).__name__}")
    text = str(value).strip()
    if len(text) > limit:
        raise ValueError(f"{field}: longer than {limit} characters")
    return text


def outcome_from_dict(item: Mapping[str, Any], *, default_source: str = SOURCE) -> Outcome:
    """One outcome from a JSON object or a CSV row; ValueError naming the field when it is wrong."""
    if not isinstance(item, Mapping):
        raise ValueError(f"expected an object, got {type(item).__name__}")
    unknown = sorted(k for k in item if k not in _KNOWN and not str(k).startswith("tag."))
    if unknown:
        raise ValueError(f"unknown field(s): {', '.join(unknown)}")
    when = item.get("occurred_at", item.get("timestamp"))
    if is_null(when):
        raise ValueError("occurred_at: required")
    occurred = parse_time(when, "occurred_at")
    kind = _text(item.get("outcome_type", item.get("type")), "outcome_type")
    if not kind:
        raise ValueError("outcome_type: required")
    count = 1 if is_null(item.get("count")) else parse_count(item["count"], "count")
    if count > _MAX_COUNT:
        raise ValueError(f"count: {count} is more than {_MAX_COUNT:,}")
    value = None if is_null(item.get("value")) else parse_decimal(item["value"], "value")
    if value is not None and value < 0:
        raise ValueError(f"value: {item['value']!r} is negative")
    if value is not None and value >= _MAX_VALUE:
        raise ValueError(f"value: {item['value']!r} is too large")
    currency = (_text(item.get("currency"), "currency") or "USD").upper()
    if len(currency) != 3 or not currency.isalpha():
        raise ValueError(f"currency: {currency!r} is not a 3-letter code")
    tags_raw = item.get("tags")
    if isinstance(tags_raw, str) and tags_raw.strip():
        try:
            tags_raw = json.loads(tags_raw)
        except ValueError:
            raise ValueError("tags: not a JSON object") from None
    if tags_raw is not None and not is_null(tags_raw) and not isinstance(tags_raw, Mapping):
        raise ValueError("tags: expected a JSON object")
    tags = {str(k): str(v) for k, v in (tags_raw or {}).items()} if not is_null(tags_raw) else {}
    tags.update({k[4:]: str(v) for k, v in item.items() if str(k).startswith("tag.") and not is_null(v)})
    if len(tags) > _MAX_TAGS or any(len(k) > 200 or len(v) > 1000 for k, v in tags.items()):
        raise ValueError(f"tags: at most {_MAX_TAGS} tags, keys up to 200 and values up to 1000 characters")
    source = _text(item.get("source"), "source") or default_source
    given = _text(item.get("outcome_id", item.get("id")), "outcome_id")
    keys = {k: _text(item.get(k), k) for k in OUTCOME_KEYS}
    outcome_id = (
        make_record_id(source, given) if given else make_record_id(source, content_digest(dict(item)))
    )
    return Outcome(
        outcome_id=outcome_id,
        source=source,
        occurred_at=occurred,
        outcome_type=kind,
        count=count,
        value=value,
        currency=currency,
        tags=tags,
        **keys,
    )


def _rows(path: Path) -> Iterator[tuple[int, Any] | RowError]:
    with open_text(path) as handle:
        first = handle.readline()
        lines = itertools.chain([first], handle)
        if first.lstrip().startswith("{"):
            for number, line in enumerate(lines, start=1):
                if not line.strip():
                    continue
                try:
                    yield number, json.loads(line)
                except ValueError:
                    yield row_error(number, "not a JSON object", line[:200])
            return
        reader = csv.DictReader(lines)
        if not reader.fieldnames or not ({"occurred_at", "timestamp"} & set(reader.fieldnames)):
            raise InputError(
                f"{path}: not an outcomes file (CSV needs an occurred_at column, or JSONL objects)"
            )
        for row in reader:
            yield reader.line_num, row


def read_outcomes(path: Path) -> Iterator[Outcome | RowError]:
    """Stream one file's outcomes; a bad row becomes a RowError naming the line and the problem."""
    bad_lead = 0
    good = 0
    for item in _rows(path):
        if isinstance(item, RowError):
            bad_lead += 0 if good else 1
            if bad_lead > _MAX_LEADING_BAD_LINES:
                raise InputError(f"{path}: not an outcomes file (the first rows are not JSON objects)")
            yield item
            continue
        number, data = item
        try:
            outcome = outcome_from_dict(data)
        except ValueError as exc:
            yield row_error(number, str(exc), data)
            continue
        good += 1
        yield outcome


def import_outcomes(paths: Sequence[Path], ledger: Any, *, reject_path: Path | None = None) -> dict[str, Any]:
    """Import outcome files in one transaction; bad rows are listed and written to ``reject_path`` (JSONL)."""
    for path in paths:
        if not Path(path).is_file():
            raise InputError(f"{path}: no such file")
    outcomes: list[Outcome] = []
    errors: list[dict[str, Any]] = []
    rows = 0
    for path in paths:
        for item in read_outcomes(Path(path)):
            rows += 1
            if isinstance(item, RowError):
                errors.append({"file": str(path), "line": item.line, "reason": item.reason})
            else:
                outcomes.append(item)
    with ledger.transaction() as tx:
        result = tx.append_outcomes(outcomes)
    if reject_path is not None and errors:
        Path(reject_path).parent.mkdir(parents=True, exist_ok=True)
        with open(reject_path, "w", encoding="utf-8") as handle:
            for err in errors:
                handle.write(json.dumps(err) + "\n")
    return {
        "source": "outcomes",
        "files": [str(p) for p in paths],
        "rows_read": rows,
        "accepted": len(outcomes),
        "rejected": len(errors),
        "inserted": result.inserted,
        "duplicates": result.duplicates,
        "errors": errors[:1000],
        "reject_path": str(reject_path) if reject_path is not None and errors else None,
    }

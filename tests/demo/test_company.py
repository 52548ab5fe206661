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

HOSTED = {
    "openai": {"gpt-4o", "gpt-4o-mini", "gpt-4.1", "gpt-4.1-mini", "gpt-5", "gpt-5-mini", "o4-mini",
               "text-embedding-3-small"},
    "anthropic": {"claude-sonnet-4-5", "claude-haiku-4-5", "claude-opus-4-1"},
    "google": {"gemini-2.5-flash", "gemini-2.5-pro"},
    "mistral": {"mistral-large-latest"},
    "deepseek": {"deepseek-chat"},
}  # fmt: skip


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


def test_hosted_models_are_catalog_ids() -> None:
    for provider, ids in HOSTED.items():
        assert {m.id for m in MODELS.values() if m.provider == provider} == ids
    assert {m.id for m in MODELS.values() if m.reasoning} == {"gpt-5", "gpt-5-mini", "o4-mini"}


def test_incident_windows_count_back_from_the_last_midnight() -> None:
    end = datetime(2026, 3, 1, 14, tzinfo=UTC)
    assert anchor_of(end) == datetime(2026, 3, 1, tzinfo=UTC)
    for incident in INCIDENTS:
        lo, hi = incident.window(end)
        assert hi - lo == timedelta(hours=incident.duration_hours)
        assert end - timedelta(days=14) < lo < end

"""Shared state and helpers of one demo run: seeded random streams, time arithmetic, expected volumes."""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

import numpy as np

from aifinops.demo.company import FEATURES, INCIDENTS, TEAMS, Feature, anchor_of

__all__ = ["DemoContext", "hex_ids", "timestamps", "PROFILES"]

# Relative request volume by local hour (0-23) on a working day.
_BUSINESS = np.array(
    [0.05, 0.04, 0.03, 0.03, 0.03, 0.05, 0.12, 0.35, 0.75, 1.0, 1.0, 0.95,
     0.8, 0.95, 1.0, 0.95, 0.85, 0.65, 0.4, 0.25, 0.18, 0.12, 0.09, 0.07]
)  # fmt: skip
PROFILES: dict[str, np.ndarray] = {
    "business": _BUSINESS / _BUSINESS.sum(),
    "global": (0.35 + _BUSINESS) / (0.35 + _BUSINESS).sum(),
}
#: Weekend volume relative to a weekday.
WEEKEND = {"business": 0.2, "global": 0.55, "nightly": 1.0}
_TEAM_OFFSET = {t.name: t.utc_offset for t in TEAMS}
_FEATURE_INDEX = {f.name: i for i, f in enumerate(FEATURES)}


def timestamps(base: datetime, seconds: np.ndarray) -> list[datetime]:
    """``base`` plus each of ``seconds``, as UTC datetimes (to the microsecond, give or take one)."""
    epoch = base.timestamp()
    return [datetime.fromtimestamp(t, UTC) for t in (epoch + seconds).tolist()]


def hex_ids(rng: np.random.Generator, n: int, nbytes: int) -> list[str]:
    """``n`` random lowercase hex ids of ``nbytes`` bytes each (trace and span ids)."""
    blob = rng.bytes(n * nbytes).hex()
    w = 2 * nbytes
    return [blob[i * w : (i + 1) * w] for i in range(n)]


@dataclass
class DemoContext:
    """One run: the seed, the window ``[start, end)``, the volume scale and the incident windows."""

    seed: int
    start: datetime
    end: datetime
    scale: float
    anchor: datetime = field(init=False)
    incidents: dict[str, tuple[datetime, datetime]] = field(init=False)

    migrations: dict[str, datetime] = field(init=False)

    def __post_init__(self) -> None:
        self.anchor = anchor_of(self.end)
        self.incidents = {i.name: i.window(self.end) for i in INCIDENTS}
        self.migrations = {f.name: f.migration.at(self.end) for f in FEATURES if f.migration is not None}

    def rng(self, stream: str, *keys: int) -> np.random.Generator:
        """An independent random stream for ``stream`` and ``keys`` (e.g. a feature and a day)."""
        entropy = [self.seed, zlib.crc32(stream.encode()), *keys]
        return np.random.default_rng(np.random.SeedSequence(entropy))

    def days(self) -> list[date]:
        """The UTC dates the window touches, oldest first."""
        first = self.start.date()
        last = (self.end - timedelta(microseconds=1)).date()
        return [first + timedelta(days=k) for k in range((last - first).days + 1)]

    @staticmethod
    def day_start(day: date) -> datetime:
        """UTC midnight of ``day``."""
        return datetime(day.year, day.month, day.day, tzinfo=UTC)

    def incident_mask(self, name: str, day: date, seconds: np.ndarray) -> np.ndarray:
        """Which of ``seconds`` (since ``day``'s midnight) fall inside incident ``name``."""
        lo, hi = self.incidents[name]
        base = self.day_start(day)
        return (seconds >= (lo - base).total_seconds()) & (seconds < (hi - base).total_seconds())

    def model_mix(self, feature: Feature, when: datetime) -> tuple[tuple[str, float], ...]:
        """The feature's model mix at ``when``: the one before its migration, if any, or the current one."""
        switch = self.migrations.get(feature.name)
        if switch is not None and when < switch and feature.migration is not None:
            return feature.migration.previous
        return feature.models

    def before_migration(self, feature: Feature, day: date, seconds: np.ndarray) -> np.ndarray | None:
        """Which of ``seconds`` (since ``day``'s midnight) come before the feature's migration (None: none)."""
        switch = self.migrations.get(feature.name)
        if switch is None or switch <= self.day_start(day):
            return None
        return seconds < (switch - self.day_start(day)).total_seconds()

    def in_incident(self, name: str, when: datetime) -> bool:
        """Whether ``when`` falls inside incident ``name``."""
        lo, hi = self.incidents[name]
        return lo <= when < hi

    def hourly_volume(self, feature: Feature, day: date) -> np.ndarray:
        """Expected volume in each UTC hour of ``day`` at scale 1 (requests, or workflows for agents).

        Weekday volume at the end of the demo is ``feature.daily``; it grows by ``feature.growth`` a day,
        peaks in the team's business hours, drops at weekends, and moves ±8% from day to day.
        """
        if feature.profile == "nightly":
            raise ValueError("nightly features have no hourly profile")
        fidx = _FEATURE_INDEX[feature.name]
        noise = float(self.rng("day-noise", fidx, day.toordinal()).lognormal(0.0, 0.08))
        age = (self.anchor.date() - day).days
        level = feature.daily * (1.0 + feature.growth) ** (-age) * noise
        local = np.arange(24) + _TEAM_OFFSET[feature.team]
        weekday = (day.weekday() + np.floor_divide(local, 24)) % 7
        factor = np.where(weekday >= 5, WEEKEND[feature.profile], 1.0)
        return level * PROFILES[feature.profile][local % 24] * factor

    def nightly_volume(self, feature: Feature, day: date) -> float:
        """Expected size of a nightly job's run on ``day`` at scale 1 (weekdays only for evals)."""
        fidx = _FEATURE_INDEX[feature.name]
        if feature.kind == "eval" and day.weekday() >= 5:
            return 0.0
        noise = float(self.rng("day-noise", fidx, day.toordinal()).lognormal(0.0, 0.08))
        age = (self.anchor.date() - day).days
        return feature.daily * (1.0 + feature.growth) ** (-age) * noise

    def window_seconds(self, day: date) -> tuple[float, float]:
        """The part of ``day`` inside the demo window, as seconds since its midnight."""
        base = self.day_start(day)
        lo = max(0.0, (self.start - base).total_seconds())
        hi = min(86400.0, (self.end - base).total_seconds())
        return lo, hi


def feature_index(name: str) -> int:
    """Position of a feature in :data:`FEATURES` (a stable key for random streams)."""
    return _FEATURE_INDEX[name]

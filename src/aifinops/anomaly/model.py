"""What the detectors take and give: an owner's series at one resolution, and the anomalies found in it."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import numpy as np

__all__ = ["Anomaly", "DetectorConfig", "OwnerSeries", "KINDS", "anomaly_id"]

#: Every kind of anomaly a detector reports.
KINDS = (
    "spend_spike",
    "spend_shift",
    "prompt_bloat",
    "model_mix_shift",
    "error_surge",
    "retry_surge",
    "runaway_workflow",
    "idle_endpoint",
    "runaway_training",
)


@dataclass
class OwnerSeries:
    """One owner's usage at a fixed step, index 0 starting at ``start``; arrays share one length.

    ``cost`` is in the ledger currency (float: detection is statistics, money is re-read exactly when
    reported); ``models`` maps a model to its ``(requests, cost)`` arrays.
    """

    owner: str
    start: datetime
    step: timedelta
    cost: np.ndarray
    requests: np.ndarray
    input_tokens: np.ndarray
    errors: np.ndarray
    retries: np.ndarray
    models: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.cost)

    def time(self, index: int) -> datetime:
        """The start of slot ``index``."""
        return self.start + index * self.step

    def trimmed(self) -> OwnerSeries:
        """The series from the owner's first activity on (history before it is not a quiet past)."""
        active = np.flatnonzero((self.cost != 0) | (self.requests != 0))
        first = int(active[0]) if len(active) else len(self.cost)
        if first == 0:
            return self
        cut = {k: getattr(self, k)[first:] for k in ("cost", "requests", "input_tokens", "errors", "retries")}
        models = {m: (r[first:], c[first:]) for m, (r, c) in self.models.items()}
        return OwnerSeries(self.owner, self.time(first), self.step, models=models, **cut)

    @property
    def slots_per_day(self) -> int:
        return int(timedelta(days=1) / self.step)


@dataclass(frozen=True)
class DetectorConfig:
    """Thresholds shared by the detectors; ``sensitivity`` > 1 finds more, < 1 finds less."""

    sensitivity: float = 1.0
    min_history_days: float = 7.0
    min_impact: float = 1.0  # currency units: smaller excesses are not anomalies
    materiality: float = 0.1  # ... nor excesses under this share of the owner's usual daily spend
    burn_hours: float = 1.0  # a spend excess is material once its pace would cross that within this time
    burst_share: float = 0.5  # ... and it exceeds this share of the largest excess of the week before
    spike_z: float = 5.5
    shift_z: float = 4.5
    cusum_drift: float = 1.0
    cusum_limit: float = 40.0
    count_z: float = 5.0  # request-count surge: normal score of the Poisson tail (p ~ 3e-7)
    count_slack: float = 0.3  # ... against the usual count inflated by 30 % (+0.5)
    count_min: int = 5  # ... and at least this many requests
    count_cusum: float = 8.0  # request-count CUSUM limit (log-likelihood ratio of a doubled rate)
    min_relative: float = 0.3  # the excess must be at least this share of the expected value
    ratio_rise: float = 0.4  # prompt bloat: tokens per request up by at least 40 %
    rate_factor: float = 3.0  # error/retry surge: at least 3x the usual rate
    rate_floor: float = 0.03  # ... and at least 3 % of requests
    mix_distance: float = 0.35  # model mix: total variation distance of request shares
    runaway_calls: int = 50
    runaway_factor: float = 5.0
    idle_util: float = 0.05
    idle_hours: int = 12
    training_factor: float = 1.5

    def z(self, value: float) -> float:
        return value / max(self.sensitivity, 1e-6)


def anomaly_id(kind: str, owner: str, subject: str, started_at: datetime) -> str:
    """Deterministic id: the same anomaly found again by a later run keeps its id."""
    raw = f"{kind}|{owner}|{subject}|{started_at.isoformat()}".encode()
    return "an_" + hashlib.sha256(raw).hexdigest()[:20]


@dataclass
class Anomaly:
    """One anomaly: when it started, when it was detected, who owns it, what was expected and observed."""

    kind: str
    owner: str
    subject: str  # what the series is about: the owner itself, a model, a workflow, an endpoint, a run
    started_at: datetime
    detected_at: datetime
    last_seen_at: datetime
    expected: float
    observed: float
    unit: str  # "USD" (cost), "tokens/request", "rate", "calls", "hours", "share"
    impact: float  # estimated excess cost in the ledger currency
    explanation: str
    ongoing: bool = True
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def id(self) -> str:
        return anomaly_id(self.kind, self.owner, self.subject, self.started_at)

    def to_dict(self) -> dict[str, Any]:
        return {
            "anomaly_id": self.id,
            "kind": self.kind,
            "owner": self.owner,
            "subject": self.subject,
            "started_at": self.started_at,
            "detected_at": self.detected_at,
            "last_seen_at": self.last_seen_at,
            "expected": round(float(self.expected), 6),
            "observed": round(float(self.observed), 6),
            "unit": self.unit,
            "impact": round(float(self.impact), 2),
            "explanation": self.explanation,
            "ongoing": self.ongoing,
            "details": self.details,
        }

"""Anomaly detection: series and summaries in, anomalies out. Pure: no I/O, no ledger.

Detectors are causal (a slot's verdict uses only earlier slots), so running them once over a whole
history gives what a live detector running every interval would have reported, with the same
detection times. :func:`detect_series` runs the per-owner series detectors; the resource detectors take
workflow, endpoint and training-run summaries.
"""

from aifinops.anomaly.model import KINDS, Anomaly, DetectorConfig, OwnerSeries, anomaly_id
from aifinops.anomaly.resources import (
    EndpointHour,
    TrainingRun,
    Workflow,
    detect_idle_endpoints,
    detect_runaway_training,
    detect_runaway_workflows,
)
from aifinops.anomaly.series import detect_mix, detect_prompt_bloat, detect_rates, detect_series, detect_spend

__all__ = [
    "KINDS",
    "Anomaly",
    "DetectorConfig",
    "OwnerSeries",
    "anomaly_id",
    "EndpointHour",
    "TrainingRun",
    "Workflow",
    "detect_idle_endpoints",
    "detect_runaway_training",
    "detect_runaway_workflows",
    "detect_mix",
    "detect_prompt_bloat",
    "detect_rates",
    "detect_series",
    "detect_spend",
]

"""Alerts: lifecycle (open, acknowledged, resolved), grouping and deduplication, severity by dollar impact,
routing per owner, and delivery by webhook (JSON), Slack-compatible incoming webhook and SMTP email."""

from aifinops.alerts.channels import Delivery, deliver
from aifinops.alerts.lifecycle import check_transition, group_key, route, severity_of
from aifinops.alerts.runner import AnomalyRunner
from aifinops.alerts.service import AlertService
from aifinops.alerts.store import AlertStore

__all__ = [
    "AlertService",
    "AlertStore",
    "AnomalyRunner",
    "Delivery",
    "check_transition",
    "deliver",
    "group_key",
    "route",
    "severity_of",
]

"""Who owns a GPU-interval, and what it costs per hour: ``gpus.hosts`` and ``gpus.kubernetes`` rules.

Precedence, most specific last (each later rule overrides the fields it sets):
host mapping (``host`` glob) -> GPU mapping (``host`` + ``gpu`` index or UUID glob) -> Kubernetes rule
(``namespace``/``pod``/``container`` globs, first match) -> the sample's own job label.
Price fields (provider, instance type, GPU type, pricing mode, rate) come from the host and GPU mappings.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from fnmatch import fnmatchcase
from typing import Any

__all__ = ["Owner", "resolve_owner", "OWNER_KEYS", "PLAN_KEYS"]

OWNER_KEYS = ("team", "project", "endpoint", "job", "environment")
PLAN_KEYS = ("provider", "instance_type", "gpu_type", "pricing_mode", "rate_per_gpu_hour", "ledger")


@dataclass(frozen=True, slots=True)
class Owner:
    """An owner and a price plan for one GPU (or pod on it)."""

    team: str | None = None
    project: str | None = None
    endpoint: str | None = None
    job: str | None = None
    environment: str | None = None
    provider: str | None = None
    instance_type: str | None = None
    gpu_type: str | None = None
    pricing_mode: str = "on_demand"
    rate_per_gpu_hour: Decimal | None = None
    ledger: bool = False
    host_rule: str | None = None  # the ``host`` pattern of the mapping that priced it


def _match(pattern: str | None, value: str | None) -> bool:
    if pattern is None:
        return True
    return value is not None and fnmatchcase(value, pattern)


def _gpu_match(pattern: str, index: int | None, uuid: str | None) -> bool:
    return (index is not None and pattern == str(index)) or (uuid is not None and fnmatchcase(uuid, pattern))


def resolve_owner(
    hosts: Sequence[Any],
    kubernetes: Sequence[Any],
    *,
    host: str,
    gpu_index: int | None = None,
    gpu_uuid: str | None = None,
    namespace: str | None = None,
    pod: str | None = None,
    container: str | None = None,
    job: str | None = None,
) -> Owner:
    """The owner and price plan of one GPU-interval (``hosts``/``kubernetes``: the settings' mappings)."""
    fields: dict[str, Any] = {}
    host_rules = [m for m in hosts if m.gpu is None and fnmatchcase(host, m.host)]
    gpu_rules = [
        m
        for m in hosts
        if m.gpu is not None and fnmatchcase(host, m.host) and _gpu_match(m.gpu, gpu_index, gpu_uuid)
    ]
    for rule in (*host_rules[:1], *gpu_rules[:1]):
        for key in (*OWNER_KEYS, *PLAN_KEYS):
            value = getattr(rule, key)
            if value is not None and (key != "ledger" or value):
                fields[key] = value
        fields["pricing_mode"] = rule.pricing_mode
        fields["host_rule"] = rule.host if rule.gpu is None else f"{rule.host}/{rule.gpu}"
    if namespace or pod or container:
        for rule in kubernetes:
            if (
                _match(rule.namespace, namespace)
                and _match(rule.pod, pod)
                and _match(rule.container, container)
            ):
                fields.update({k: getattr(rule, k) for k in OWNER_KEYS if getattr(rule, k) is not None})
                break
    if job and "job" not in fields:
        fields["job"] = job
    return Owner(**fields)

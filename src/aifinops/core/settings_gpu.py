"""Config models for ``aifinops.yaml``: GpuSettings (``gpus:``), TrainingSettings (``training:``).

```yaml
gpus:
  idle_threshold: 0.15          # a GPU-interval under 15 % utilization is idle
  grid_intensity: 380           # gCO2e per kWh (optional: no CO2e figure without it)
  hosts:                        # host (glob) -> instance, price and owner; `gpu` narrows to one GPU
    - {host: "gpu-node-*", provider: aws, instance_type: p5.48xlarge, pricing_mode: reserved, team: ml}
    - {host: onprem-1, gpu_type: A100-80GB, rate_per_gpu_hour: 1.40, team: research}
    - {host: onprem-1, gpu: "3", team: search, endpoint: llm-70b}
  kubernetes:                   # pod labels -> owner (first match wins; globs allowed)
    - {namespace: ml, pod: "trainer-*", team: ml, project: ranker, job: ranker-train}
  endpoints:                    # self-hosted endpoints: which token records they served
    - {name: llm-70b, provider: local-vllm, model: llama-3.1-70b-instruct, compare_to: [gpt-4o, gpt-4.1-mini]}
  scrape:
    - {url: "http://gpu-node-1:9400/metrics", interval: 30}
training:
  approval_threshold: 25000     # dollars: estimates above it need `aifinops train approve`
  runaway_margin: 0.25          # a run 25 % over its estimate (or its job's usual run) is a runaway
  default_mfu: 0.4
```
"""

from __future__ import annotations

from decimal import Decimal

from pydantic import Field, field_validator

from aifinops.core.section import Section

__all__ = [
    "GpuSettings",
    "TrainingSettings",
    "HostMapping",
    "KubernetesMapping",
    "EndpointMapping",
    "ScrapeTarget",
    "GPU_PRICING_MODES",
]

GPU_PRICING_MODES = ("on_demand", "reserved", "spot")


class _Owner(Section):
    team: str | None = None
    project: str | None = None
    endpoint: str | None = None
    job: str | None = None
    environment: str | None = None


class HostMapping(_Owner):
    """A host (glob) or one of its GPUs (index or UUID glob): its price and its owner."""

    host: str
    gpu: str | None = None
    provider: str | None = None
    instance_type: str | None = None
    gpu_type: str | None = None
    pricing_mode: str = "on_demand"
    rate_per_gpu_hour: Decimal | None = Field(default=None, ge=0)
    ledger: bool = False  # also write hourly GPU cost records from telemetry (no other bill covers this host)

    @field_validator("pricing_mode")
    @classmethod
    def _mode(cls, value: str) -> str:
        if value not in GPU_PRICING_MODES:
            raise ValueError(f"must be one of {', '.join(GPU_PRICING_MODES)}")
        return value


class KubernetesMapping(_Owner):
    """Pods matching these labels (globs; unset = any) belong to this owner."""

    namespace: str | None = None
    pod: str | None = None
    container: str | None = None


class EndpointMapping(Section):
    """A self-hosted inference endpoint: the token records it served and the hosted models to compare with."""

    name: str
    provider: str | None = None
    model: str | None = None
    compare_to: list[str] | None = None


class ScrapeTarget(Section):
    """A DCGM exporter to scrape."""

    url: str
    interval: float = Field(default=30.0, gt=0, le=3600)


class GpuSettings(Section):
    """The ``gpus`` section of aifinops.yaml."""

    idle_threshold: float = 0.15  # a fraction: 0.15 is 15 %
    grid_intensity: float | None = Field(default=None, ge=0)  # gCO2e per kWh
    sample_interval: float = Field(default=60.0, gt=0, le=86400)  # seconds a sample stands for, when unknown
    hosts: list[HostMapping] = Field(default_factory=list)
    kubernetes: list[KubernetesMapping] = Field(default_factory=list)
    endpoints: list[EndpointMapping] = Field(default_factory=list)
    compare_to: list[str] = Field(default_factory=lambda: ["gpt-4o-mini", "gpt-4.1-mini", "claude-haiku-4-5"])
    scrape: list[ScrapeTarget] = Field(default_factory=list)

    @field_validator("idle_threshold")
    @classmethod
    def _threshold(cls, value: float) -> float:
        if not 0 <= value <= 1:
            raise ValueError(f"is a fraction between 0 and 1 (0.15 means 15 %), not {value}")
        return value


class TrainingSettings(Section):
    """The ``training`` section of aifinops.yaml."""

    approval_threshold: Decimal = Field(default=Decimal(25000), ge=0)
    runaway_margin: float = Field(default=0.25, ge=0)
    default_mfu: float = Field(default=0.4, gt=0, le=1)
    mfu_spread: float = Field(default=0.25, ge=0, lt=1)  # the low-high range: MFU x (1 +- spread)
    default_provider: str = "aws"

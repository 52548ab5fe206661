"""The KPI registry: every KPI of the FinOps-for-AI practice, with its unit, formula and compute function.

Each compute function takes one group's :class:`~aifinops.kpis.inputs.KpiInputs` and returns the value or
None. A None comes with a note: the inputs' own note (the data is not available, e.g. no GPU telemetry yet)
or the KPI's ``empty`` note (the denominator is zero in this group). A KPI is never a made-up number.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from aifinops.core.money import quantize
from aifinops.kpis.inputs import KpiInputs

__all__ = ["Kpi", "KPIS", "compute_kpis", "definitions"]

_THOUSAND = Decimal(1000)


@dataclass(frozen=True)
class Kpi:
    """One KPI: ``name`` (the column), ``unit``, the ``formula`` in words, and how to compute it."""

    name: str
    title: str
    unit: str
    formula: str
    compute: Callable[[KpiInputs], Any]
    empty: str  # why the value is null when the inputs are there but the denominator is zero

    def describe(self) -> dict[str, str]:
        """The definition without the function (for docs, the API and the CLI)."""
        return {
            "name": self.name,
            "title": self.title,
            "unit": self.unit,
            "formula": self.formula,
            "empty": self.empty,
        }


def _money_per(amount: Decimal, count: int | float | Decimal | None) -> Decimal | None:
    if not count:
        return None
    return quantize(amount / Decimal(str(count)))


def _ratio(num: float | Decimal, den: float | Decimal | None) -> float | None:
    if not den:
        return None
    return float(Decimal(str(num)) / Decimal(str(den)))


def _per_1k(i: KpiInputs) -> Decimal | None:
    per = _money_per(i.inference_cost, i.inference_requests)
    return None if per is None else quantize(per * _THOUSAND)


def _latency_to_cost(i: KpiInputs) -> float | None:
    per = _money_per(i.inference_cost, i.inference_requests)
    if i.latency_ms_mean is None or not per:
        return None
    return i.latency_ms_mean / float(per)


def _roi(i: KpiInputs) -> float | None:
    if i.value is None or not i.cost:
        return None
    return float((i.value - i.cost) / i.cost)


def _cost_per_outcome(i: KpiInputs) -> Decimal | None:
    return None if i.outcomes is None else _money_per(i.cost, i.outcomes)


def _training_efficiency(i: KpiInputs) -> Decimal | None:
    if i.training_useful_gpu_hours is None:
        return None
    return _money_per(i.training_cost, i.training_useful_gpu_hours)


_K = Kpi
KPIS: tuple[Kpi, ...] = (
    _K("cost_per_inference", "Cost per inference", "USD/inference",
       "inference spend / inference requests; inference = categories hosted_inference, self_hosted_inference "
       "and embedding (self-hosted GPU hours included)",
       lambda i: _money_per(i.inference_cost, i.inference_requests), "no inference requests"),
    _K("cost_per_1k_inferences", "Cost per 1,000 inferences", "USD/1k inferences",
       "1000 x cost_per_inference", _per_1k, "no inference requests"),
    _K("cost_per_api_call", "Cost per API call", "USD/call",
       "spend outside training and storage_transfer / requests (every metered model call: inference, "
       "embedding, evaluation, labelling)",
       lambda i: _money_per(i.call_cost, i.requests), "no requests"),
    _K("cost_per_input_token", "Cost per input token", "USD/token",
       "input-side token spend / input tokens (uncached, cache reads and cache writes); each model's token "
       "spend is split into input and output sides in proportion to its catalog list rates",
       lambda i: _money_per(i.input_cost, i.split_input_tokens), "no priced input tokens"),
    _K("cost_per_output_token", "Cost per output token", "USD/token",
       "output-side token spend / output tokens (reasoning included), split as for cost_per_input_token",
       lambda i: _money_per(i.output_cost, i.split_output_tokens), "no priced output tokens"),
    _K("cost_per_token", "Cost per token (blended)", "USD/token",
       "token-metered spend / (input + output tokens); token-metered spend = records with tokens, except "
       "self-hosted requests (tag cost_in=gpu) whose money is in GPU hours",
       lambda i: _money_per(i.token_cost, i.input_tokens + i.output_tokens), "no token-metered spend"),
    _K("token_cost_efficiency", "Token cost efficiency", "output tokens/USD",
       "output tokens / token-metered spend: useful tokens delivered per dollar (higher is better; moves with "
       "prompt size, caching and model choice)",
       lambda i: _ratio(i.output_tokens, i.token_cost), "no token-metered spend"),
    _K("cost_per_training_run", "Cost per training run", "USD/run",
       "training spend / distinct training runs (records of category training, run = tag run_id); a run "
       "that crosses the period edge counts in each period with the spend inside it",
       lambda i: _money_per(i.training_cost, i.training_runs), "no training runs"),
    _K("training_cost_efficiency", "Training cost efficiency", "USD/useful GPU-hour",
       "training spend / useful GPU-hours, useful GPU-hours = sum of GPU-hours x GPU utilization (tag "
       "gpu_util, 0-1) over training records that report it",
       _training_efficiency, "no training GPU-hours with utilization"),
    _K("gpu_utilization_rate", "GPU utilization rate", "fraction 0-1",
       "busy GPU-hours / provisioned GPU-hours (from the GPU telemetry area)",
       lambda i: i.gpu_utilization, "no GPU-hours"),
    _K("inference_latency_to_cost_ratio", "Inference latency-to-cost ratio", "ms/USD",
       "mean latency of inference requests (ms, records with latency_ms) / cost_per_inference (USD); lower "
       "means slower per dollar, higher means faster answers bought per dollar",
       _latency_to_cost, "no inference requests with latency"),
    _K("model_fit_score", "Model fit score", "fraction 0-1",
       "sum over (use case, model) of tokens x the use case's cheapest observed cost per token / actual token "
       "spend; 1.0 = every token went to the cheapest model already serving that use case (models with at "
       "least 1% of its tokens). Measures price fit only, not quality",
       lambda i: _ratio(i.fit_cheapest_cost, i.fit_actual_cost), "no token spend with a use case"),
    _K("ai_roi", "AI ROI", "fraction",
       "(value of outcomes - spend) / spend", _roi, "no valued outcomes or no spend"),
    _K("time_to_value_days", "Time to value", "days",
       "per feature: first outcome - first record (spend); a group shows the median over its features",
       lambda i: i.time_to_value_days, "no feature with both spend and an outcome"),
    _K("time_to_first_deployment_days", "Time to first deployment", "days",
       "per feature: first record in environment prod - first record in any environment; median per group",
       lambda i: i.time_to_first_deployment_days, "no feature with prod spend"),
    _K("anomaly_detection_rate", "Anomaly detection rate", "fraction 0-1",
       "anomalies detected / anomalies that happened (from the anomaly area)",
       lambda i: i.anomaly_detection_rate, "no anomalies in the period"),
    _K("mean_time_to_detect_minutes", "Mean time to detect", "minutes",
       "mean of (detected at - started at) over detected anomalies (from the anomaly area)",
       lambda i: i.mttd_minutes, "no detected anomalies"),
    _K("cost_per_feature", "Unit cost per feature", "USD/feature",
       "spend of records with a feature / distinct features", lambda i: _money_per(i.feature_cost, i.features),
       "no spend with a feature"),
    _K("cost_per_customer", "Unit cost per customer", "USD/customer",
       "spend of records with a customer / distinct customers",
       lambda i: _money_per(i.customer_cost, i.customers), "no spend with a customer"),
    _K("cost_per_transaction", "Unit cost per transaction", "USD/transaction",
       "spend / transactions, transaction = one end-to-end request: a distinct trace_id (an agent run or a "
       "chat turn with its tool calls), or one call when the record has no trace",
       lambda i: _money_per(i.cost, i.transactions), "no transactions"),
    _K("cost_per_outcome", "Unit cost per outcome", "USD/outcome",
       "spend / business outcomes (sum of outcome counts)", _cost_per_outcome, "no outcomes"),
)  # fmt: skip

_BY_NAME = {k.name: k for k in KPIS}


def definitions() -> list[dict[str, str]]:
    """Every KPI's name, title, unit and formula."""
    return [k.describe() for k in KPIS]


def compute_kpis(inputs: KpiInputs, names: list[str] | None = None) -> tuple[dict[str, Any], dict[str, str]]:
    """``(values, notes)``: each KPI's value, and for every null value why it is null."""
    values: dict[str, Any] = {}
    notes: dict[str, str] = {}
    for kpi in KPIS if names is None else [_BY_NAME[n] for n in names]:
        value = kpi.compute(inputs)
        values[kpi.name] = value
        if value is None:
            notes[kpi.name] = inputs.notes.get(kpi.name, kpi.empty)
    return values, notes

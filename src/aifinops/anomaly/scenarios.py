"""Labelled scenarios over realistic seasonal traffic, for the evaluation harness.

Each owner gets business-hours traffic in its own time zone, quieter weekends, organic growth, a few
models, Poisson request counts with noisy costs and token counts, a small error/retry rate and agent
workflows. Most owners then get one injected scenario: a spike, a slow ramp, prompt bloat, a model-mix
shift, a runaway agent, an error surge, or a deep weekend dip (labelled *not* an anomaly).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import numpy as np

from aifinops.anomaly.model import OwnerSeries
from aifinops.anomaly.resources import Workflow

__all__ = ["Scenario", "World", "SCENARIO_KINDS", "ACCEPTS", "generate_world"]

SCENARIO_KINDS = ("spike", "ramp", "prompt_bloat", "mix_shift", "runaway_agent", "error_surge", "weekend_dip")
#: Which anomaly kinds count as finding each scenario (a weekend dip must not be found at all).
ACCEPTS: dict[str, tuple[str, ...]] = {
    "spike": ("spend_spike", "spend_shift"),
    "ramp": ("spend_shift", "spend_spike"),
    "prompt_bloat": ("prompt_bloat", "spend_shift", "spend_spike"),
    "mix_shift": ("model_mix_shift", "spend_shift", "spend_spike"),
    "runaway_agent": ("runaway_workflow",),
    "error_surge": ("error_surge", "retry_surge"),
    "weekend_dip": (),
}
_MODELS = (("small", 1.0), ("medium", 4.0), ("large", 20.0))  # relative cost per request


@dataclass
class Scenario:
    """One injected scenario: ``[start, end)`` for ``owner``."""

    kind: str
    owner: str
    start: datetime
    end: datetime
    magnitude: float


@dataclass
class World:
    """Generated owners, their workflows and the labels."""

    series: list[OwnerSeries]
    workflows: list[Workflow]
    scenarios: list[Scenario]
    test_start: datetime
    end: datetime
    daily_cost: dict[str, np.ndarray] = field(default_factory=dict)  # owner -> daily totals


def _profile(spd: int, tz: int, rng: np.random.Generator) -> np.ndarray:
    hours = (np.arange(spd) * 24 / spd + tz) % 24
    peak = rng.uniform(13, 16)
    bump = np.exp(-0.5 * ((hours - peak) / rng.uniform(2.5, 4.0)) ** 2)
    return 0.15 + bump


def generate_world(
    seed: int,
    *,
    owners: int = 24,
    weeks: int = 5,
    test_weeks: int = 2,
    step_minutes: int = 5,
    start: datetime | None = None,
    inject: bool = True,
) -> World:
    """A deterministic world for ``seed``: ``weeks`` of data, scenarios in the last ``test_weeks``
    (``inject=False``: clean traffic only, for forecast accuracy)."""
    rng = np.random.default_rng(seed)
    step = timedelta(minutes=step_minutes)
    spd = int(timedelta(days=1) / step)
    days = weeks * 7
    n = days * spd
    start = start or datetime(2026, 1, 5, tzinfo=UTC) + timedelta(days=int(rng.integers(0, 7)))
    test_start = start + timedelta(days=days - test_weeks * 7)
    t_days = np.arange(n) / spd
    weekday = ((start.weekday() + np.floor(t_days)).astype(int)) % 7
    series, workflows, scenarios = [], [], []
    daily_cost: dict[str, np.ndarray] = {}
    kinds = [SCENARIO_KINDS[i % len(SCENARIO_KINDS)] for i in range(owners)]
    rng.shuffle(kinds)
    for o in range(owners):
        owner = f"team-{o:02d}"
        per_day = float(np.exp(rng.uniform(np.log(500), np.log(40_000))))
        weekend = rng.uniform(0.3, 0.6)
        growth = rng.uniform(0.0, 0.006)
        prof = np.tile(_profile(spd, int(rng.integers(-8, 9)), rng), days)
        prof = prof / prof[:spd].mean()
        day_noise = np.repeat(rng.lognormal(0, 0.06, days), spd)
        hour_noise = np.repeat(rng.lognormal(0, 0.05, days * 24), spd // 24)
        rate = per_day / spd * prof * np.where(weekday >= 5, weekend, 1.0) * (1 + growth) ** t_days
        rate = rate * day_noise * hour_noise
        unit = float(np.exp(rng.uniform(np.log(0.001), np.log(0.03))))
        unit = max(unit, 20.0 / per_day)  # every owner spends at least ~20 a day
        shares = rng.dirichlet([4.0, 2.0, 0.5])
        tokens = float(np.exp(rng.uniform(np.log(300), np.log(6000))))
        p_err, p_retry = rng.uniform(0.002, 0.01), rng.uniform(0.005, 0.02)
        mult = np.ones(n)  # volume multiplier
        extra = np.zeros(n)  # additive spike volume
        tok_mult = np.ones(n)
        err_p = np.full(n, p_err)
        mix = np.tile(shares[:, None], (1, n))
        kind = kinds[o] if inject else "none"
        t0 = int(rng.integers(int((days - test_weeks * 7) * spd), n - 3 * spd))
        sc_end = t0
        if kind == "spike":
            d = int(rng.integers(spd // 24, spd // 8))  # 1 to 3 hours
            mag = rng.uniform(3, 8)
            extra[t0 : t0 + d] = mag * per_day / spd
            sc_end = t0 + d
        elif kind == "ramp":
            d = int(rng.integers(spd, 2 * spd))
            mag = rng.uniform(0.8, 1.5)
            mult[t0 : t0 + d] = 1 + mag * np.arange(1, d + 1) / d
            mult[t0 + d : t0 + 3 * spd] = 1 + mag
            sc_end = min(n, t0 + 3 * spd)
        elif kind == "prompt_bloat":
            d = int(rng.integers(spd // 2, 2 * spd))
            mag = rng.uniform(2.0, 3.5)
            tok_mult[t0 : t0 + d] = mag
            sc_end = t0 + d
        elif kind == "mix_shift":
            mag = rng.uniform(0.6, 1.0)
            target = np.array([1 - mag, 0.0, mag]) if shares[2] < 0.5 else np.array([mag, 1 - mag, 0.0])
            mix[:, t0:] = target[:, None]
            sc_end = n
        elif kind == "error_surge":
            d = int(rng.integers(spd // 12, spd // 4))
            mag = rng.uniform(0.2, 0.5)
            err_p[t0 : t0 + d] = mag
            sc_end = t0 + d
        elif kind == "weekend_dip":
            sat = np.flatnonzero((weekday == 5) & (np.arange(n) >= t0 - 4 * spd))
            t0 = int(sat[0]) if len(sat) else t0
            mag = rng.uniform(0.3, 0.6)
            mult[t0 : t0 + 2 * spd] = mag
            sc_end = t0 + 2 * spd
        elif kind == "runaway_agent":  # its volume is in the workflow list only
            mag = float(rng.integers(300, 2000))
            sc_end = t0 + int(rng.integers(spd // 24, spd // 8))
        else:
            mag = 0.0
        lam = rate * mult + extra
        reqs = rng.poisson(lam).astype(float)
        model_reqs = _split(rng, reqs.astype(int), mix)
        costs = np.zeros(n)
        models = {}
        for i, (name, rel) in enumerate(_MODELS):
            k = model_reqs[i].astype(float)
            c = unit * rel * (k + np.sqrt(k) * 0.6 * rng.standard_normal(n)).clip(0)
            c = c * (0.5 + 0.5 * tok_mult)  # input is about half of the cost
            costs += c
            models[name] = (k, c)
        in_tokens = tokens * tok_mult * (reqs + np.sqrt(reqs) * 0.4 * rng.standard_normal(n)).clip(0)
        errors = rng.binomial(reqs.astype(int), err_p).astype(float)
        retries = rng.binomial(reqs.astype(int), np.clip(p_retry + 0.8 * (err_p - p_err), 0, 1)).astype(float)
        series.append(OwnerSeries(owner, start, step, costs, reqs, in_tokens, errors, retries, models))
        daily_cost[owner] = costs.reshape(days, spd).sum(axis=1)
        workflows.extend(_workflows(rng, owner, start, step, rate, unit, kind, t0, sc_end, mag))
        if kind != "none":
            scenarios.append(Scenario(kind, owner, start + t0 * step, start + sc_end * step, float(mag)))
    return World(series, workflows, scenarios, test_start, start + n * step, daily_cost)


def _split(rng: np.random.Generator, reqs: np.ndarray, mix: np.ndarray) -> np.ndarray:
    out = np.zeros((3, len(reqs)))
    left = reqs.copy()
    rest = np.ones(len(reqs))
    for i in range(2):
        p = np.clip(mix[i] / np.clip(rest, 1e-9, None), 0, 1)
        out[i] = rng.binomial(left, p)
        left = left - out[i].astype(int)
        rest = rest - mix[i]
    out[2] = left
    return out


def _workflows(
    rng: np.random.Generator,
    owner: str,
    start: datetime,
    step: timedelta,
    rate: np.ndarray,
    unit: float,
    kind: str,
    t0: int,
    t1: int,
    mag: float,
) -> list[Workflow]:
    """A few agent workflows a day (their calls are part of the owner's traffic), plus the runaway one."""
    out = []
    starts = np.flatnonzero(rng.random(len(rate)) < np.clip(rate / rate.max() * 0.05, 0, 1))
    for i, slot in enumerate(starts):
        calls = max(1, int(rng.lognormal(np.log(8), 0.6)))
        begin = start + int(slot) * step
        dur = timedelta(minutes=float(calls * rng.uniform(0.2, 1.0)))
        out.append(Workflow(f"{owner}-wf{i}", owner, "agent", begin, begin + dur, calls, calls * unit * 3))
    if kind == "runaway_agent":
        begin, end = start + t0 * step, start + t1 * step
        out.append(Workflow(f"{owner}-runaway", owner, "agent", begin, end, int(mag), mag * unit * 3))
    return out

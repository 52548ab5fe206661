"""Noise models for the spend detectors: how noisy an owner's spend is (request costs, bursts), a Poisson
test on request counts, and the size of the owner's usual bursts. Causal, like the baselines."""

from __future__ import annotations

import numpy as np

from aifinops.anomaly.baseline import Baseline, lagged, window_sum
from aifinops.anomaly.model import DetectorConfig, OwnerSeries

__all__ = ["count_surge", "noise_unit", "past_max", "poisson_tail_z"]


def past_max(x: np.ndarray, span: int) -> np.ndarray:
    """The largest value of ``x`` over the ``span`` slots before each slot (0 before any)."""
    from numpy.lib.stride_tricks import sliding_window_view

    padded = np.concatenate((np.zeros(span), x))
    return np.maximum(sliding_window_view(padded[:-1], span).max(axis=1), 0.0)


def noise_unit(s: OwnerSeries, c_hist: np.ndarray, r_hist: np.ndarray) -> np.ndarray:
    """Spend noise per unit of expected spend, from the week before each slot: ``E[c^2] / E[c]`` of the
    cost ``c`` of one request (a compound Poisson sum of ``k`` requests has variance ``k E[c^2]``).

    ``E[c]`` is the mean cost per request; the spread of request costs is estimated from each slot's
    deviation from ``k E[c]``: ``(S - k E[c])^2 / k``. Owners whose spend is a few very expensive requests
    among many cheap ones get a wide noise band, so one costly call is not a spike (their surges are
    caught on request counts, see :func:`count_surge`)."""
    week = 7 * s.slots_per_day
    mean = np.where(r_hist > 0, c_hist / np.maximum(r_hist, 1), 0.0)  # cost per request, the week before
    k = s.requests
    prev = np.concatenate(([0.0], mean[:-1]))  # the unit known before the slot (stays causal)
    with np.errstate(all="ignore"):
        dev = np.where(k > 0, (s.cost - k * prev) ** 2 / np.maximum(k, 1), 0.0)
    counted = np.concatenate(([0.0], window_sum((k > 0).astype(float), week)[:-1]))
    spread = np.concatenate(([0.0], window_sum(dev, week)[:-1])) / np.maximum(counted, 1)
    with np.errstate(all="ignore"):
        compound = np.where(mean > 0, mean + spread / np.maximum(mean, 1e-12), 0.0)
    # requests that come in bursts (an agent's calls, a batch) spread spend further: the dispersion index
    # Var/mean of spend, from the same slot a day apart (E[(x - y)^2] / E[x + y] = Var/mean when the
    # means match), at the same time of day (+-1 h) on the seven days before (bursts of agent calls make
    # quiet hours far noisier than busy ones); seasonal_baseline's counting term is 2 x expected x unit
    spd = s.slots_per_day
    prev_day = np.concatenate((np.full(spd, np.nan), s.cost[:-spd]))
    both = ~np.isnan(prev_day)
    sq = np.where(both, (s.cost - np.nan_to_num(prev_day)) ** 2, 0.0)
    tot = np.where(both, s.cost + np.nan_to_num(prev_day), 0.0)
    half = max(1, spd // 24)
    lags = [k * spd + j for k in range(1, 8) for j in range(-half, half + 1, max(1, half // 3))]
    sq_w, tot_w = np.nansum(lagged(sq, lags), axis=0), np.nansum(lagged(tot, lags), axis=0)
    with np.errstate(all="ignore"):
        dispersion = np.where(tot_w > 0, sq_w / tot_w, 0.0)
    return np.maximum(compound, dispersion / 2)


def poisson_tail_z(k: np.ndarray, lam: np.ndarray) -> np.ndarray:
    """The normal score of ``P(X >= k)`` for ``X ~ Poisson(lam)`` (Wilson-Hilferty; accurate in the far
    tail for every ``k >= 1``). 0 where ``k < 1`` or ``k <= lam``."""
    k = np.asarray(k, dtype=float)
    lam = np.maximum(np.asarray(lam, dtype=float), 1e-9)
    kk = np.maximum(k, 1.0)
    with np.errstate(all="ignore"):
        z = 3.0 * np.sqrt(kk) * ((1.0 - 1.0 / (9.0 * kk)) - np.cbrt(lam / kk))
    return np.where((k >= 1) & (k > lam), z, 0.0)


def count_surge(s: OwnerSeries, cfg: DetectorConfig, rb: Baseline, spend_expected: np.ndarray) -> np.ndarray:
    """Slots where the request count over the last one or two slots is far in the Poisson tail of the
    usual count for that hour of the week (``rb``, inflated for day-to-day variation), and spend rose
    with it."""
    lam = rb.expected * (1.0 + cfg.count_slack) + 0.5  # forecast error and overdispersion
    out = np.zeros(len(s), dtype=bool)
    for m in (1, 2):
        k = window_sum(s.requests, m)
        lam_m = window_sum(lam, m)
        spend, usual = window_sum(s.cost, m), window_sum(spend_expected, m)
        z = poisson_tail_z(k, lam_m)
        up = (spend > (1 + cfg.min_relative) * usual) & (s.cost > 0)
        out |= rb.ready & (z > cfg.z(cfg.count_z)) & (k >= cfg.count_min) & up
    # a sustained surge too weak for one or two slots: a Poisson CUSUM for the rate doubling
    # (log-likelihood ratio k ln 2 - lam per slot), restarted whenever it falls to zero
    llr = np.where(rb.ready, s.requests * np.log(2.0) - lam, 0.0)
    acc, start = 0.0, 0
    cusum, began = np.zeros(len(s)), np.zeros(len(s), dtype=int)
    for i, v in enumerate(llr):  # plain loop, as the spend CUSUM
        if acc <= 0.0:
            start = i
        acc = max(0.0, acc + v)
        cusum[i], began[i] = acc, start
    spent = np.cumsum(s.cost) - np.concatenate(([0.0], np.cumsum(s.cost)))[began]
    usual = np.cumsum(spend_expected) - np.concatenate(([0.0], np.cumsum(spend_expected)))[began]
    out |= (cusum > cfg.z(cfg.count_cusum)) & (spent > (1 + cfg.min_relative) * usual)
    return out

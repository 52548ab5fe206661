"""Seasonal robust baselines, computed causally: the value expected at slot ``t`` uses only slots before ``t``.

The expected value of a slot is the median of the same slot in the previous weeks (weekly seasonality: a
quiet Sunday is compared with earlier Sundays), or of the previous days when fewer than two weeks are
known; it is scaled by the recent level (observed over expected in the last week, so organic growth is
not an anomaly) and comes with a robust noise scale (the median absolute deviation of recent residuals).
Because every value at ``t`` depends only on the past, running the whole array once gives exactly what a
live detector running every interval would have seen.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["Baseline", "lagged", "seasonal_baseline", "window_sum", "pick_window", "segments"]

_MAD = 1.4826


def lagged(y: np.ndarray, lags: list[int]) -> np.ndarray:
    """Rows of ``y`` shifted by each lag (NaN where the lag reaches before the start)."""
    out = np.full((len(lags), len(y)), np.nan)
    for i, lag in enumerate(lags):
        if 0 < lag < len(y):
            out[i, lag:] = y[:-lag]
    return out


def window_sum(x: np.ndarray, w: int) -> np.ndarray:
    """Trailing sums over ``w`` slots (the first ``w - 1`` are partial sums)."""
    if w <= 1:
        return x.astype(float)
    c = np.concatenate(([0.0], np.cumsum(x, dtype=float)))
    idx = np.arange(1, len(x) + 1)
    return c[idx] - c[np.maximum(idx - w, 0)]


def pick_window(x: np.ndarray, spd: int, choices: tuple[int, ...] = (1, 2, 3, 6, 12, 24)) -> int:
    """The shortest trailing window (in slots) over which the series is rarely empty (sparse series)."""
    hist = x[: max(len(x) - spd, spd)]
    for w in choices:
        if w > spd:
            break
        y = window_sum(hist, w)[w:]
        if len(y) and np.mean(y <= 0) < 0.1:
            return w
    return min(choices[-1], max(1, spd // 12))


@dataclass
class Baseline:
    """Expected value, noise scale and readiness per slot of a (window-summed) series."""

    expected: np.ndarray
    sigma: np.ndarray
    ready: np.ndarray  # enough history for a verdict


def _rolling_ratio(y: np.ndarray, e: np.ndarray, lo: int, hi: int) -> np.ndarray:
    """sum(y) / sum(e) over slots ``[t - hi, t - lo)`` where both are known."""
    ok = ~np.isnan(e)
    cy = np.concatenate(([0.0], np.cumsum(np.where(ok, y, 0.0))))
    ce = np.concatenate(([0.0], np.cumsum(np.where(ok, e, 0.0))))
    t = np.arange(len(y))
    a, b = np.clip(t - hi, 0, None), np.clip(t - lo, 0, None)
    sy, se = cy[b] - cy[a], ce[b] - ce[a]
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(se > 0, sy / se, 1.0)
    return np.clip(np.nan_to_num(ratio, nan=1.0), 0.8, 1.25)


def seasonal_baseline(
    y: np.ndarray, spd: int, *, weeks: int = 4, min_days: float = 7.0, unit: np.ndarray | float = 0.0
) -> Baseline:
    """The causal seasonal baseline of ``y`` (slots per day ``spd``).

    ``unit`` is the size of one event (cost per request) when ``y`` sums events: it adds counting noise
    (``expected x unit``), which dominates in quiet hours.
    """
    n = len(y)
    week = 7 * spd
    smooth = _centered_mean(y, max(1, spd // 48))  # +-30 min: lags reach a day back, so this stays causal
    by_week = lagged(smooth, [k * week for k in range(1, weeks + 1)])
    by_day = lagged(smooth, [k * spd for k in range(1, 8)])
    n_week = np.sum(~np.isnan(by_week), axis=0)
    n_day = np.sum(~np.isnan(by_day), axis=0)
    with np.errstate(all="ignore"), _quiet():
        weekly = np.nanmedian(by_week, axis=0)
        daily = np.nanmedian(by_day, axis=0)
    expected = np.where(n_week >= 2, weekly, np.where(n_day >= 3, daily, np.nan))
    level = _rolling_ratio(
        y, np.where(n_week >= 2, weekly, np.nan), spd, week
    )  # recent level vs weekly baseline
    expected = expected * level
    resid = y - expected
    # relative noise: MAD of residuals at the same time of day (+-30 min) on each of the seven days before
    # (noise depends on the hour; an anomaly under way does not inflate its own noise estimate)
    half = max(1, spd // 48)
    step = max(1, half // 3)
    past_mean = np.concatenate(([0.0], window_sum(y, week)[:-1])) / week  # mean of the week before t
    scale = np.maximum(np.nan_to_num(expected, nan=0.0), 0.2 * past_mean)
    with np.errstate(all="ignore"):
        rel = resid / np.where(scale > 0, scale, np.nan)
    past = lagged(np.abs(rel), [k * spd + j for k in range(1, 8) for j in range(-half, half + 1, step)])
    with np.errstate(all="ignore"), _quiet():
        rel_sigma = _MAD * np.nanmedian(past, axis=0)
        # the spread of the same slot in previous weeks (seasonal heteroscedasticity)
        lag_sigma = _MAD * np.nanmedian(np.abs(by_week - weekly), axis=0) * level
    rel_sigma = np.nan_to_num(rel_sigma, nan=0.5)
    floor = 0.05 * past_mean
    counting = 2.0 * scale * np.asarray(unit, dtype=float)
    # the residual spread already holds the counting noise; the counting term is its floor in quiet slots
    noise = np.maximum((rel_sigma * scale) ** 2, counting)
    sigma = np.sqrt(noise + np.nan_to_num(lag_sigma, nan=0.0) ** 2) + floor + 1e-9
    history = np.arange(n) >= int(min_days * spd)
    ready = history & ~np.isnan(expected)
    return Baseline(np.nan_to_num(expected, nan=0.0), sigma, ready)


def _centered_mean(y: np.ndarray, half: int) -> np.ndarray:
    """Mean over ``[t - half, t + half]`` (shorter at the edges)."""
    c = np.concatenate(([0.0], np.cumsum(y, dtype=float)))
    idx = np.arange(len(y))
    lo, hi = np.clip(idx - half, 0, len(y)), np.clip(idx + half + 1, 0, len(y))
    return (c[hi] - c[lo]) / np.maximum(hi - lo, 1)


def segments(flags: np.ndarray, gap: int) -> list[tuple[int, int]]:
    """``[first, last]`` index pairs of runs of True, merging runs separated by at most ``gap`` slots."""
    idx = np.flatnonzero(flags)
    if not len(idx):
        return []
    out: list[tuple[int, int]] = []
    first = last = int(idx[0])
    for i in idx[1:]:
        i = int(i)
        if i - last > gap + 1:
            out.append((first, last))
            first = i
        last = i
    out.append((first, last))
    return out


class _quiet:
    """Silence numpy's all-NaN warnings inside a block."""

    def __enter__(self) -> None:
        import warnings

        self._w = warnings.catch_warnings()
        self._w.__enter__()
        warnings.simplefilter("ignore", category=RuntimeWarning)

    def __exit__(self, *exc: object) -> None:
        self._w.__exit__(*exc)

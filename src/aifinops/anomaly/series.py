"""Detectors over an owner's series: spend spikes and level shifts, prompt bloat, model-mix shifts,
error and retry surges. Each is causal (see :mod:`aifinops.anomaly.baseline`)."""

from __future__ import annotations

import numpy as np

from aifinops.anomaly.baseline import lagged, pick_window, seasonal_baseline, segments, window_sum
from aifinops.anomaly.model import Anomaly, DetectorConfig, OwnerSeries
from aifinops.anomaly.noise import count_surge, noise_unit, past_max, poisson_tail_z

__all__ = [
    "detect_series",
    "detect_spend",
    "detect_prompt_bloat",
    "detect_rates",
    "detect_mix",
    "poisson_tail_z",
]


def _pct(observed: float, expected: float) -> str:
    if expected <= 0:
        return "from nothing"
    return f"{(observed / expected - 1) * 100:+.0f}%"


def _head(x: np.ndarray, spd: int, cfg: DetectorConfig) -> np.ndarray:
    """The first ``min_history_days`` of a series: window sizes are chosen from it, so that a verdict never
    depends on how much later data there is (a live run and the harness see the same windows)."""
    return x[: int(cfg.min_history_days * spd)]


def _material_at(
    s: OwnerSeries,
    begin: int,
    first: int,
    last: int,
    excess: np.ndarray,
    cfg: DetectorConfig,
    scale: float = 1.0,
    burn: bool = False,
    floor: float | None = None,
    burst: float = 0.0,
) -> int | None:
    """The first alarmed slot (from ``first`` to ``last``) by which the excess since ``begin`` matters: above
    ``min_impact`` and above a share of the owner's usual daily spend. None when it never does.

    Detection happens there, as a live run would see it: a small excess that grows becomes an anomaly
    only once it is worth someone's attention. With ``burn`` (spend spikes and shifts) a fast excess is
    material as soon as its pace would cross the threshold within ``burn_hours``.
    """
    spd = s.slots_per_day
    lo = max(0, first - 7 * spd)
    daily = float(np.sum(s.cost[lo:first])) / max((first - lo) / spd, 1.0)
    threshold = max(cfg.min_impact if floor is None else floor, scale * cfg.materiality * daily)
    cum = np.cumsum(excess[begin : last + 1])
    ok = cum >= threshold
    if burn:  # a burn rate: at the pace of the excess since the alarm, the threshold is crossed within
        # burn_hours (the quiet lead-in before the alarm does not dilute the pace)
        # and only once the excess outgrows the largest burst of the week before: a bursty owner's usual
        # short bursts (an agent's run, a batch) come and go; only cumulative excess makes them material
        lead = first - begin
        since_alarm = cum - np.concatenate(([0.0], cum))[lead] if lead else cum
        pace = since_alarm / np.maximum(np.arange(1, len(cum) + 1) - lead, 1) * (cfg.burn_hours * spd / 24)
        ok[lead:] |= (pace[lead:] >= threshold) & (since_alarm[lead:] > cfg.burst_share * burst)
    hit = np.flatnonzero(ok[first - begin :])
    return first + int(hit[0]) if len(hit) else None


def _ongoing(last: int, n: int, gap: int) -> bool:
    return last >= n - 1 - gap


def detect_spend(s: OwnerSeries, cfg: DetectorConfig) -> list[Anomaly]:
    """Spend above the seasonal baseline: a spike (far above at once) or a level shift (CUSUM of excess).

    Spend noise follows a per-owner model of request costs and bursts (:func:`noise_unit`); request
    counts give a second, Poisson test (:func:`count_surge`) that catches surges of sparse, heavy-tailed
    owners early. An alarm is reported once material (:func:`_material_at`): by its cumulative excess, or
    by its pace when that outgrows the owner's usual bursts.
    """
    spd, n = s.slots_per_day, len(s)
    if n < cfg.min_history_days * spd:
        return []
    w = pick_window(_head(s.cost, spd, cfg), spd)
    y = window_sum(s.cost, w)
    week = 7 * spd
    c_hist = np.concatenate(([0.0], window_sum(s.cost, week)[:-1]))
    r_hist = np.concatenate(([0.0], window_sum(s.requests, week)[:-1]))
    unit = noise_unit(s, c_hist, r_hist)
    base = seasonal_baseline(y, spd, min_days=cfg.min_history_days, unit=unit)
    z = np.where(base.ready, (y - base.expected) / base.sigma, 0.0)
    excess = y - base.expected
    big = (excess > cfg.min_relative * base.expected) & (excess > cfg.min_impact / 4)
    spike = big & (z > cfg.z(cfg.spike_z))
    # a traffic surge: request counts are Poisson and far less noisy than heavy-tailed costs, so a spend
    # spike carried by more requests shows in them first; the spend must still be clearly up
    per_request = None
    for wr in sorted({1, w}) if np.any(s.requests) else ():
        yr = window_sum(s.requests, wr)
        rb = seasonal_baseline(yr, spd, min_days=cfg.min_history_days, unit=1.0)
        per_request = rb if wr == 1 else per_request
        zr = np.where(rb.ready, (yr - rb.expected) / rb.sigma, 0.0)
        surge = (zr > cfg.z(cfg.spike_z)) & (yr > (1 + cfg.min_relative) * rb.expected)
        spike |= surge & (excess > cfg.min_relative * base.expected) & (z > 1.5)
    # sparse and heavy-tailed owners: a few very expensive requests make spend too noisy for a quick
    # verdict, but the request count is Poisson. An exact-tail test of this interval's count (and of the
    # last two intervals') against the same hour of the week catches a burst in its first interval.
    if per_request is not None:
        spike |= count_surge(s, cfg, per_request, base.expected / w)
    # the same test over two and three windows: a spike hidden in one noisy interval shows in the next ones
    e_m, v_m = base.expected.copy(), base.sigma**2
    for m in (2, 3):
        lag = (m - 1) * w
        e_m = e_m + np.concatenate((np.zeros(lag), base.expected[:-lag]))
        v_m = v_m + np.concatenate((base.sigma[:lag], base.sigma[:-lag])) ** 2
        y_m = window_sum(s.cost, m * w)
        z_m = np.where(base.ready, (y_m - e_m) / np.sqrt(v_m), 0.0)
        spike |= (y_m - e_m > cfg.min_relative * e_m) & (z_m > cfg.z(cfg.spike_z)) & (excess > 0)
    # level shifts and ramps: the same test over a two-hour window, plus a CUSUM of its z-scores
    wl = max(w, spd // 12)
    yl = window_sum(s.cost, wl)
    long = seasonal_baseline(yl, spd, min_days=cfg.min_history_days, unit=unit)
    zl = np.where(long.ready, (yl - long.expected) / long.sigma, 0.0)
    excess_l = yl - long.expected
    shift = (
        (excess_l > cfg.min_relative * long.expected)
        & (excess_l > cfg.min_impact / 2)
        & (zl > cfg.z(cfg.shift_z))
    )
    shift &= np.concatenate(([False], shift[:-1]))  # two intervals in a row
    cusum = np.zeros(n)
    acc = 0.0
    drift, limit = cfg.cusum_drift, cfg.z(cfg.cusum_limit)
    zc = np.clip(zl, -2.0, 6.0)
    for i in range(n):  # plain loop: ~30k steps for 90 days at 5 minutes
        acc = max(0.0, acc + zc[i] - drift) if long.ready[i] else 0.0
        cusum[i] = acc
    ramp = (cusum > limit) & (excess_l > 0.1 * long.expected) & (excess_l > cfg.min_impact / 2)
    alarm = spike | shift | ramp
    per_slot = base.expected / w
    bursts = past_max(np.where(base.ready, excess, 0.0), week)
    gap = max(w, spd // 24)
    out = []
    for first, last in segments(alarm, gap):
        begin = first
        while begin > 0 and begin > first - spd and z[begin - 1] > 1.0:
            begin -= 1
        begin = max(0, begin - w + 1)
        end = last + 1
        at = _material_at(
            s, begin, first, last, s.cost - per_slot, cfg, burn=True, burst=float(bursts[first])
        )
        if at is None:
            continue
        observed = float(np.sum(s.cost[begin:end]))
        expected = float(np.sum(per_slot[begin:end]))
        impact = observed - expected
        kind = "spend_spike" if np.any(spike[first : at + 1]) else "spend_shift"
        hours = (end - begin) * s.step.total_seconds() / 3600
        what = "spiked" if kind == "spend_spike" else "shifted up"
        out.append(
            Anomaly(
                kind=kind,
                owner=s.owner,
                subject=s.owner,
                started_at=s.time(begin),
                detected_at=s.time(at + 1),
                last_seen_at=s.time(end),
                expected=expected,
                observed=observed,
                unit="cost",
                impact=impact,
                explanation=(
                    f"spend of {s.owner} {what}: {observed:,.2f} over {hours:.1f} h against {expected:,.2f} "
                    f"expected for those hours of the week ({_pct(observed, expected)})"
                ),
                ongoing=_ongoing(last, n, gap),
                details={"peak_z": round(float(np.max(z[first : last + 1])), 1), "window_slots": w},
            )
        )
    return out


def _trailing_rate(num: np.ndarray, den: np.ndarray, w: int) -> tuple[np.ndarray, np.ndarray]:
    a, b = window_sum(num, w), window_sum(den, w)
    with np.errstate(all="ignore"):
        return np.where(b > 0, a / np.maximum(b, 1e-12), np.nan), b


def detect_prompt_bloat(s: OwnerSeries, cfg: DetectorConfig) -> list[Anomaly]:
    """Input tokens per request well above their level of the past week (at the same time of day)."""
    spd, n = s.slots_per_day, len(s)
    if n < cfg.min_history_days * spd or not np.any(s.requests):
        return []
    w = max(pick_window(_head(s.requests, spd, cfg), spd), 2)
    ratio, reqs = _trailing_rate(s.input_tokens, s.requests, w)
    # the usual level at this time of day: the median over the past seven days at each offset within
    # +-15 min, and the highest of those medians (a nightly batch with long prompts, a few minutes early or
    # late, is not bloat every night); the spread is that of every sample within +-1 h
    half = max(1, spd // 24)
    near = list(range(-max(1, spd // 96), max(1, spd // 96) + 1))
    wide = list(range(-half, half + 1, max(1, half // 2)))
    with np.errstate(all="ignore"):
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            days = lagged(ratio, [k * spd + j for j in near for k in range(1, 8)]).reshape(len(near), 7, n)
            med = np.nanmax(np.nanmedian(days, axis=1), axis=0)
            past = lagged(ratio, [k * spd + j for k in range(1, 8) for j in wide])
            mad = 1.4826 * np.nanmedian(np.abs(past - med), axis=0)
    ready = (np.arange(n) >= cfg.min_history_days * spd) & ~np.isnan(med) & (reqs >= 5)
    sigma = np.nan_to_num(mad, nan=0.0) + 0.05 * np.nan_to_num(med, nan=0.0) + 1e-9
    z = np.where(ready, (np.nan_to_num(ratio) - np.nan_to_num(med)) / sigma, 0.0)
    with np.errstate(all="ignore"):
        rise = np.nan_to_num(ratio / med - 1, nan=0.0)
    flag = ready & (z > cfg.z(cfg.shift_z)) & (rise > cfg.ratio_rise)
    flag &= np.concatenate(([False], flag[:-1]))
    return _ratio_events(s, flag, ratio, med, w, cfg)


def _ratio_events(
    s: OwnerSeries, flag: np.ndarray, ratio: np.ndarray, med: np.ndarray, w: int, cfg: DetectorConfig
) -> list[Anomaly]:
    spd, n = s.slots_per_day, len(s)
    gap = max(w, spd // 24)
    out = []
    for first, last in segments(flag, gap):
        begin, end = max(0, first - w), last + 1
        expected, observed = float(med[first]), float(np.nanmedian(ratio[first : last + 1]))
        cost = float(np.sum(s.cost[begin:end]))
        impact = cost * (1 - expected / observed) if observed > 0 else 0.0
        with np.errstate(all="ignore"):
            share = np.clip(
                np.nan_to_num(1 - expected / ratio), 0, 1
            )  # the part of each slot's cost that is bloat
        at = _material_at(s, begin, first, last, s.cost * share, cfg)  # slow-burn kinds: 10 % of a day
        if at is None:
            continue
        out.append(
            Anomaly(
                kind="prompt_bloat",
                owner=s.owner,
                subject=s.owner,
                started_at=s.time(begin),
                detected_at=s.time(at + 1),
                last_seen_at=s.time(end),
                expected=expected,
                observed=observed,
                unit="tokens/request",
                impact=impact,
                explanation=(
                    f"prompts of {s.owner} grew: {observed:,.0f} input tokens per request against "
                    f"{expected:,.0f} usual ({_pct(observed, expected)}); the extra tokens cost about {impact:,.2f}"
                ),
                ongoing=_ongoing(last, n, gap),
            )
        )
    return out


def detect_rates(s: OwnerSeries, cfg: DetectorConfig) -> list[Anomaly]:
    """Error and retry rates far above their usual level (binomial z-score against the past week's rate)."""
    out: list[Anomaly] = []
    spd, n = s.slots_per_day, len(s)
    if n < cfg.min_history_days * spd or not np.any(s.requests):
        return out
    week = 7 * spd
    hourly = window_sum(_head(s.requests, spd, cfg), max(1, spd // 24)) / max(1, spd // 24)
    per_slot = float(np.percentile(hourly, 20))  # quiet hours count: size the window for them
    w = int(np.clip(np.ceil(40 / max(per_slot, 1e-9)), 3, spd // 8))  # ~40 requests per window
    for kind, counts in (("error_surge", s.errors), ("retry_surge", s.retries)):
        rate, reqs = _trailing_rate(counts, s.requests, w)
        c_hist = np.concatenate(([0.0], window_sum(counts, week)[:-1]))
        r_hist = np.concatenate(([0.0], window_sum(s.requests, week)[:-1]))
        p0 = np.clip((c_hist + 1) / (r_hist + 100), 0.002, 0.5)  # smoothed usual rate before t
        k = np.nan_to_num(rate) * reqs
        z = (k - reqs * p0) / np.sqrt(reqs * p0 * (1 - p0) + 1e-9)
        ready = np.arange(n) >= cfg.min_history_days * spd
        r = np.nan_to_num(rate)
        flag = ready & (z > cfg.z(cfg.shift_z)) & (r > cfg.rate_factor * p0) & (r > cfg.rate_floor)
        flag &= (k >= 8) & (reqs >= 30)
        gap = max(w, spd // 24)
        per_request = np.where(s.requests > 0, s.cost / np.maximum(s.requests, 1), 0.0)
        wasted = np.maximum(0.0, counts - p0 * s.requests) * per_request
        for first, last in segments(flag, gap):
            if _material_at(s, first, first, last, wasted, cfg, scale=0.0, floor=cfg.min_impact / 4) is None:
                continue  # a surge of failed calls worth less than min_impact
            begin, end = max(0, first - w + 1), last + 1
            got = float(np.sum(counts[begin:end]))
            total = float(np.sum(s.requests[begin:end]))
            usual = float(p0[first])
            share = got / total if total else 0.0
            per_request = float(np.sum(s.cost[begin:end])) / total if total else 0.0
            impact = max(0.0, got - usual * total) * per_request
            label = "errors" if kind == "error_surge" else "retries"
            out.append(
                Anomaly(
                    kind=kind,
                    owner=s.owner,
                    subject=s.owner,
                    started_at=s.time(begin),
                    detected_at=s.time(first + 1),
                    last_seen_at=s.time(end),
                    expected=usual,
                    observed=share,
                    unit="rate",
                    impact=impact,
                    explanation=(
                        f"{label} of {s.owner} surged to {share:.1%} of requests against {usual:.1%} usual "
                        f"({got:,.0f} of {total:,.0f} requests); the wasted calls cost about {impact:,.2f}"
                    ),
                    ongoing=_ongoing(last, n, gap),
                )
            )
    return out


def detect_mix(s: OwnerSeries, cfg: DetectorConfig) -> list[Anomaly]:
    """Requests moved between models (total variation distance of shares) and cost per request rose."""
    spd, n = s.slots_per_day, len(s)
    if len(s.models) < 2 or n < cfg.min_history_days * spd:
        return []
    names = sorted(s.models)
    w = max(pick_window(_head(s.requests, spd, cfg), spd), spd // 24)
    req = np.array([window_sum(s.models[m][0], w) for m in names])
    days = [k * spd for k in range(1, 8)]  # the same window at the same time of day, the seven days before

    def same_time(x: np.ndarray) -> np.ndarray:
        return np.nansum(lagged(window_sum(x, w), days), axis=0)

    hist = np.array([same_time(s.models[m][0]) for m in names])
    cost_now, cost_hist = window_sum(s.cost, w), same_time(s.cost)
    tot, tot_h = req.sum(axis=0), hist.sum(axis=0)
    with np.errstate(all="ignore"):
        share = req / np.where(tot > 0, tot, np.nan)
        share_h = hist / np.where(tot_h > 0, tot_h, np.nan)
        tvd = 0.5 * np.nansum(np.abs(share - share_h), axis=0)
        cpr = cost_now / np.where(tot > 0, tot, np.nan)
        cpr_h = cost_hist / np.where(tot_h > 0, tot_h, np.nan)
    ready = (np.arange(n) >= cfg.min_history_days * spd) & (tot >= 10) & (tot_h >= 30)
    with np.errstate(all="ignore"):
        rise = np.nan_to_num(cpr / cpr_h)
    flag = ready & (tvd > cfg.mix_distance / cfg.sensitivity) & (rise > 1.3)
    gap = max(w, spd // 24)
    out = []
    for first, last in segments(flag, gap):
        begin, end = max(0, first - w + 1), last + 1
        moved = share[:, first] - share_h[:, first]
        up, down = names[int(np.nanargmax(moved))], names[int(np.nanargmin(moved))]
        reqs = float(np.sum(s.requests[begin:end]))
        observed, expected = float(cpr[last]), float(cpr_h[first])
        impact = float(np.sum(s.cost[begin:end])) - reqs * expected
        at = _material_at(s, begin, first, last, s.cost - s.requests * expected, cfg, scale=4.0)
        if at is None:
            continue
        out.append(
            Anomaly(
                kind="model_mix_shift",
                owner=s.owner,
                subject=s.owner,
                started_at=s.time(begin),
                detected_at=s.time(at + 1),
                last_seen_at=s.time(end),
                expected=expected,
                observed=observed,
                unit="cost/request",
                impact=impact,
                explanation=(
                    f"model mix of {s.owner} shifted: {up} went from {share_h[names.index(up), first]:.0%} to "
                    f"{share[names.index(up), first]:.0%} of requests, {down} from "
                    f"{share_h[names.index(down), first]:.0%} to {share[names.index(down), first]:.0%}; "
                    f"cost per request {observed:.4f} against {expected:.4f} usual"
                ),
                ongoing=_ongoing(last, n, gap),
                details={"from_model": down, "to_model": up, "distance": round(float(tvd[first]), 2)},
            )
        )
    return out


def detect_series(s: OwnerSeries, cfg: DetectorConfig | None = None) -> list[Anomaly]:
    """Every series detector over one owner."""
    cfg = cfg or DetectorConfig()
    s = s.trimmed()
    found: list[Anomaly] = []
    for detector in (detect_spend, detect_prompt_bloat, detect_rates, detect_mix):
        found.extend(detector(s, cfg))
    return found

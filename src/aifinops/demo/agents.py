"""Agent workflows: every model call of a workflow is one gateway record in one trace tree.

- **support-agent**: a Claude main loop (plan, then reply) with 1-4 tool calls, each on the main model or
  on claude-haiku-4-5, some of them summarizing a knowledge-base article with gpt-4.1-mini one level
  deeper. The first call of each model in a workflow writes the system prompt to Anthropic's cache;
  later calls read it.
- **research-agent**: a gpt-5.4 planner (gpt-5 before the feature's migration) fans out to 2-4 mini
  sub-agents running in parallel, each making 1-5 tool calls (o4-mini or gpt-4.1-mini), then the planner's
  model writes the report. Automatic prefix caching after the first call of each model; reasoning tokens
  on the gpt-5 family and o4-mini.
- Later calls of a workflow carry half the earlier outputs and every earlier tool result (web pages, KB
  articles, order histories) in their context, so contexts grow along the workflow (up to 200k tokens).
- The "runaway-agent-loop" incident: one research workflow whose two sub-agents call each other
  :data:`~aifinops.demo.company.RUNAWAY_AGENT_CALLS` times.
"""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta

import numpy as np

from aifinops.core.records import UsageRecord, make_record_id
from aifinops.demo.company import MODELS, RUNAWAY_AGENT_CALLS, TENANTS, Feature
from aifinops.demo.context import DemoContext, feature_index, hex_ids
from aifinops.demo.tokens import prompt_and_output, reasoning_split

__all__ = ["agent_day"]

# A call in a plan: (model, parent index or -1, step, tool or None, timing) with timing one of
# "seq" (after the previous sibling), "par" (right after the parent, in parallel), "last" (after all).
Call = tuple[str, int, str, str | None, str]
_SUPPORT_TOOLS = ("search_kb", "lookup_order", "check_ticket_history", "refund_policy")
_RESEARCH_TOOLS = ("web_search", "fetch_page", "sql_query", "read_pdf")
_MAX_PROMPT = 200_000
#: Mean size (tokens) of a tool's result, which later calls of the workflow carry in their context.
_TOOL_RESULT = {"support-agent": 2500.0, "research-agent": 9000.0}
#: The research agent's sub-agent model for each lead (planner and report) model.
_SUB_AGENT = {"gpt-5": "gpt-5-mini", "gpt-5.4": "gpt-5.4-mini"}


def _pick(r: random.Random, mix: tuple[tuple[str, float], ...]) -> str:
    """A model drawn from a (model, share) mix."""
    u = r.random() * sum(p for _, p in mix)
    for model, p in mix:
        u -= p
        if u < 0:
            return model
    return mix[-1][0]


def _support_plan(r: random.Random, mix: tuple[tuple[str, float], ...]) -> list[Call]:
    main = _pick(r, mix)
    plan: list[Call] = [(main, -1, "plan", None, "seq")]
    for _ in range(1 + sum(r.random() < 0.4 for _ in range(3))):
        tool_model = main if r.random() < 0.6 else "claude-haiku-4-5"
        plan.append((tool_model, 0, "tool", r.choice(_SUPPORT_TOOLS), "seq"))
        if r.random() < 0.2:
            plan.append(("gpt-4.1-mini", len(plan) - 1, "summarize", "search_kb", "seq"))
    plan.append((main, 0, "reply", None, "last"))
    return plan


def _research_plan(r: random.Random, mix: tuple[tuple[str, float], ...]) -> list[Call]:
    lead = mix[0][0]
    plan: list[Call] = [(lead, -1, "plan", None, "seq")]
    for _ in range(r.randint(2, 4)):
        plan.append((_SUB_AGENT[lead], 0, "sub-agent", None, "par"))
        sub = len(plan) - 1
        for _ in range(r.randint(1, 5)):
            model = "o4-mini" if r.random() < 0.4 else "gpt-4.1-mini"
            plan.append((model, sub, "tool", r.choice(_RESEARCH_TOOLS), "seq"))
    plan.append((lead, 0, "report", None, "last"))
    return plan


def _runaway_plan(mix: tuple[tuple[str, float], ...]) -> list[Call]:
    lead = mix[0][0]
    plan: list[Call] = [(lead, -1, "plan", None, "seq")]
    for k in range(RUNAWAY_AGENT_CALLS - 1):
        if k % 2 == 0:
            plan.append((_SUB_AGENT[lead], 0, "sub-agent", None, "seq"))
        else:
            plan.append(("o4-mini", len(plan) - 1, "tool", "fetch_page", "seq"))
    return plan


def _times(r: random.Random, plan: list[Call], t0: float, latency: list[float]) -> list[tuple[float, float]]:
    """Start and end (seconds since midnight) of each call, following the plan's timing rules."""
    spans: list[tuple[float, float]] = []
    subtree_end: list[float] = []
    last_child: dict[int, int] = {}
    for k, (_, parent, _, _, timing) in enumerate(plan):
        if parent < 0:
            begin = t0
        elif timing == "par":
            begin = spans[parent][1] + r.uniform(0.05, 0.3)
        elif timing == "last":
            begin = max(subtree_end) + r.uniform(0.2, 1.5)
        else:
            prev = last_child.get(parent)
            ready = subtree_end[prev] if prev is not None else spans[parent][1]
            begin = ready + r.uniform(0.2, 1.5)
        end = begin + latency[k] / 1000.0
        spans.append((begin, end))
        subtree_end.append(end)
        if parent >= 0:
            last_child[parent] = k
        p = parent
        while p >= 0:
            subtree_end[p] = max(subtree_end[p], end)
            p = plan[p][1]
    return spans


def agent_day(ctx: DemoContext, feature: Feature, day: date) -> list[UsageRecord]:
    """All model calls of ``feature``'s workflows that start on ``day``."""
    research = feature.name == "research-agent"
    rng = ctx.rng("agent", feature_index(feature.name), day.toordinal())
    counts = rng.poisson(ctx.hourly_volume(feature, day) * ctx.scale)
    hours = np.repeat(np.arange(24, dtype=float), counts)
    starts = np.sort(hours * 3600.0 + rng.random(hours.size) * 3600.0).tolist()
    base = ctx.day_start(day)
    # Workflow shapes and timings take many small draws: Python's generator (seeded from the day's
    # stream) makes them an order of magnitude faster than numpy's scalar calls.
    r = random.Random(int(rng.integers(2**63)))
    plan_of = _research_plan if research else _support_plan
    plans = [plan_of(r, ctx.model_mix(feature, base + timedelta(seconds=t0))) for t0 in starts]
    names = [f"w{k}" for k in range(len(starts))]
    loop_start, loop_end = ctx.incidents["runaway-agent-loop"]
    if research and loop_start.date() == day:
        starts.append((loop_start - base).total_seconds())
        plans.append(_runaway_plan(ctx.model_mix(feature, loop_start)))
        names.append("runaway")
    n = sum(len(p) for p in plans)
    if n == 0:
        return []
    call_models = [MODELS[c[0]] for plan in plans for c in plan]
    prompt, visible = prompt_and_output(rng, feature, n)
    output, reasoning = reasoning_split(rng, call_models, visible)
    noise = rng.lognormal(0.0, 0.25, size=n).tolist()
    auto_hit = (rng.random(n) < 0.9).tolist()
    results = np.rint(rng.lognormal(np.log(_TOOL_RESULT[feature.name]) - 0.32, 0.8, size=n)).tolist()
    span_ids = hex_ids(rng, n, 8)
    trace_ids = hex_ids(rng, len(plans), 16)
    envs = rng.choice(len(feature.environments), size=len(plans), p=[e[1] for e in feature.environments])
    tenants = rng.choice(len(TENANTS), size=len(plans), p=[t[1] for t in TENANTS])
    people = rng.integers(1, max(feature.users, 1) + 1, size=len(plans))
    long_ttl = (rng.random(len(plans)) < feature.cache_1h_share).tolist()
    prompt_l, output_l, reasoning_l = prompt.tolist(), output.tolist(), reasoning.tolist()

    tags = {"initiative": feature.initiative} if feature.initiative else {}
    epoch = base.timestamp()
    stamp = f"{ctx.seed}:{feature.name}:{day:%Y%m%d}"
    out: list[UsageRecord] = []
    pos = 0
    for w, (plan, t0, name) in enumerate(zip(plans, starts, names, strict=True)):
        env = feature.environments[envs[w]][0]
        user = f"{feature.team}-u{people[w]:03d}" if feature.users else None
        if env == "dev":
            user = f"dev-{feature.team}-{1 + people[w] % 4}"
        customer = TENANTS[tenants[w]][0] if feature.customers else None
        api_key = f"{feature.team}-{env}"
        depths: list[int] = []
        for _, parent, _, _, _ in plan:
            depths.append(depths[parent] + 1 if parent >= 0 else 0)
        runaway = name == "runaway"
        history = 0  # tokens of earlier outputs and tool results that later calls carry
        seen: set[str] = set()
        calls = []
        for k, (mid, _, _, tool, _) in enumerate(plan):
            model = MODELS[mid]
            total = min(prompt_l[pos + k] + history, _MAX_PROMPT)
            history += (
                output_l[pos + k] // 2 + (1000 if runaway else 0) + (int(results[pos + k]) if tool else 0)
            )
            prefix = min(feature.prefix_tokens, total)
            cached = w5 = w1 = 0
            if model.caching == "explicit":
                if mid in seen:
                    cached = prefix
                elif long_ttl[w]:
                    w1 = prefix
                else:
                    w5 = prefix
            elif model.caching == "auto" and mid in seen and auto_hit[pos + k] and prefix >= 1024:
                cached = prefix // 128 * 128
            seen.add(mid)
            out_tokens = output_l[pos + k]
            lat = (model.ttft_ms + total / 20.0 + out_tokens / model.tokens_per_s * 1000.0) * noise[pos + k]
            calls.append((model, total - cached - w5 - w1, cached, w5, w1, round(lat, 1)))
        if runaway:
            step = (loop_end - loop_start).total_seconds() / len(plan)
            spans = [
                (t0 + k * step, t0 + k * step + min(c[5] / 1000.0, step * 0.9)) for k, c in enumerate(calls)
            ]
        else:
            spans = _times(r, plan, t0, [c[5] for c in calls])
        wf_spans = span_ids[pos : pos + len(plan)]
        for k, ((mid, parent, step_name, tool, _), (model, ti, tc, t5, t1, _), (b, e)) in enumerate(
            zip(plan, calls, spans, strict=True)
        ):
            rec_tags = {**tags, "step": step_name}
            if tool:
                rec_tags["tool"] = tool
            start = datetime.fromtimestamp(epoch + b, UTC)
            out.append(
                UsageRecord(
                    record_id=make_record_id("gateway", f"{stamp}:{name}:{k}"),
                    source="gateway",
                    charge_period_start=start,
                    charge_period_end=datetime.fromtimestamp(epoch + e, UTC),
                    provider=model.provider,
                    model=mid,
                    model_requested=mid,
                    operation=feature.operation,
                    category=feature.category,
                    input_tokens=ti,
                    cached_input_tokens=tc,
                    cache_write_5m_tokens=t5,
                    cache_write_1h_tokens=t1,
                    output_tokens=output_l[pos + k],
                    reasoning_tokens=reasoning_l[pos + k],
                    requests=1,
                    team=feature.team,
                    project=feature.project,
                    product=feature.product,
                    feature=feature.name,
                    customer=customer,
                    environment=env,
                    use_case=feature.use_case,
                    user=user,
                    api_key=api_key,
                    tags=rec_tags,
                    trace_id=trace_ids[w],
                    span_id=wf_spans[k],
                    parent_span_id=wf_spans[parent] if parent >= 0 else None,
                    workflow=feature.use_case,
                    depth=depths[k],
                    attempt=1,
                    cache_hit=tc > 0,
                    status="ok",
                    latency_ms=round((e - b) * 1000.0, 1),
                )
            )
        pos += len(plan)
    return out

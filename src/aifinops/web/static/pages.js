/* Pages whose APIs ship with the core: overview, spend explorer, models and providers, guardrails,
   agent workflows and data health. Each page renders its JSON twins (linked in the header). */
"use strict";
(() => {
  const { v, esc, table, name, href } = AF;
  const money = AF.money;
  const kpi = (big, sub = "") => `<div class="kpi"><div class="big">${big}</div><div class="sub">${sub}</div></div>`;
  const explore = (params) => href("explorer", params);
  const NEXT = { team: "model", project: "model", product: "team", feature: "model", customer: "feature", model: "team", provider: "model", category: "team", service: "model", operation: "model", environment: "team", use_case: "model", user: "model", api_key: "model", workflow: "model", source: "provider" };
  const nextDim = (dim, filtered) => {
    const order = [NEXT[dim] || "model", "team", "model", "feature", "project", "provider", "operation", "customer"];
    return order.find(d => d !== dim && !filtered.includes(d)) || "source";
  };

  /* ---------------------------------------------------------------------------------- overview */
  AF.page("overview", {
    title: "Overview",
    subtitle: "where the money went, who owns it, what is about to go wrong",
    async render(ctx) {
      const U = "/api/v1/overview";
      const data = ctx.api(U);
      ctx.section("Today", { width: "w3" }, async () => { const d = await data; return kpi(v(U, d, "today.cost"), `yesterday ${v(U, d, "yesterday.cost")}`); });
      ctx.section("Month to date", { width: "w3" }, async () => { const d = await data; return kpi(v(U, d, "month_to_date.cost"), `since ${v(U, d, "month_to_date.start", "day")}`); });
      ctx.section("Forecast, month end", { width: "w3" }, async () => {
        const d = await data;
        return kpi(v(U, d, "forecast.month_end_cost"), `<span title="${esc(d.forecast.method)}">run rate ${v(U, d, "forecast.daily_run_rate")} / day</span>`);
      });
      ctx.section("Last 30 days", { width: "w3" }, async () => {
        const d = await data;
        const unpriced = Number(d.total.unpriced_records) > 0
          ? ` · <a class="warn" href="#/health">${v(U, d, "total.unpriced_records", "count")} unpriced</a>` : "";
        return kpi(v(U, d, "total.cost"), `${v(U, d, "total.requests", "count")} requests${unpriced}`);
      });
      ctx.section("Spend by day and category", { width: "w8" }, async () => {
        const d = await data;
        const keys = d.by_category.map(c => c.category || "other");
        const cols = d.daily.map(x => {
          const start = x.day; const end = new Date(Date.parse(start) + 86400000).toISOString().replace(".000", "");
          return { label: AF.FORMATS.day(start).slice(5), parts: Object.entries(x.by_category).map(([key, value]) => ({ key, value })),
            href: explore({ by: "team", since: start, until: end }), title: `${AF.FORMATS.day(start)}: ${money(x.cost)} (click to see who spent it)` };
        });
        return Charts.columns(cols, { keys, fmt: money }) + Charts.legend(keys);
      });
      ctx.section("Training vs inference", { width: "w4" }, async () => {
        const d = await data; const s = d.training_vs_inference;
        const parts = ["inference", "training", "other"].map(k => ({ key: k, value: s[k] }));
        return Charts.split(parts, { fmt: money }) + table(parts, [
          { label: "kind", cell: r => esc(r.key) },
          { label: "cost", num: true, cell: r => v(U, d, `training_vs_inference.${r.key}`) },
        ], { link: r => r.key === "training" ? explore({ by: "feature", where: "category=training" }) : null });
      });
      const ranked = (title, key, dim, drill) => ctx.section(title, { width: "w4" }, async () => {
        const d = await data; const rows = d[key]; const max = Math.max(...rows.map(r => Number(r.cost)), 0);
        return table(rows, [
          { label: dim, cell: r => name(r[dim]) },
          { label: "cost", num: true, cell: (r, i) => v(U, d, `${key}.${i}.cost`) },
          { label: "share", num: true, cell: (r, i) => v(U, d, `${key}.${i}.share`, "pct") },
          { label: "", cls: "barcell", cell: r => Charts.bar(r.cost, max) },
        ], { link: r => explore({ by: drill, where: `${dim}=${r[dim] ?? ""}` }) });
      });
      ranked("By category", "by_category", "category", "team");
      ranked("Top teams", "top_teams", "team", "model");
      ranked("Top models", "top_models", "model", "team");
      ctx.section("Top movers: last 7 days against the 7 before", { width: "w6" }, async () => {
        const d = await data;
        return table(d.top_movers, [
          { label: "who", cell: r => `<span class="muted">${esc(r.dimension)}</span> ${name(r.value)}` },
          { label: "last 7 days", num: true, cell: (r, i) => v(U, d, `top_movers.${i}.cost_last_7d`) },
          { label: "7 days before", num: true, cell: (r, i) => v(U, d, `top_movers.${i}.cost_previous_7d`) },
          { label: "change", num: true, cell: (r, i) => `<span class="${Number(r.change) > 0 ? "up" : "down"}" title="${r.change_ratio === null ? "new" : AF.pct(r.change_ratio)}">${Number(r.change) > 0 ? "▲" : "▼"} ${v(U, d, `top_movers.${i}.change`)}</span>` },
        ], { link: r => explore({ by: nextDim(r.dimension, []), where: `${r.dimension}=${r.value ?? ""}`, grain: "day" }) });
      });
      ctx.section("Budgets closest to their limit", { width: "w6", extra: '<a href="#/guardrails">all guardrails →</a>' }, async () => budgetsAtRisk(ctx, 6));
      // the other areas' panels start once the spend figures are in, so their heavier queries never delay them
      const after = () => data.catch(() => null);
      ctx.section("Anomalies", { width: "w6", extra: '<a href="#/anomalies">all →</a>' }, async () => { await after(); return AF.areaList(ctx, "/api/v1/anomalies?limit=5", 5); });
      ctx.section("What to do: recommendations", { width: "w6", extra: '<a href="#/recommendations">all →</a>' }, async () => { await after(); return AF.areaList(ctx, "/api/v1/recommendations?limit=5", 5); });
    },
  });

  async function budgetsAtRisk(ctx, limit) {
    const U = "/api/v1/budgets";
    const budgets = await ctx.api(U);
    const rows = [];
    budgets.forEach((b, i) => b.status.forEach((s, j) => rows.push({ b, s, i, j })));
    rows.sort((a, b) => (Number(b.s.used) || 0) - (Number(a.s.used) || 0));
    if (!budgets.length) return '<div class="empty">No budgets configured: add <code>budgets:</code> to aifinops.yaml.</div>';
    return table(rows.slice(0, limit), [
      { label: "budget", cell: r => `<span class="clip wide" title="${esc(r.b.name)}">${esc(r.b.name)}${r.s.per_value ? ` <span class="muted">${esc(r.b.per)}=${esc(r.s.per_value)}</span>` : ""}</span>` },
      { label: "spent", num: true, cell: r => v(U, budgets, `${r.i}.status.${r.j}.spent`) },
      { label: "of", num: true, cell: r => v(U, budgets, `${r.i}.amount`) },
      { label: "used", num: true, cell: r => v(U, budgets, `${r.i}.status.${r.j}.used`, "pct") },
      { label: "", cell: r => Charts.progress(r.s.used) },
    ]);
  }
  AF.budgetsAtRisk = budgetsAtRisk;

  /* ---------------------------------------------------------------------------------- explorer */
  const PERIODS = [["24h", "last 24 hours"], ["7d", "last 7 days"], ["30d", "last 30 days"], ["90d", "last 90 days"], ["365d", "last year"]];
  AF.page("explorer", {
    title: "Spend explorer",
    subtitle: "any dimension, any period; click a row to drill down",
    async render(ctx) {
      const p = ctx.params;
      const by = p.get("by") || "team";
      const since = p.get("since") || "30d";
      const until = p.get("until") || "";
      const where = p.getAll("where");
      const grain = p.get("grain") || (/^(\d+)h$/.test(since) ? "hour" : "day");
      const filtered = where.map(w => w.split("=")[0]);
      const state = { by, since, until, where, grain };
      const base = { since, until, where };
      const U1 = "/api/v1/costs" + AF.qs({ ...base, by, limit: 500 });
      const U2 = "/api/v1/costs" + AF.qs({ ...base, grain });
      const U3 = "/api/v1/costs" + AF.qs(base);
      ctx.section("Slice", { width: "w12" }, async () => controls(ctx, state));
      ctx.section("Total", { width: "w4" }, async () => {
        const d = await ctx.api(U3); const t = d[0] || {};
        return kpi(d.length ? v(U3, d, "0.cost") : money(0), d.length ? `${v(U3, d, "0.requests", "count")} requests · ${v(U3, d, "0.records", "count")} records` : "no records")
          + (Number(t.unpriced_records) > 0 ? `<div class="warn">${v(U3, d, "0.unpriced_records", "count")} unpriced records (cost unknown)</div>` : "");
      });
      ctx.section(`Spend by ${grain}`, { width: "w8" }, async () => {
        const d = await ctx.api(U2);
        const step = grain === "hour" ? 3600000 : 86400000;
        const cols = d.map(x => {
          const end = new Date(Date.parse(x.period) + step).toISOString().replace(".000", "");
          return { label: grain === "hour" ? AF.FORMATS.time(x.period).slice(5) : AF.FORMATS.day(x.period).slice(5), parts: [{ key: "cost", value: x.cost }],
            href: explore({ ...state, since: x.period, until: end, grain: grain === "day" ? "hour" : grain }), title: `${AF.FORMATS.time(x.period)}: ${money(x.cost)}` };
        });
        return d.length ? Charts.columns(cols, { keys: ["cost"], fmt: money, height: 170 }) : '<div class="empty">no spend in this period</div>';
      });
      ctx.section(`By ${by}`, { width: "w12", extra: `<a href="${esc("/api/v1/records" + AF.qs({ since, until, where, limit: 100 }))}" target="_blank">raw records →</a>` }, async () => {
        const d = await ctx.api(U1); const max = Math.max(...d.map(r => Number(r.cost) || 0), 0);
        const next = nextDim(by, [...filtered, by]);
        return table(d, [
          { label: by, cell: r => name(r[by]) },
          { label: "cost", num: true, cell: (r, i) => v(U1, d, `${i}.cost`) },
          { label: "", cls: "barcell", cell: r => Charts.bar(r.cost, max) },
          { label: "requests", num: true, cell: (r, i) => v(U1, d, `${i}.requests`, "count") },
          { label: "input tokens", num: true, cell: (r, i) => v(U1, d, `${i}.input_tokens`, "compact") },
          { label: "output tokens", num: true, cell: (r, i) => v(U1, d, `${i}.output_tokens`, "compact") },
          { label: "GPU hours", num: true, cell: (r, i) => v(U1, d, `${i}.gpu_hours`, "hours") },
          { label: "unpriced", num: true, cell: (r, i) => (Number(r.unpriced_records) ? `<span class="warn">${v(U1, d, `${i}.unpriced_records`, "count")}</span>` : "") },
        ], { link: r => explore({ ...state, by: next, where: [...where, `${by}=${r[by] ?? ""}`] }) });
      });
    },
  });

  async function controls(ctx, s) {
    let dims = [];
    try { dims = await ctx.api("/api/v1/dimensions"); } catch (e) { dims = ["team", "model", "provider"]; }
    const go = (patch) => esc(explore({ ...s, ...patch }));
    const dimOpts = [...new Set([...dims, s.by])].map(d => `<option ${d === s.by ? "selected" : ""}>${esc(d)}</option>`).join("");
    const periodOpts = PERIODS.map(([k, label]) => `<option value="${k}" ${k === s.since ? "selected" : ""}>${label}</option>`).join("")
      + (PERIODS.some(([k]) => k === s.since) ? "" : `<option value="${esc(s.since)}" selected>since ${esc(AF.FORMATS.time(s.since))}${s.until ? " until " + esc(AF.FORMATS.time(s.until)) : ""}</option>`);
    const crumbs = [`<a href="${go({ where: [] })}">all spend</a>`].concat(s.where.map((w, i) => `› <a href="${go({ where: s.where.slice(0, i + 1) })}">${esc(w)}</a>`)).join(" ");
    const chips = s.where.map((w, i) => `<span class="chip">${esc(w)} <a href="${go({ where: s.where.filter((_, j) => j !== i) })}" title="remove filter">×</a></span>`).join(" ");
    setTimeout(() => {
      const form = document.getElementById("xform"); if (!form) return;
      form.addEventListener("change", e => {
        if (e.target.name === "by") location.hash = explore({ ...s, by: e.target.value }).slice(1);
        if (e.target.name === "tag" && e.target.value.trim()) location.hash = explore({ ...s, by: "tag:" + e.target.value.trim() }).slice(1);
        if (e.target.name === "since") location.hash = explore({ ...s, since: e.target.value, until: "", grain: "" }).slice(1);
        if (e.target.name === "from" && e.target.value) location.hash = explore({ ...s, since: e.target.value, grain: "" }).slice(1);
        if (e.target.name === "to") location.hash = explore({ ...s, until: e.target.value, grain: "" }).slice(1);
      });
      form.addEventListener("submit", e => {
        e.preventDefault(); const f = form.elements.filter.value.trim();
        if (/^[^=]+=.*$/.test(f)) location.hash = explore({ ...s, where: [...s.where, f] }).slice(1);
      });
    });
    return `<form id="xform" class="controls">
      <label>group by <select name="by">${dimOpts}</select></label>
      <input name="tag" placeholder="or a tag key" size="12" aria-label="group by a tag key" value="${s.by.startsWith("tag:") ? esc(s.by.slice(4)) : ""}">
      <label>period <select name="since">${periodOpts}</select></label>
      <label>or from <input type="date" name="from" value="${/^\d{4}-\d{2}-\d{2}/.test(s.since) ? esc(s.since.slice(0, 10)) : ""}"></label>
      <label>until <input type="date" name="to" title="exclusive: spend before this day" value="${s.until ? esc(s.until.slice(0, 10)) : ""}"></label>
      <input name="filter" placeholder="filter, e.g. team=search or env=prod (tags too)" size="36" aria-label="add a filter">
      <button type="submit">add filter</button> ${chips}</form><div class="crumbs" style="margin-top:8px">${crumbs}</div>`;
  }

  /* ---------------------------------------------------------------------------------- models */
  AF.page("models", {
    title: "Models & providers",
    subtitle: "tokens, cost per 1,000 requests and cache hit rates",
    async render(ctx) {
      const since = ctx.params.get("since") || "30d";
      const U = "/api/v1/usage/models" + AF.qs({ since });
      const UP = "/api/v1/costs" + AF.qs({ by: "provider", since });
      ctx.section("By provider", { width: "w4" }, async () => {
        const d = await ctx.api(UP); const max = Math.max(...d.map(r => Number(r.cost) || 0), 0);
        return table(d, [
          { label: "provider", cell: r => name(r.provider) },
          { label: "cost", num: true, cell: (r, i) => v(UP, d, `${i}.cost`) },
          { label: "", cls: "barcell", cell: r => Charts.bar(r.cost, max) },
        ], { link: r => explore({ by: "model", since, where: `provider=${r.provider ?? ""}` }) });
      });
      ctx.section("Cache hit rate by model (share of input tokens read from cache)", { width: "w8" }, async () => {
        const d = await ctx.api(U);
        const rows = d.map((r, i) => ({ r, i })).filter(x => x.r.cache_hit_rate !== null).slice(0, 12);
        return table(rows, [
          { label: "model", cell: x => name(x.r.model) },
          { label: "hit rate", num: true, cell: x => v(U, d, `${x.i}.cache_hit_rate`, "pct") },
          { label: "", cls: "barcell", cell: x => Charts.bar(x.r.cache_hit_rate, 1) },
          { label: "cached input", num: true, cell: x => v(U, d, `${x.i}.cached_input_tokens`, "compact") },
        ]);
      });
      ctx.section(`Models, ${since}`, { width: "w12" }, async () => {
        const d = await ctx.api(U);
        return table(d, [
          { label: "provider", cell: r => name(r.provider) },
          { label: "model", cell: r => name(r.model) },
          { label: "cost", num: true, cell: (r, i) => v(U, d, `${i}.cost`) },
          { label: "requests", num: true, cell: (r, i) => v(U, d, `${i}.requests`, "count") },
          { label: "per 1,000 requests", num: true, cell: (r, i) => v(U, d, `${i}.cost_per_1k_requests`) },
          { label: "input", num: true, cell: (r, i) => v(U, d, `${i}.input_tokens`, "compact") },
          { label: "cached", num: true, cell: (r, i) => v(U, d, `${i}.cached_input_tokens`, "compact") },
          { label: "output", num: true, cell: (r, i) => v(U, d, `${i}.output_tokens`, "compact") },
          { label: "cache hit", num: true, cell: (r, i) => v(U, d, `${i}.cache_hit_rate`, "pct") },
          { label: "GPU hours", num: true, cell: (r, i) => v(U, d, `${i}.gpu_hours`, "hours") },
          { label: "unpriced", num: true, cell: (r, i) => (Number(r.unpriced_records) ? `<span class="warn">${v(U, d, `${i}.unpriced_records`, "count")}</span>` : "") },
        ], { link: r => explore({ by: "team", since, where: [`provider=${r.provider ?? ""}`, `model=${r.model ?? ""}`] }) });
      });
    },
  });

  /* ---------------------------------------------------------------------------------- guardrails */
  AF.page("guardrails", {
    title: "Guardrails",
    subtitle: "budgets, blocks, rate limits and the decisions behind them",
    async render(ctx) {
      const U = "/api/v1/budgets";
      ctx.section("Budgets: spent against the limit this period", { width: "w12" }, async () => {
        const d = await ctx.api(U);
        if (!d.length) return '<div class="empty">No budgets configured: add <code>budgets:</code> to aifinops.yaml.</div>';
        const rows = []; d.forEach((b, i) => (b.status.length ? b.status : [null]).forEach((s, j) => rows.push({ b, s, i, j })));
        return table(rows, [
          { label: "budget", cell: r => `${esc(r.b.name)} ${r.b.hard ? '<span class="pill bad">hard</span>' : '<span class="pill">soft</span>'}` },
          { label: "scope", cell: r => esc(Object.entries(r.b.scope || {}).map(([k, x]) => `${k}=${x}`).join(", ") || "everything") },
          { label: "per", cell: r => (r.s && r.s.per_value ? `${esc(r.b.per)}=${esc(r.s.per_value)}` : "") },
          { label: "period", cell: r => esc(r.b.period) },
          { label: "spent", num: true, cell: r => (r.s ? v(U, d, `${r.i}.status.${r.j}.spent`) : money(0)) },
          { label: "amount", num: true, cell: r => v(U, d, `${r.i}.amount`) },
          { label: "remaining", num: true, cell: r => (r.s ? v(U, d, `${r.i}.status.${r.j}.remaining`) : "") },
          { label: "used", num: true, cell: r => (r.s ? v(U, d, `${r.i}.status.${r.j}.used`, "pct") : "") },
          { label: "", cell: r => Charts.progress(r.s ? r.s.used : 0) },
        ], { link: r => explore({ by: "team", since: r.b.period_start, where: Object.entries(r.b.scope || {}).map(([k, x]) => `${k}=${x}`) }) });
      });
      const audit = (title, decision) => ctx.section(title, { width: "w6" }, async () => {
        const UA = "/api/v1/audit" + AF.qs({ limit: 100, decision });
        const d = await ctx.api(UA);
        if (!d.length) return '<div class="empty">No decisions recorded (the gateway writes them when it allows with a note, refuses or alerts).</div>';
        return table(d, [
          { label: "time", cell: r => esc(AF.FORMATS.time(r.ts)) },
          { label: "decision", cell: r => `<span class="${r.decision === "refuse" ? "bad" : r.decision === "alert" ? "warn" : ""}">${esc(r.decision)}</span>` },
          { label: "rule", cell: r => esc(r.rule || "") },
          { label: "who", cell: r => esc(Object.entries(r.subject || {}).map(([k, x]) => `${k}=${x}`).join(" ")) },
          { label: "why", cell: r => esc(r.message || r.kind || (r.notes || []).join("; ") || "") },
        ]);
      });
      audit("Blocks (refused requests)", "refuse");
      audit("Audit log: every decision", null);
    },
  });

  /* ---------------------------------------------------------------------------------- workflows */
  AF.page("workflows", {
    title: "Agent workflows",
    subtitle: "the most expensive runs and what each agent costs",
    async render(ctx) {
      const since = ctx.params.get("since") || "30d";
      const U = "/api/v1/workflows" + AF.qs({ top: 25, since });
      const UA = "/api/v1/agents" + AF.qs({ since });
      ctx.section("Cost per agent run", { width: "w12" }, async () => {
        const d = await ctx.api(UA);
        return table(d, [
          { label: "agent", cell: r => `${name(r.agent)} <span class="muted">${AF.esc(r.kind)}</span>` },
          { label: "runs", num: true, cell: (r, i) => v(UA, d, `${i}.runs`, "count") },
          { label: "total", num: true, cell: (r, i) => v(UA, d, `${i}.cost`) },
          { label: "per run", num: true, cell: (r, i) => v(UA, d, `${i}.cost_per_run`) },
          { label: "p50", num: true, cell: (r, i) => v(UA, d, `${i}.cost_p50`) },
          { label: "p95", num: true, cell: (r, i) => v(UA, d, `${i}.cost_p95`) },
        ]);
      });
      ctx.section("Most expensive workflows", { width: "w12" }, async () => {
        const d = await ctx.api(U);
        return table(d, [
          { label: "workflow", cell: r => name(r.name) },
          { label: "started", cell: r => esc(AF.FORMATS.time(r.start)) },
          { label: "cost", num: true, cell: (r, i) => v(U, d, `${i}.cost`) },
          { label: "model calls", num: true, cell: (r, i) => v(U, d, `${i}.model_calls`, "count") },
          { label: "tool calls", num: true, cell: (r, i) => v(U, d, `${i}.tool_calls`, "count") },
          { label: "depth", num: true, cell: (r, i) => v(U, d, `${i}.depth`, "count") },
          { label: "retries", num: true, cell: (r, i) => v(U, d, `${i}.retries`, "count") },
          { label: "errors", num: true, cell: (r, i) => v(U, d, `${i}.errors`, "count") },
        ], { link: r => href("workflow", { id: r.workflow }) });
      });
    },
  });

  AF.page("workflow", {
    title: "Workflow",
    nav: "workflows",
    async render(ctx) {
      const id = ctx.params.get("id") || "";
      const U = "/api/v1/workflows/" + encodeURIComponent(id);
      ctx.section("Summary", { width: "w4" }, async () => {
        const d = await ctx.api(U);
        return `<h3 style="margin:0 0 6px">${esc(d.name || id)}</h3>` + kpi(v(U, d, "cost"), `${v(U, d, "model_calls", "count")} model calls · depth ${v(U, d, "depth", "count")} · ${esc(AF.FORMATS.time(d.start))}`);
      });
      ctx.section("Cost by step", { width: "w8" }, async () => {
        const d = await ctx.api(U); const steps = d.steps || [];
        const cols = steps.length ? Object.keys(steps[0]).filter(k => k !== "cost") : [];
        return table(steps, [
          ...cols.slice(0, 4).map(k => ({ label: k, cell: r => esc(typeof r[k] === "object" ? JSON.stringify(r[k]) : r[k]) })),
          { label: "cost", num: true, cell: (r, i) => v(U, d, `steps.${i}.cost`) },
        ]);
      });
      ctx.section("Tree", { width: "w12" }, async () => {
        const d = await ctx.api(U);
        const lines = [];
        const walk = (n, depth) => {
          if (!n) return;
          lines.push(`${"  ".repeat(depth)}${n.kind || ""} ${n.name || n.model || ""}  ${n.cost !== undefined && n.cost !== null ? money(n.cost) : ""}`);
          (n.children || []).forEach(c => walk(c, depth + 1));
        };
        (Array.isArray(d.tree) ? d.tree : [d.tree]).forEach(n => walk(n, 0));
        return `<pre class="tree">${esc(lines.join("\n"))}</pre>`;
      });
    },
  });

  /* ---------------------------------------------------------------------------------- data health */
  AF.page("health", {
    title: "Data health",
    subtitle: "sources and their status, unpriced models, tag coverage",
    async render(ctx) {
      const U = "/api/v1/doctor";
      const doc = ctx.api(U);
      ctx.section("Status", { width: "w4" }, async () => {
        const d = await doc;
        const state = d.ok ? '<div class="big good">✓ healthy</div>' : `<div class="big warn">${esc(d.problems.length)} problem(s)</div>`;
        return `<div class="kpi">${state}<div class="sub">${v(U, d, "ledger.records", "count")} records · ${v(U, d, "ledger.outcomes", "count")} outcomes · ${v(U, d, "catalog_models", "count")} priced models in the catalog · schema v${esc(d.ledger.schema_version)}</div></div>`
          + (d.problems.length ? `<ul class="problems">${d.problems.map(p => `<li>${esc(p)}</li>`).join("")}</ul>` : "");
      });
      ctx.section("Sources: what feeds the ledger and when it last reported", { width: "w8" }, async () => {
        const d = await doc; const now = Date.now();
        return table(d.ledger.sources, [
          { label: "source", cell: r => esc(r.source) },
          { label: "records", num: true, cell: (r, i) => v(U, d, `ledger.sources.${i}.records`, "count") },
          { label: "last data", cell: (r, i) => v(U, d, `ledger.sources.${i}.last`, "time") },
          { label: "status", cell: r => { const age = (now - Date.parse(r.last)) / 3600000; return age > 48 ? `<span class="warn">quiet for ${Math.round(age / 24)} days</span>` : '<span class="good">reporting</span>'; } },
        ], { link: r => explore({ by: "provider", where: `source=${r.source}` }) });
      });
      ctx.section("Unpriced models (cost unknown until a price is added)", { width: "w6" }, async () => {
        const d = await doc;
        if (!d.unpriced.length) return '<div class="empty good">Every record has a price.</div>';
        return table(d.unpriced, [
          { label: "provider", cell: r => name(r.provider) },
          { label: "model", cell: r => name(r.model) },
          { label: "records", num: true, cell: (r, i) => v(U, d, `unpriced.${i}.records`, "count") },
          { label: "tokens", num: true, cell: (r, i) => v(U, d, `unpriced.${i}.tokens`, "compact") },
        ], { link: r => explore({ by: "team", where: [`cost_status=unpriced`, `model=${r.model ?? ""}`] }) });
      });
      ctx.section("Tag coverage (spend with an owner)", { width: "w6" }, async () => AF.coverage(ctx));
    },
  });
})();

/* Pages of the areas that ship their own APIs: teams (showback, budgets, KPIs), GPUs, anomalies and
   alerts, recommendations and savings, value and ROI. A page shows every GET route of its area that this
   server has (read from the OpenAPI document), so it grows as the areas land; without any, it says so. */
"use strict";
(() => {
  const { v, esc, table, name, href } = AF;
  const explore = params => href("explorer", params);

  /* How a field is shown, from its name and JSON type (money is a decimal string, see core/jsonable). */
  function kindOf(key, value) {
    const k = String(key).toLowerCase();
    if (typeof value === "string" && /^\d{4}-\d{2}-\d{2}T/.test(value)) return "time";
    if (typeof value === "string" && /^\d{4}-\d{2}-\d{2}$/.test(value)) return "day";
    const numeric = typeof value === "number" || (typeof value === "string" && /^-?\d+(\.\d+)?$/.test(value));
    if (!numeric) return null;
    if (/hours?$/.test(k)) return "hours";
    if (/(rate|share|utili[sz]ation|ratio|percent|pct|confidence|coverage)$/.test(k)) return "pct";
    if (typeof value === "string") return /tokens?$/.test(k) ? "compact" : "money";
    if (/tokens?$/.test(k)) return "compact";
    return Number.isInteger(value) ? "count" : "number";
  }
  /* The rows of a response: an array, or the first array of objects inside an object. */
  function rowsOf(d) {
    if (Array.isArray(d)) return { rows: d, path: "" };
    if (d && typeof d === "object") {
      for (const [k, x] of Object.entries(d)) if (Array.isArray(x) && (!x.length || typeof x[0] === "object")) return { rows: x, path: k + "." };
    }
    return { rows: null, path: "" };
  }
  const LINKABLE = ["team", "model", "feature", "project", "provider", "customer", "category", "gpu_type"];

  /* Any API response as KPIs (its scalar fields) and a table (its rows), every number with provenance. */
  function auto(U, d, { limit = 200, columns = 9 } = {}) {
    let html = "";
    if (d && typeof d === "object" && !Array.isArray(d)) {
      const scalars = Object.entries(d).filter(([, x]) => x === null || typeof x !== "object").slice(0, 8);
      if (scalars.length) {
        html += `<div class="controls" style="gap:22px;margin-bottom:8px">${scalars.map(([k, x]) => {
          const kind = kindOf(k, x);
          return `<div class="kpi"><div class="sub">${esc(k.replace(/_/g, " "))}</div><div style="font-size:18px;font-weight:600">${kind ? v(U, d, k, kind) : esc(x ?? "–")}</div></div>`;
        }).join("")}</div>`;
      }
    }
    const { rows, path } = rowsOf(d);
    if (!rows) return html || '<div class="empty">nothing to show</div>';
    if (!rows.length) return html + '<div class="empty">nothing in this period</div>';
    const keys = [];
    for (const r of rows.slice(0, 20)) for (const [k, x] of Object.entries(r)) if (!keys.includes(k) && (x === null || typeof x !== "object")) keys.push(k);
    const cols = keys.slice(0, columns).map(k => {
      const sample = rows.find(r => r[k] !== null && r[k] !== undefined)?.[k];
      const kind = kindOf(k, sample);
      const cell = (r, i) => {
        const own = r[k] === null || r[k] === undefined ? kind : kindOf(k, r[k]);
        return own ? v(U, d, `${path}${i}.${k}`, own === "count" && kind === "number" ? "number" : own) : name(r[k]);
      };
      return { label: k.replace(/_/g, " "), num: kind && !["time", "day"].includes(kind), cell };
    });
    const dim = LINKABLE.find(k => keys.includes(k));
    return html + table(rows, cols, { limit, link: dim ? r => (r[dim] ? explore({ by: "model", where: `${dim}=${r[dim]}` }) : null) : null });
  }
  AF.auto = auto;

  /* The first rows of an area's list (overview panels). */
  AF.areaList = async (ctx, url, limit) => {
    const d = await ctx.api(url);
    return url.split("?")[0].endsWith("/recommendations") ? AF.recList(url, d, limit) : auto(url, d, { limit, columns: 6 });
  };

  /* A page made of every GET route of an area found on this server; known routes get their own renderer. */
  function areaPage(pageName, title, subtitle, prefixes, custom = {}) {
    AF.page(pageName, {
      title, subtitle,
      async render(ctx) {
        const found = await AF.routeList(prefixes);
        if (!found.length) {
          ctx.section(title, { width: "w12" }, async () => { throw new AF.NotAvailable(`this server has no ${prefixes.join(", ")} API`); });
          return;
        }
        for (const r of found) {
          const own = custom[r.path];
          if (own) own(ctx, r);
          else ctx.section(r.summary, { width: "w12" }, async () => auto(r.path, await ctx.api(r.path)));
        }
      },
    });
  }

  /* ---------------------------------------------------------------------------------- GPUs */
  const gpus = (ctx, r) => {
    const U = r.path;
    ctx.section("GPU hours: busy and idle, by team", { width: "w6" }, async () => {
      const d = await ctx.api(U);
      const cols = d.map(x => ({ label: x.team ?? "(none)", parts: [{ key: "busy", value: x.busy_gpu_hours }, { key: "idle", value: x.idle_gpu_hours }, { key: "unmeasured", value: x.unmeasured_gpu_hours }], href: explore({ by: "gpu_type", where: `team=${x.team ?? ""}` }) }));
      const colors = new Map([["busy", "var(--c2)"], ["idle", "var(--c6)"], ["unmeasured", "var(--c7)"]]);
      return Charts.columns(cols, { keys: ["busy", "idle", "unmeasured"], fmt: x => AF.FORMATS.hours(x), colors, height: 190 }) + Charts.legend(["busy", "idle", "unmeasured"], colors);
    });
    ctx.section("What idle GPUs cost", { width: "w6" }, async () => {
      const d = await ctx.api(U); const max = Math.max(...d.map(x => Number(x.idle_cost) || 0), 0);
      return table(d, [
        { label: "team", cell: x => name(x.team) },
        { label: "GPU cost", num: true, cell: (x, i) => v(U, d, `${i}.gpu_cost`) },
        { label: "idle cost", num: true, cell: (x, i) => `<span class="${Number(x.idle_cost_share) > 0.3 ? "bad" : ""}">${v(U, d, `${i}.idle_cost`)}</span>` },
        { label: "", cls: "barcell", cell: x => Charts.bar(x.idle_cost, max, "") },
        { label: "utilization", num: true, cell: (x, i) => v(U, d, `${i}.utilization`, "pct") },
        { label: "idle hours", num: true, cell: (x, i) => v(U, d, `${i}.idle_gpu_hours`, "hours") },
      ], { link: x => explore({ by: "model", where: [`team=${x.team ?? ""}`, "category=self_hosted_inference"] }) });
    });
  };
  const endpoints = (ctx, r) => ctx.section("Self-hosted endpoints against hosted APIs", { width: "w12" }, async () => {
    const U = r.path; const d = await ctx.api(U);
    return table(d, [
      { label: "endpoint", cell: x => name(x.endpoint) },
      { label: "model", cell: x => name(x.model) },
      { label: "GPU cost", num: true, cell: (x, i) => v(U, d, `${i}.gpu_cost`) },
      { label: "idle cost", num: true, cell: (x, i) => v(U, d, `${i}.idle_cost`) },
      { label: "utilization", num: true, cell: (x, i) => v(U, d, `${i}.utilization`, "pct") },
      { label: "per 1M tokens", num: true, cell: (x, i) => v(U, d, `${i}.cost_per_million_tokens`) },
      { label: "cheapest hosted, per 1M", num: true, cell: (x, i) => {
        const h = x.hosted || []; if (!h.length) return "–";
        const j = h.reduce((b, y, k) => (Number(y.cost_per_million_tokens) < Number(h[b].cost_per_million_tokens) ? k : b), 0);
        return `${esc(h[j].model)} ${v(U, d, `${i}.hosted.${j}.cost_per_million_tokens`)}`;
      } },
    ]);
  });
  const runs = (ctx, r) => ctx.section("Training runs: cost against what was expected", { width: "w12" }, async () => {
    const U = r.path; const d = await ctx.api(U);
    return table(d, [
      { label: "run", cell: x => `${name(x.name)} ${x.runaway ? '<span class="pill bad">runaway</span>' : ""}` },
      { label: "team", cell: x => name(x.team) },
      { label: "started", cell: x => esc(AF.FORMATS.time(x.started_at)) },
      { label: "GPU hours", num: true, cell: (x, i) => v(U, d, `${i}.gpu_hours`, "hours") },
      { label: "cost", num: true, cell: (x, i) => v(U, d, `${i}.cost`) },
      { label: "vs expected", num: true, cell: (x, i) => v(U, d, `${i}.vs_expected`, "pct") },
      { label: "GPU util", num: true, cell: (x, i) => v(U, d, `${i}.mean_gpu_util`, "pct") },
    ], { link: x => explore({ by: "gpu_type", where: [`team=${x.team ?? ""}`, "category=training"] }) });
  });
  areaPage("gpus", "GPUs", "utilization, idle hours and what idle costs", ["/api/v1/gpus", "/api/v1/training"],
    { "/api/v1/gpus": gpus, "/api/v1/gpus/endpoints": endpoints, "/api/v1/training/runs": runs });

  const forecast = (ctx, r) => ctx.section("Forecast: daily spend ahead and where the month ends", { width: "w12" }, async () => {
    const U = r.path; const d = await ctx.api(U);
    if (!Array.isArray(d.series) || !d.series.length || !d.series[0].days) return auto(U, d);
    const s = d.series[0];
    const head = s.month_end ? `<div class="kpi"><div class="big">${v(U, d, "series.0.month_end.expected")}</div><div class="sub">expected at month end (${v(U, d, "series.0.month_end.lower")} – ${v(U, d, "series.0.month_end.upper")}), ${esc(s.method)} over ${esc(s.history_days)} days of history · month to date ${v(U, d, "series.0.month_to_date")}</div></div>` : "";
    const cols = s.days.map(x => ({ label: AF.FORMATS.day(x.day).slice(5), parts: [{ key: "expected", value: x.mean }], title: `${x.day}: ${AF.money(x.mean)} (${AF.money(x.lower)} – ${AF.money(x.upper)})` }));
    return head + Charts.columns(cols, { keys: ["expected"], fmt: AF.money, height: 160 });
  });
  /* Anomalies: what happened, to whom, since when, what it costs, and why (ids stay in the JSON twin). */
  const anomalies = (ctx, r) => ctx.section("Detected anomalies, newest first", { width: "w12" }, async () => {
    const U = r.path; const d = await ctx.api(U);
    if (!Array.isArray(d) || !d.length || !("explanation" in d[0])) return auto(U, d);
    return table(d, [
      { label: "kind", cell: x => `${esc(String(x.kind).replace(/_/g, " "))}${x.ongoing ? ' <span class="pill bad">ongoing</span>' : ""}` },
      { label: "owner", cell: x => name(x.owner) },
      { label: "started", cell: (x, i) => v(U, d, `${i}.started_at`, "time") },
      { label: "detected", cell: (x, i) => v(U, d, `${i}.detected_at`, "time") },
      { label: "impact", num: true, cell: (x, i) => v(U, d, `${i}.impact`) },
      { label: "why", cell: x => `<span class="clip wide" title="${esc(x.explanation)}">${esc(x.explanation)}</span>` },
    ], { limit: 100, link: x => (x.owner ? explore({ by: "model", where: `team=${x.owner}` }) : null) });
  });
  const SEVERITY = { critical: "bad", high: "bad", medium: "warn", low: "muted" };
  const alerts = (ctx, r) => ctx.section("Alerts (grouped anomalies) and their lifecycle status", { width: "w12" }, async () => {
    const U = r.path; const d = await ctx.api(U);
    if (!Array.isArray(d) || !d.length || !("severity" in d[0])) return auto(U, d);
    return table(d, [
      { label: "severity", cell: x => `<span class="pill ${SEVERITY[x.severity] || ""}">${esc(x.severity)}</span>` },
      { label: "status", cell: x => esc(x.status) },
      { label: "owner", cell: x => name(x.owner) },
      { label: "opened", cell: (x, i) => v(U, d, `${i}.opened_at`, "time") },
      { label: "impact", num: true, cell: (x, i) => v(U, d, `${i}.impact`) },
      { label: "anomalies", num: true, cell: (x, i) => v(U, d, `${i}.anomalies`, "count") },
      { label: "what", cell: x => `<span class="clip wide" title="${esc(x.message)}">${esc(x.title)}</span>` },
    ], { limit: 100 });
  });
  /* Routes that start work rather than read state are not called by the dashboard. */
  const SKIP = new Set(["/api/v1/anomalies/evaluate"]);
  areaPage("anomalies", "Anomalies & alerts", "what is about to go wrong", ["/api/v1/anomalies", "/api/v1/alerts", "/api/v1/forecast"],
    { "/api/v1/anomalies": anomalies, "/api/v1/alerts": alerts, "/api/v1/forecast": forecast, ...Object.fromEntries([...SKIP].map(p => [p, () => null])) });

  /* ---------------------------------------------------------------------------------- recommendations */
  const recs = (ctx, r) => ctx.section("Recommendations, by monthly saving", { width: "w12" }, async () => recList(r.path, await ctx.api(r.path), 100));
  function recList(U, d, limit) {
    if (!Array.isArray(d) || !d.length) return '<div class="empty">No recommendations: nothing to save that aifinops can see.</div>';
    if (!("monthly_saving" in d[0])) return auto(U, d, { limit, columns: 6 });
    return table(d.slice(0, limit), [
      { label: "what to do", cell: x => `<span class="clip wide" title="${esc(x.title)}

${esc(x.change || "")}">${esc(x.title)}</span>` },
      { label: "kind", cell: x => `<span class="muted">${esc(x.kind)}</span>` },
      { label: "saves / month", num: true, cell: (x, i) => `<span class="good">${v(U, d, `${i}.monthly_saving`)}</span>` },
      { label: "of", num: true, cell: (x, i) => v(U, d, `${i}.current_monthly_cost`) },
      { label: "confidence", cell: x => esc(x.confidence ?? "") },
    ], { link: x => explore({ by: "model", where: Object.entries(x.scope || {}).map(([k, y]) => `${k}=${y}`) }) });
  }
  AF.recList = recList;
  areaPage("recommendations", "Recommendations & savings", "what to do, and what it saves", ["/api/v1/recommendations", "/api/v1/savings", "/api/v1/zombies"],
    { "/api/v1/recommendations": recs });

  /* ---------------------------------------------------------------------------------- value */
  const value = (ctx, r) => ctx.section("Value per feature: ROI and cost per outcome", { width: "w12" }, async () => {
    const U = r.path; const d = await ctx.api(U);
    if (!d.length || !("roi" in d[0])) return auto(U, d);
    const dim = Object.keys(d[0])[0];
    return table(d, [
      { label: dim, cell: x => `${name(x[dim])}${x.trend === "falling" ? ' <span class="pill bad">falling</span>' : ""}` },
      { label: "cost", num: true, cell: (x, i) => v(U, d, `${i}.cost`) },
      { label: "value", num: true, cell: (x, i) => v(U, d, `${i}.value`) },
      { label: "outcomes", num: true, cell: (x, i) => v(U, d, `${i}.outcomes`, "count") },
      { label: "ROI", num: true, cell: (x, i) => v(U, d, `${i}.roi`, "number") },
      { label: "per outcome", num: true, cell: (x, i) => v(U, d, `${i}.cost_per_outcome`) },
      { label: "value per $", num: true, cell: (x, i) => v(U, d, `${i}.value_per_dollar`, "number") },
    ], { link: x => explore({ by: "model", where: `${dim}=${x[dim] ?? ""}` }) });
  });
  const maturity = (ctx, r) => ctx.section("Maturity: where you are and the next steps", { width: "w12" }, async () => {
    const U = r.path; const d = await ctx.api(U);
    if (!Array.isArray(d.capabilities)) return auto(U, d);
    return `<div class="kpi"><div class="big">${esc(d.stage)}</div></div>` + table(d.capabilities, [
      { label: "capability", cell: x => esc(String(x.capability).replace(/_/g, " ")) },
      { label: "score", num: true, cell: (x, i) => v(U, d, `capabilities.${i}.score`, "pct") },
      { label: "", cell: x => Charts.progress(x.score) },
      { label: "stage", cell: x => esc(x.stage) },
      { label: "next step", cell: x => `<span class="clip wide" title="${esc(x.advice)}">${esc(x.advice)}</span>` },
    ]);
  });
  areaPage("value", "Value & ROI", "what the spend brings back", ["/api/v1/value", "/api/v1/maturity"],
    { "/api/v1/value": value, "/api/v1/maturity": maturity });

  /* ---------------------------------------------------------------------------------- teams */
  const KPIS = ["cost_per_1k_inferences", "cost_per_token", "cost_per_outcome", "ai_roi", "gpu_utilization_rate"];
  const thisMonth = () => new Date().toISOString().slice(0, 7);
  AF.page("teams", {
    title: "Teams",
    subtitle: "showback, budgets against actuals, KPIs; click a team for its statement",
    async render(ctx) {
      const month = ctx.params.get("month") || thisMonth();
      const since = month + "-01";
      const U = "/api/v1/costs" + AF.qs({ by: "team", since });
      ctx.section(`Showback, ${month} to date (direct spend; statements add shared-cost shares)`, { width: "w6" }, async () => {
        const d = await ctx.api(U); const max = Math.max(...d.map(r => Number(r.cost) || 0), 0);
        return table(d, [
          { label: "team", cell: r => name(r.team) },
          { label: "cost", num: true, cell: (r, i) => v(U, d, `${i}.cost`) },
          { label: "", cls: "barcell", cell: r => Charts.bar(r.cost, max) },
          { label: "requests", num: true, cell: (r, i) => v(U, d, `${i}.requests`, "count") },
        ], { link: r => (r.team ? href("team", { team: r.team, month }) : explore({ by: "project", where: "team=", since })) });
      });
      ctx.section("Budgets against actuals", { width: "w6", extra: '<a href="#/guardrails">guardrails →</a>' }, async () => AF.budgetsAtRisk(ctx, 12));
      const UK = "/api/v1/kpis" + AF.qs({ by: "team", since, kpis: KPIS.join(",") });
      ctx.section("KPIs by team, month to date", { width: "w12" }, async () => {
        const d = await ctx.api(UK);
        const kinds = { cost_per_1k_inferences: "money", cost_per_token: "money", cost_per_outcome: "money", ai_roi: "number", gpu_utilization_rate: "pct" };
        return table(d, [
          { label: "team", cell: r => name(r.team) },
          { label: "cost", num: true, cell: (r, i) => v(UK, d, `${i}.cost`) },
          ...KPIS.map(k => ({ label: k.replace(/_/g, " "), num: true, cell: (r, i) => `<span title="${esc((r.notes || {})[k] || "")}">${v(UK, d, `${i}.${k}`, kinds[k])}</span>` })),
        ], { link: r => (r.team ? href("team", { team: r.team, month }) : null) });
      });
    },
  });

  AF.page("team", {
    title: "Team statement",
    nav: "teams",
    async render(ctx) {
      const team = ctx.params.get("team") || "";
      const month = ctx.params.get("month") || thisMonth();
      const U = `/api/v1/statements/${encodeURIComponent(team)}/${month}`;
      ctx.section(`${team}, ${month}`, { width: "w4", extra: `<a href="${esc(U)}?format=html" target="_blank">printable →</a>` }, async () => {
        const d = await ctx.api(U);
        const change = d.change === null ? "" : ` (${v(U, d, "change", "pct")})`;
        return `<div class="kpi"><div class="big">${v(U, d, "total_cost")}</div><div class="sub">previous month ${v(U, d, "previous_month_cost")}${change}</div></div>`
          + (Number(d.unpriced_records) ? `<div class="warn">${v(U, d, "unpriced_records", "count")} unpriced records</div>` : "")
          + `<p><a href="${esc(explore({ by: "feature", where: `team=${team}`, since: d.start, until: d.end }))}">explore this team's spend →</a></p>`;
      });
      ctx.section("Monthly trend", { width: "w8" }, async () => {
        const d = await ctx.api(U);
        return Charts.columns(d.trend.map(t => ({ label: t.month, parts: [{ key: "cost", value: t.cost }] })), { keys: ["cost"], fmt: AF.money, height: 160 });
      });
      for (const [key, dim] of [["by_category", "category"], ["by_model", "model"], ["by_feature", "feature"]]) {
        ctx.section(`By ${dim}`, { width: "w4" }, async () => {
          const d = await ctx.api(U); const rows = d[key] || [];
          return table(rows, [
            { label: dim, cell: r => name(r[dim]) },
            { label: "cost", num: true, cell: (r, i) => v(U, d, `${key}.${i}.cost`) },
            { label: "share", num: true, cell: (r, i) => v(U, d, `${key}.${i}.share`, "pct") },
          ], { link: r => explore({ by: "model", since: d.start, until: d.end, where: [`team=${team}`, `${dim}=${r[dim] ?? ""}`] }) });
        });
      }
    },
  });

  /* Tag coverage for the data-health page (allocation area). */
  AF.coverage = async ctx => {
    const U = "/api/v1/allocation/coverage";
    const d = await ctx.api(U);
    const cov = table(d.sources, [
      { label: "source", cell: r => esc(r.source) },
      { label: "cost", num: true, cell: (r, i) => v(U, d, `sources.${i}.cost`) },
      { label: "without an owner", num: true, cell: (r, i) => v(U, d, `sources.${i}.unallocated_cost`) },
      { label: `with a ${d.dimension}`, num: true, cell: (r, i) => v(U, d, `sources.${i}.allocated_share`, "pct") },
      { label: "", cell: r => Charts.progress(r.allocated_share) },
    ]);
    const untagged = (d.untagged || []).length ? `<h3 style="font-size:13px">Biggest spend without a ${esc(d.dimension)}</h3>` + auto(U, { untagged: d.untagged }, { columns: 5 }) : "";
    return `<div class="kpi"><div class="big">${v(U, d, "total.allocated_share", "pct")}</div><div class="sub">of spend has a ${esc(d.dimension)} · ${v(U, d, "total.unallocated_cost")} without one</div></div>${cov}${untagged}`;
  };
})();

/* aifinops dashboard core: hash routing, the API client (bearer key, 401 prompt, "not available" for
   routes this server does not have), number formatting with provenance, and the page framework.
   Every number on a page is rendered by AF.v(), which records the API URL and JSON path it came from. */
"use strict";
const AF = (() => {
  const pages = {};
  const esc = Charts.esc;
  let gen = 0;
  let routesPromise = null;

  class NotAvailable extends Error {}
  class AuthNeeded extends Error {}

  /* -- formatting (en-US, stable for tests) ------------------------------------------------------- */
  const nf = (min, max) => new Intl.NumberFormat("en-US", { minimumFractionDigits: min, maximumFractionDigits: max });
  const NF2 = nf(2, 2), NF4 = nf(2, 4), NF0 = nf(0, 0), NF1 = nf(1, 1), NFN = nf(0, 3);
  const SIG3 = new Intl.NumberFormat("en-US", { maximumSignificantDigits: 3 });
  function money(v, axis) {
    if (v === null || v === undefined || v === "") return "–";
    const n = Number(v); const a = Math.abs(n); const sign = n < 0 ? "-" : "";
    if (axis) return sign + "$" + (a >= 1e6 ? NF1.format(a / 1e6) + "M" : a >= 1e3 ? NF1.format(a / 1e3) + "k" : a >= 10 ? NF0.format(a) : NF2.format(a));
    return sign + "$" + (a > 0 && a < 0.01 ? SIG3 : a < 1 ? NF4 : NF2).format(a);
  }
  const count = v => (v === null || v === undefined ? "–" : NF0.format(Number(v)));
  const pct = v => (v === null || v === undefined ? "–" : NF1.format(Number(v) * 100) + "%");
  function compact(v) {
    if (v === null || v === undefined) return "–";
    const n = Number(v); const a = Math.abs(n);
    return a >= 1e9 ? NF1.format(n / 1e9) + "B" : a >= 1e6 ? NF1.format(n / 1e6) + "M" : a >= 1e4 ? NF1.format(n / 1e3) + "k" : NF0.format(n);
  }
  const day = v => (v ? String(v).slice(0, 10) : "–");
  const time = v => (v ? String(v).replace("T", " ").replace(/(\.\d+)?Z$/, "").slice(0, 16) : "–");
  const hours = v => (v === null || v === undefined ? "–" : NF1.format(Number(v)) + " h");
  const number = v => (v === null || v === undefined ? "–" : NFN.format(Number(v)));
  const FORMATS = { money, count, pct, compact, day, time, hours, number, text: v => (v ?? "–") };

  function get(obj, path) {
    return String(path).split(".").reduce((o, k) => (o === null || o === undefined ? undefined : o[k]), obj);
  }
  /* A number from an API response, with its provenance (data-api, data-path) for tests and curious users. */
  function v(url, data, path, kind = "money") {
    const raw = get(data, path);
    const rawText = raw === null || raw === undefined ? "" : String(raw);
    return `<span class="n" data-api="${esc(url)}" data-path="${esc(path)}" data-kind="${kind}" data-raw="${esc(rawText)}">${esc(FORMATS[kind](raw))}</span>`;
  }

  /* -- routing ------------------------------------------------------------------------------------- */
  function route() {
    const h = location.hash.replace(/^#\/?/, "");
    const i = h.indexOf("?");
    const name = (i < 0 ? h : h.slice(0, i)) || "overview";
    return { name, params: new URLSearchParams(i < 0 ? "" : h.slice(i + 1)) };
  }
  function href(name, params = {}) {
    const q = new URLSearchParams();
    for (const [k, val] of Object.entries(params)) {
      for (const x of Array.isArray(val) ? val : [val]) if (x !== null && x !== undefined && x !== "") q.append(k, x);
    }
    const s = q.toString();
    return `#/${name}${s ? "?" + s : ""}`;
  }
  function qs(params) {
    const q = new URLSearchParams();
    for (const [k, val] of Object.entries(params)) {
      for (const x of Array.isArray(val) ? val : [val]) if (x !== null && x !== undefined && x !== "") q.append(k, x);
    }
    const s = q.toString();
    return s ? "?" + s : "";
  }

  /* -- API ----------------------------------------------------------------------------------------- */
  function headers() {
    const key = localStorage.getItem("aifinops.key");
    return key ? { Authorization: "Bearer " + key } : {};
  }
  async function rawFetch(url) {
    const r = await fetch(url, { headers: headers() });
    if (r.status === 401) throw new AuthNeeded("this server needs an API key");
    let body = null;
    try { body = await r.json(); } catch (e) { body = null; }
    if (r.status === 404 || r.status === 501) throw new NotAvailable(body?.error?.message || "not available");
    if (r.status === 403) throw new Error(body?.error?.message || "this API key may not read this page");
    if (!r.ok) {
      const msg = body?.error?.message || `HTTP ${r.status}`;
      if (/NotImplementedError/.test(msg)) throw new NotAvailable(msg.replace(/^NotImplementedError: /, ""));
      throw new Error(msg);
    }
    return body;
  }
  /* The API paths this server has (from its OpenAPI document), so a missing area never causes a 404. */
  function routes() {
    if (!routesPromise) {
      routesPromise = rawFetch("/api/v1/openapi.json").then(d => d.paths || {});
      routesPromise.catch(() => { routesPromise = null; });
    }
    return routesPromise;
  }
  function matches(template, url) {
    const path = url.split("?")[0];
    const re = new RegExp("^" + template.replace(/[.*+^$()|[\]\\]/g, "\\$&").replace(/\{[^}]+\}/g, "[^/]+") + "$");
    return re.test(path);
  }
  async function has(url) {
    const paths = await routes();
    return Object.keys(paths).some(t => matches(t, url) && paths[t].get);
  }
  /* GET routes without path parameters under any of the prefixes, with their summaries. */
  async function routeList(prefixes) {
    const paths = await routes();
    return Object.entries(paths)
      .filter(([t, ops]) => ops.get && !t.includes("{") && prefixes.some(p => t === p || t.startsWith(p + "/")))
      .map(([t, ops]) => ({ path: t, summary: ops.get.summary || t }));
  }

  /* -- page framework ------------------------------------------------------------------------------ */
  function page(name, def) { pages[name] = def; }

  class Ctx {
    constructor(name, params, view, g) {
      this.name = name; this.params = params; this.view = view; this.gen = g; this.fetches = new Map(); this.jobs = []; this.timings = [];
    }
    live() { return this.gen === gen; }
    /* Fetch an API URL once per render; missing routes raise NotAvailable without a request. */
    api(url) {
      if (!this.fetches.has(url)) {
        addTwin(url);
        this.fetches.set(url, has(url).then(ok => { if (!ok) throw new NotAvailable("this server has no " + url.split("?")[0]); return rawFetch(url); }));
      }
      return this.fetches.get(url);
    }
    card(title, { width = "", extra = "" } = {}) {
      const el = document.createElement("section");
      el.className = "card " + width;
      el.dataset.title = title;
      el.innerHTML = `<h2><span>${esc(title)}</span><span class="spacer"></span>${extra}</h2><div class="body"><div class="empty">loading…</div></div>`;
      this.view.appendChild(el);
      return el;
    }
    /* Fill a card from an async function returning HTML; errors become a readable panel, never a console error. */
    fill(el, fn) {
      const body = el.querySelector(".body");
      const job = (async () => {
        try {
          const html = await fn();
          if (this.live()) body.innerHTML = html;
        } catch (e) {
          if (!this.live()) return;
          if (e instanceof AuthNeeded) { askKey(e.message); body.innerHTML = `<div class="empty">${esc(e.message)}</div>`; return; }
          if (e instanceof NotAvailable) {
            el.classList.add("na");
            body.innerHTML = `<p><strong>Not available on this server.</strong></p><p class="muted">${esc(e.message)}. This part of aifinops is not enabled or not installed yet.</p>`;
            return;
          }
          el.classList.add("error");
          body.innerHTML = `<p class="bad"><strong>Could not load:</strong> ${esc(e.message)}</p>`;
        } finally {
          this.timings.push({ panel: el.querySelector("h2 span").textContent, ms: Math.round(performance.now()) });
        }
      })();
      this.jobs.push(job);
      return job;
    }
    section(title, opts, fn) { return this.fill(this.card(title, opts), fn); }
  }

  function addTwin(url) {
    const el = document.getElementById("twins");
    if ([...el.querySelectorAll("a")].some(a => a.getAttribute("href") === url)) return;
    const a = document.createElement("a");
    a.href = url; a.target = "_blank"; a.rel = "noopener"; a.textContent = "{ } " + url.replace("/api/v1", "").split("?")[0];
    a.title = "JSON twin: " + url;
    el.appendChild(a);
  }

  async function render() {
    const { name, params } = route();
    const g = ++gen;
    const def = pages[name] || pages.notfound;
    delete document.documentElement.dataset.ready;
    document.getElementById("title").textContent = def.title;
    document.getElementById("subtitle").textContent = def.subtitle || "";
    document.getElementById("twins").innerHTML = '<span class="muted">JSON:</span>';
    document.title = def.title + " · aifinops";
    for (const a of document.querySelectorAll("#nav a")) a.classList.toggle("active", a.dataset.page === (def.nav || name));
    const view = document.getElementById("view");
    view.innerHTML = "";
    const ctx = new Ctx(name, params, view, g);
    window.__aifinopsPanels = ctx.timings;  // panels rendered so far, with the time each one was done
    try {
      await def.render(ctx);
    } catch (e) {
      if (g === gen) ctx.section("Error", { width: "w12" }, async () => { throw e; });
    }
    while (ctx.jobs.length) { const jobs = ctx.jobs.splice(0); await Promise.allSettled(jobs); }
    if (g === gen) {
      document.documentElement.dataset.ready = name;
      window.__aifinopsReady = { page: name, ms: performance.now(), panels: ctx.timings };
    }
  }

  /* -- API key and theme --------------------------------------------------------------------------- */
  function askKey(reason) {
    const d = document.getElementById("keydialog");
    if (reason) document.getElementById("keyreason").textContent = reason + ". It is kept in this browser only (localStorage) and sent as a bearer token.";
    document.getElementById("keyinput").value = "";
    if (!d.open) d.showModal();
  }
  function start() {
    const d = document.getElementById("keydialog");
    d.addEventListener("close", () => {
      if (d.returnValue === "save") localStorage.setItem("aifinops.key", document.getElementById("keyinput").value.trim());
      if (d.returnValue === "clear") localStorage.removeItem("aifinops.key");
      if (d.returnValue === "save" || d.returnValue === "clear") { routesPromise = null; render(); }
    });
    document.getElementById("key").addEventListener("click", () => askKey(""));
    document.getElementById("theme").addEventListener("click", () => {
      const order = ["", "dark", "light"]; const cur = document.documentElement.dataset.theme || "";
      const next = order[(order.indexOf(cur) + 1) % order.length];
      if (next) { document.documentElement.dataset.theme = next; localStorage.setItem("aifinops.theme", next); }
      else { delete document.documentElement.dataset.theme; localStorage.removeItem("aifinops.theme"); }
    });
    document.getElementById("view").addEventListener("click", e => {
      const tr = e.target.closest("tr.link");
      if (tr && !e.target.closest("a")) location.hash = tr.dataset.href.slice(1);
    });
    window.addEventListener("hashchange", render);
    render();
  }

  /* -- shared widgets ------------------------------------------------------------------------------ */
  /* A table. cols: [{label, cell(row, i) -> html, num}], link(row) -> href for drill-down rows. */
  function table(rows, cols, { link, limit = 500 } = {}) {
    if (!rows.length) return '<div class="empty">nothing in this period</div>';
    const head = cols.map(c => `<th class="${c.num ? "num" : ""}">${esc(c.label)}</th>`).join("");
    const body = rows.slice(0, limit).map((r, i) => {
      const h = link ? link(r, i) : null;
      const cells = cols.map(c => `<td class="${c.num ? "num" : ""}${c.cls ? " " + c.cls : ""}">${c.cell(r, i)}</td>`).join("");
      return h ? `<tr class="link" data-href="${esc(h)}">${cells}</tr>` : `<tr>${cells}</tr>`;
    }).join("");
    return `<div class="scroll"><table><thead><tr>${head}</tr></thead><tbody>${body}</tbody></table></div>`;
  }
  const name = val => (val === null || val === undefined || val === "" ? '<span class="muted">(none)</span>' : `<span class="clip" title="${esc(val)}">${esc(val)}</span>`);

  return { page, start, render, route, href, qs, v, get, esc, table, name, FORMATS, money, count, pct, compact, NotAvailable, has, routeList };
})();

AF.page("notfound", {
  title: "No such page",
  async render(ctx) {
    ctx.section("No such page", { width: "w12" }, async () => `<p>There is no page <code>${AF.esc(ctx.name)}</code>. <a href="#/overview">Go to the overview</a>.</p>`);
  },
});

/* Small SVG charts drawn by hand (no library, no CDN). Every function returns an HTML/SVG string. */
"use strict";
const Charts = (() => {
  const esc = s => String(s ?? "").replace(/[&<>"']/g, c => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
  const palette = key => `var(--c${Math.abs(key) % 8})`;
  const colorMap = keys => { const m = new Map(); keys.forEach((k, i) => m.set(k, palette(i))); return m; };

  function niceMax(v) {
    if (!(v > 0)) return 1;
    const p = Math.pow(10, Math.floor(Math.log10(v))); const f = v / p;
    return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 2.5 ? 2.5 : f <= 5 ? 5 : 10) * p;
  }

  /* Stacked columns. cols: [{label, parts: [{key, value}], href, title}], keys: stacking order. */
  function columns(cols, { keys = ["value"], height = 200, fmt = v => v, colors } = {}) {
    const W = 720, H = height, left = 56, bottom = 22, top = 8;
    const cmap = colors || colorMap(keys);
    const totals = cols.map(c => c.parts.reduce((s, p) => s + Math.max(0, Number(p.value) || 0), 0));
    const max = niceMax(Math.max(0, ...totals));
    const ih = H - bottom - top, slot = (W - left) / Math.max(cols.length, 1), bw = Math.max(2, slot * 0.72);
    let out = `<svg class="chart" viewBox="0 0 ${W} ${H}" role="img">`;
    for (let i = 0; i <= 4; i++) {
      const y = top + ih - (ih * i) / 4;
      out += `<line class="grid" x1="${left}" x2="${W}" y1="${y}" y2="${y}"/><text x="${left - 6}" y="${y + 4}" text-anchor="end">${esc(fmt((max * i) / 4, true))}</text>`;
    }
    const every = Math.ceil(cols.length / 10);
    cols.forEach((c, i) => {
      const x = left + i * slot + (slot - bw) / 2;
      let y = top + ih;
      let bars = "";
      for (const k of keys) {
        const part = c.parts.find(p => p.key === k); const v = Math.max(0, Number(part?.value) || 0);
        if (!v) continue;
        const h = (ih * v) / max; y -= h;
        bars += `<rect class="hit" x="${x.toFixed(1)}" y="${y.toFixed(1)}" width="${bw.toFixed(1)}" height="${Math.max(h, 0.5).toFixed(1)}" fill="${cmap.get(k)}"><title>${esc(c.label)} · ${esc(k)}: ${esc(fmt(v))}</title></rect>`;
      }
      const body = bars + `<rect x="${x.toFixed(1)}" y="${top}" width="${bw.toFixed(1)}" height="${ih}" fill="transparent"><title>${esc(c.title || c.label + ": " + fmt(totals[i]))}</title></rect>`;
      out += c.href ? `<a href="${esc(c.href)}" data-drill="${esc(c.label)}">${body}</a>` : body;
      if (i % every === 0) out += `<text x="${(x + bw / 2).toFixed(1)}" y="${H - 6}" text-anchor="middle">${esc(c.label)}</text>`;
    });
    return out + "</svg>";
  }

  /* A 100% bar split in parts: [{key, value, label}]. */
  function split(parts, { fmt = v => v } = {}) {
    const total = parts.reduce((s, p) => s + Math.max(0, Number(p.value) || 0), 0) || 1;
    const cmap = colorMap(parts.map(p => p.key));
    const bars = parts.map(p => `<div style="width:${(100 * Math.max(0, Number(p.value) || 0) / total).toFixed(2)}%;background:${cmap.get(p.key)}" title="${esc(p.label || p.key)}: ${esc(fmt(p.value))}"></div>`).join("");
    return `<div class="split">${bars}</div>` + legend(parts.map(p => p.key), cmap, parts.map(p => p.label || p.key));
  }

  function legend(keys, cmap, labels) {
    const m = cmap || colorMap(keys);
    return `<div class="legend">${keys.map((k, i) => `<span><i style="background:${m.get(k)}"></i>${esc(labels ? labels[i] : k)}</span>`).join("")}</div>`;
  }

  /* A horizontal bar for table cells, as a share of max. */
  const bar = (value, max, cls = "") => `<div class="bar ${cls}" style="width:${(100 * Math.max(0, Number(value) || 0) / (max || 1)).toFixed(1)}%"></div>`;

  /* A progress bar for budgets: used is a 0..1+ ratio. */
  function progress(used) {
    const u = Number(used) || 0; const cls = u >= 1 ? "bad" : u >= 0.8 ? "warn" : "";
    return `<div class="progress" title="${(u * 100).toFixed(1)}%"><div class="${cls}" style="width:${Math.min(100, u * 100).toFixed(1)}%"></div></div>`;
  }

  /* A sparkline of values. */
  function spark(values, { width = 120, height = 28 } = {}) {
    const v = values.map(Number); const max = Math.max(...v, 1e-12); const step = width / Math.max(v.length - 1, 1);
    const pts = v.map((y, i) => `${(i * step).toFixed(1)},${(height - (height - 2) * y / max - 1).toFixed(1)}`).join(" ");
    return `<svg class="chart" viewBox="0 0 ${width} ${height}" style="width:${width}px;height:${height}px"><polyline fill="none" stroke="var(--accent)" stroke-width="1.5" points="${pts}"/></svg>`;
  }

  return { columns, split, legend, bar, progress, spark, colorMap, esc };
})();

// Draws every Plotly figure whose JSON the server embedded next to its container.
document.querySelectorAll("script[data-figure]").forEach((node) => {
  const figure = JSON.parse(node.textContent);
  const target = document.getElementById(node.dataset.figure);
  const config = { displaylogo: false, responsive: true, locale: document.documentElement.lang };
  Plotly.newPlot(target, figure.data, figure.layout, config).then(() => {
    target.dataset.rendered = "true";
  });
});

// Analysis charts in plain SVG (no library): trend lines, funnel bars, retention heatmap and mean
// curve, Sankey of paths, lifecycle stacks, stickiness and histograms. The builder pages
// (static/analysis.js) and dashboards draw results of POST /api/query with GLCharts.analysis().
window.GLCharts = (() => {
  const NS = "http://www.w3.org/2000/svg";
  const COLORS = ["#2563eb", "#f59e0b", "#10b981", "#ef4444", "#8b5cf6", "#06b6d4", "#ec4899",
                  "#84cc16", "#f97316", "#64748b"];
  const LIFECYCLE = { new: "#10b981", returning: "#2563eb", resurrecting: "#8b5cf6", dormant: "#ef4444" };
  const lang = () => document.documentElement.lang || "en";
  const num = (v, digits = 2) => (v === null || v === undefined ? "–"
    : new Intl.NumberFormat(lang(), { maximumFractionDigits: digits }).format(v));
  const pct = (v) => (v === null || v === undefined ? "–"
    : new Intl.NumberFormat(lang(), { style: "percent", maximumFractionDigits: 1, minimumFractionDigits: 1 }).format(v));
  const day = (iso) => (iso ? (iso.endsWith("T00:00:00") ? iso.slice(0, 10) : iso.slice(0, 16).replace("T", " ")) : "");

  function el(name, attrs = {}, text = null) {
    const node = document.createElementNS(NS, name);
    for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
    if (text !== null) node.textContent = text;
    return node;
  }
  function canvas(target, width, height, cls) {
    const svg = el("svg", { viewBox: `0 0 ${width} ${height}`, class: `gl-chart ${cls}`, role: "img" });
    target.appendChild(svg);
    return svg;
  }
  function legend(svg, names, x, y) {
    names.forEach((name, i) => {
      const g = el("g", { class: "gl-legend", transform: `translate(${x + (i % 4) * 190},${y + Math.floor(i / 4) * 16})` });
      g.appendChild(el("rect", { width: 10, height: 10, fill: COLORS[i % COLORS.length] }));
      g.appendChild(el("text", { x: 14, y: 9, "font-size": 11 }, String(name).slice(0, 28)));
      svg.appendChild(g);
    });
  }
  function yAxis(svg, max, x0, y0, h, w, format = num) {
    const tick = format === num && max >= 10 ? (v) => num(v, 0) : format;
    for (let i = 0; i <= 4; i++) {
      const y = y0 + h - (h * i) / 4;
      svg.appendChild(el("line", { x1: x0, x2: x0 + w, y1: y, y2: y, class: "gl-grid" }));
      svg.appendChild(el("text", { x: x0 - 6, y: y + 4, "text-anchor": "end", "font-size": 11, class: "gl-tick" }, tick((max * i) / 4)));
    }
  }
  function xLabels(svg, labels, xOf, y) {
    const step = Math.max(1, Math.ceil(labels.length / 8));
    labels.forEach((label, i) => {
      if (i % step === 0) svg.appendChild(el("text", { x: xOf(i), y, "text-anchor": "middle", "font-size": 11, class: "gl-tick" }, label));
    });
  }

  /** Lines: {labels: [...], series: [{name, values, dashed}]}; one path.gl-line per series. */
  function lines(target, data, format = num) {
    const legendRows = Math.ceil(data.series.length / 4);
    const W = 800, H = 264 + 16 * legendRows, L = 60, T = 10, PW = W - L - 20, PH = 220;
    const svg = canvas(target, W, H, "gl-lines");
    const all = data.series.flatMap((s) => s.values).filter((v) => v !== null && v !== undefined);
    const max = Math.max(1e-9, ...all.map(Math.abs)) * 1.05;
    const n = Math.max(1, data.labels.length - 1);
    const xOf = (i) => L + (PW * i) / n;
    const yOf = (v) => T + PH - (PH * v) / max;
    yAxis(svg, max, L, T, PH, PW, format);
    xLabels(svg, data.labels, xOf, T + PH + 16);
    data.series.forEach((s, k) => {
      let d = "";
      let pen = "M";
      s.values.forEach((v, i) => {
        if (v === null || v === undefined) { pen = "M"; return; }
        d += `${pen}${xOf(i).toFixed(1)},${yOf(v).toFixed(1)} `;
        pen = "L";
      });
      const attrs = { d: d || "M0,0", class: "gl-line", fill: "none", stroke: COLORS[k % COLORS.length], "stroke-width": 2 };
      if (s.dashed) attrs["stroke-dasharray"] = "5 4";
      const path = el("path", attrs);
      path.appendChild(el("title", {}, s.name));
      svg.appendChild(path);
    });
    legend(svg, data.series.map((s) => s.name), L, T + PH + 28);
    return svg;
  }

  /** Bars: {labels, groups: [{name, values, notes}]}; one rect.gl-bar per value of each group. */
  function bars(target, data) {
    const legendRows = data.groups.length > 1 ? Math.ceil(data.groups.length / 4) : 0;
    const W = 800, H = 250 + 16 * legendRows, L = 60, T = 20, PW = W - L - 20, PH = 200;
    const svg = canvas(target, W, H, "gl-bars");
    const max = Math.max(1e-9, ...data.groups.flatMap((g) => g.values.map((v) => v || 0))) * 1.05;
    yAxis(svg, max, L, T, PH, PW);
    const slot = PW / Math.max(1, data.labels.length);
    const bw = (slot * 0.8) / data.groups.length;
    data.groups.forEach((g, k) => {
      g.values.forEach((v, i) => {
        const h = (PH * (v || 0)) / max;
        const x = L + slot * i + slot * 0.1 + bw * k;
        const rect = el("rect", { x: x.toFixed(1), y: (T + PH - h).toFixed(1), width: Math.max(1, bw - 2).toFixed(1), height: h.toFixed(1), class: "gl-bar", fill: COLORS[k % COLORS.length] });
        rect.appendChild(el("title", {}, `${g.name ? g.name + " · " : ""}${data.labels[i]}: ${num(v)}${g.notes ? " · " + g.notes[i] : ""}`));
        svg.appendChild(rect);
        if (data.groups.length === 1) {
          svg.appendChild(el("text", { x: x + bw / 2, y: T + PH - h - 4, "text-anchor": "middle", "font-size": 11 }, g.notes ? g.notes[i] : num(v)));
        }
      });
    });
    data.labels.forEach((label, i) => {
      svg.appendChild(el("text", { x: L + slot * i + slot / 2, y: T + PH + 16, "text-anchor": "middle", "font-size": 11, class: "gl-tick" }, String(label).slice(0, 24)));
    });
    if (data.groups.length > 1) legend(svg, data.groups.map((g) => g.name), L, T + PH + 30);
    return svg;
  }

  /** Lifecycle: stacked bars per bucket, dormant below the axis; 4 rect.gl-bar per bucket. */
  function stacked(target, labels, counts, names, shownNames = {}) {
    const W = 800, H = 320, L = 60, T = 10, PW = W - L - 20, PH = H - 80;
    const svg = canvas(target, W, H, "gl-stacked");
    const up = labels.map((_, i) => names.filter((n) => n !== "dormant").reduce((a, n) => a + counts[n][i], 0));
    const down = labels.map((_, i) => counts.dormant[i]);
    const top = Math.max(1, ...up), bottom = Math.max(1, ...down);
    const scale = PH / (top + bottom);
    const zero = T + top * scale;
    svg.appendChild(el("line", { x1: L, x2: L + PW, y1: zero, y2: zero, class: "gl-grid" }));
    svg.appendChild(el("text", { x: L - 6, y: T + 10, "text-anchor": "end", "font-size": 11 }, num(top)));
    svg.appendChild(el("text", { x: L - 6, y: T + PH, "text-anchor": "end", "font-size": 11 }, num(-bottom)));
    const slot = PW / Math.max(1, labels.length);
    labels.forEach((_, i) => {
      let y = zero;
      names.forEach((name) => {
        const h = counts[name][i] * scale;
        const x = L + slot * i + slot * 0.1;
        const ry = name === "dormant" ? zero : y - h;
        if (name !== "dormant") y -= h;
        const rect = el("rect", { x: x.toFixed(1), y: ry.toFixed(1), width: Math.max(1, slot * 0.8).toFixed(1), height: h.toFixed(1), class: "gl-bar", fill: LIFECYCLE[name] });
        rect.appendChild(el("title", {}, `${labels[i]} ${name}: ${num(counts[name][i])}`));
        svg.appendChild(rect);
      });
    });
    xLabels(svg, labels, (i) => L + slot * i + slot / 2, T + PH + 16);
    names.forEach((name, i) => {
      const g = el("g", { class: "gl-legend", transform: `translate(${L + i * 140},${H - 30})` });
      g.appendChild(el("rect", { width: 10, height: 10, fill: LIFECYCLE[name] }));
      g.appendChild(el("text", { x: 14, y: 9, "font-size": 11 }, shownNames[name] || name));
      svg.appendChild(g);
    });
    return svg;
  }

  /** Heatmap: rows [{label, size, cells: [ratio|null]}]; one rect.gl-cell per non-null cell. */
  function heatmap(target, rows, columns) {
    const CW = 64, CH = 24, L = 190, T = 24;
    const W = L + CW * columns.length + 10, H = T + CH * rows.length + 10;
    const svg = canvas(target, W, H, "gl-heatmap");
    svg.setAttribute("width", W); // natural size: a small matrix is not blown up to the full width
    columns.forEach((c, j) => svg.appendChild(el("text", { x: L + CW * j + CW / 2, y: 16, "text-anchor": "middle", "font-size": 11, class: "gl-tick" }, c)));
    rows.forEach((row, i) => {
      const y = T + CH * i;
      svg.appendChild(el("text", { x: L - 8, y: y + 16, "text-anchor": "end", "font-size": 11 }, `${row.label} (${num(row.size)})`));
      row.cells.forEach((v, j) => {
        if (v === null || v === undefined) return;
        const alpha = 0.08 + 0.92 * Math.max(0, Math.min(1, v));
        const rect = el("rect", { x: L + CW * j, y, width: CW - 2, height: CH - 2, class: "gl-cell", fill: `rgba(37,99,235,${alpha.toFixed(3)})` });
        rect.appendChild(el("title", {}, `${row.label} · ${columns[j]}: ${pct(v)}`));
        svg.appendChild(rect);
        svg.appendChild(el("text", { x: L + CW * j + CW / 2 - 1, y: y + 15, "text-anchor": "middle", "font-size": 11, fill: alpha > 0.5 ? "#fff" : "#1f2933" }, pct(v)));
      });
    });
    return svg;
  }

  /** Sankey: flows [{depth, source, target, people}]; one path.gl-link per flow, rect.gl-node per node. */
  const SANKEY_LINKS = 12;
  /** The flows a Sankey shows: the SANKEY_LINKS largest of each depth (ties by source, target). */
  function sankeyFlows(all) {
    const byDepth = new Map();
    all.forEach((f) => byDepth.set(f.depth, [...(byDepth.get(f.depth) || []), f]));
    return [...byDepth.values()].flatMap((list) => list
      .sort((a, b) => b.people - a.people || a.source.localeCompare(b.source) || a.target.localeCompare(b.target))
      .slice(0, SANKEY_LINKS));
  }
  function sankey(target, allFlows) {
    const flows = sankeyFlows(allFlows);
    const W = 900, H = 420, T = 10, NW = 12, GAP = 8;
    const svg = canvas(target, W, H, "gl-sankey");
    const nodes = new Map();
    const node = (depth, name) => {
      const key = `${depth}\u0000${name}`;
      if (!nodes.has(key)) nodes.set(key, { depth, name, in: 0, out: 0 });
      return nodes.get(key);
    };
    flows.forEach((f) => { node(f.depth, f.source).out += f.people; node(f.depth + 1, f.target).in += f.people; });
    const columns = [];
    for (const n of nodes.values()) {
      n.value = Math.max(n.in, n.out);
      (columns[n.depth] = columns[n.depth] || []).push(n);
    }
    const heaviest = Math.max(1, ...columns.map((c) => (c || []).reduce((a, n) => a + n.value, 0)));
    const tallest = Math.max(1, ...columns.map((c) => (c || []).length));
    const scale = (H - T * 2 - GAP * (tallest - 1)) / heaviest;
    const colX = (d) => 10 + ((W - 180) * d) / Math.max(1, columns.length - 1);
    columns.forEach((col) => {
      let y = T;
      (col || []).sort((a, b) => b.value - a.value || a.name.localeCompare(b.name)).forEach((n) => {
        n.y = y; n.h = Math.max(1, n.value * scale); n.inY = y; n.outY = y;
        y += n.h + GAP;
      });
    });
    [...flows].sort((a, b) => b.people - a.people).forEach((f, i) => {
      const s = node(f.depth, f.source), t = node(f.depth + 1, f.target);
      const w = Math.max(1, f.people * scale);
      const x1 = colX(f.depth) + NW, x2 = colX(f.depth + 1);
      const y1 = s.outY + w / 2, y2 = t.inY + w / 2;
      s.outY += w; t.inY += w;
      const mid = (x1 + x2) / 2;
      const path = el("path", { d: `M${x1},${y1} C${mid},${y1} ${mid},${y2} ${x2},${y2}`, class: "gl-link", fill: "none", stroke: COLORS[i % COLORS.length], "stroke-opacity": 0.35, "stroke-width": w.toFixed(1) });
      path.appendChild(el("title", {}, `${f.source} → ${f.target}: ${num(f.people)}`));
      svg.appendChild(path);
    });
    for (const n of nodes.values()) {
      const rect = el("rect", { x: colX(n.depth), y: n.y, width: NW, height: n.h, class: "gl-node", fill: "#334155" });
      rect.appendChild(el("title", {}, `${n.name}: ${num(n.value)}`));
      svg.appendChild(rect);
      if (n.h >= 9) svg.appendChild(el("text", { x: colX(n.depth) + NW + 4, y: n.y + Math.min(n.h / 2 + 4, 14), "font-size": 11 }, String(n.name).slice(0, 26)));
    }
    return svg;
  }

  /** Seconds as the largest fitting unit: 45 s, 12.5 min, 3 h, 2.5 d. */
  function duration(seconds) {
    if (seconds === null || seconds === undefined) return "–";
    if (seconds < 60) return `${num(seconds, 1)} s`;
    if (seconds < 3600) return `${num(seconds / 60, 1)} min`;
    if (seconds < 86400) return `${num(seconds / 3600, 1)} h`;
    return `${num(seconds / 86400, 1)} d`;
  }
  /** A histogram bin [low, high): "3–4" for counts (high exclusive), "1 h–1 d" for durations. */
  function binLabel(b, format) {
    if (b.high === null) return `${format(b.low)}+`;
    return format === num ? `${num(b.low)}–${num(b.high - 1)}` : `${format(b.low)}–${format(b.high)}`;
  }

  const lineName = (line) => [line.label, line.breakdown_value, line.period === "previous" ? "(−1)" : null].filter((x) => x !== null && x !== undefined).join(" · ");

  /** Draw the chart of any analysis result into `target` (emptied first). */
  /** `labels` (optional) names things in the page's language: {all, new, returning, ...}. */
  function analysis(target, kind, result, labels = {}) {
    const everyone = labels.all || "∑";
    target.textContent = "";
    if (kind === "trends") {
      lines(target, {
        labels: result.buckets.map(day),
        series: result.lines.map((l) => ({ name: lineName(l), values: l.values, dashed: l.period === "previous" })),
      });
    } else if (kind === "funnel") {
      const labels = result.groups[0].steps.map((s) => `${s.step}. ${s.name}`);
      bars(target, {
        labels,
        groups: result.groups.map((g) => ({
          name: g.breakdown_value === null ? everyone : g.breakdown_value,
          values: g.steps.map((s) => s.count),
          notes: g.steps.map((s) => `${num(s.count)} · ${pct(s.conversion_from_first)}`),
        })),
      });
      if (result.trend && result.trend.length) {
        lines(target, { labels: result.trend.map((p) => day(p.bucket)), series: [{ name: "%", values: result.trend.map((p) => p.conversion) }] }, pct);
      }
    } else if (kind === "retention") {
      const periods = result.groups[0] ? result.groups[0].mean.length : 0;
      const rows = result.groups.flatMap((g) => g.cohorts.map((c) => ({
        label: (g.breakdown_value === null ? "" : `${g.breakdown_value} · `) + day(c.cohort), size: c.size, cells: c.percentages,
      })));
      heatmap(target, rows, Array.from({ length: periods }, (_, i) => String(i)));
      lines(target, {
        labels: Array.from({ length: periods }, (_, i) => String(i)),
        series: result.groups.map((g) => ({ name: g.breakdown_value === null ? everyone : g.breakdown_value, values: g.mean })),
      }, pct);
    } else if (kind === "paths") {
      sankey(target, result.flows);
    } else if (kind === "lifecycle") {
      stacked(target, result.buckets.map(day), result.counts, ["new", "returning", "resurrecting", "dormant"], labels);
    } else if (kind === "stickiness") {
      bars(target, { labels: result.active_periods.map((_, i) => String(i + 1)), groups: [{ name: "", values: result.active_periods }] });
      lines(target, {
        labels: result.days.map(day),
        series: [{ name: "DAU", values: result.dau }, { name: "WAU", values: result.wau }, { name: "MAU", values: result.mau }],
      });
    } else if (kind === "distribution" || kind === "interval") {
      bars(target, {
        labels: result.bins.map((b) => binLabel(b, kind === "interval" ? duration : num)),
        groups: [{ name: "", values: result.bins.map((b) => b.people) }],
      });
    } else if (kind === "segment") {
      target.appendChild(Object.assign(document.createElement("p"), { className: "kpi-value", textContent: num(result.size) }));
    } else if (kind === "profile") {
      target.appendChild(Object.assign(document.createElement("p"), { textContent: `${result.person_id}: ${num(result.event_count)}` }));
    }
    target.dataset.rendered = "true";
  }

  document.querySelectorAll("script[data-analysis]").forEach((node) => {
    const data = JSON.parse(node.textContent);
    analysis(document.getElementById(node.dataset.analysis), data.kind, data.result, data.labels);
  });
  return { analysis, lines, bars, heatmap, sankey, stacked, num, pct, day, duration, binLabel };
})();

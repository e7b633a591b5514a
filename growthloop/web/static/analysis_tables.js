// Result tables of the analysis builder pages, one per kind: the numbers behind each chart.
// GLResultTables(t, h, extra) returns {kind: result => [elements]}; `t` translates, `h` makes
// elements, statistics lines (distribution, interval) go into the `extra` element.
window.GLResultTables = (t, h, extra) => {
  const { num, pct, day, duration, binLabel } = window.GLCharts;
  function table(columns, rows, id = "result-table") {
    return h("table", { class: "data", id },
      h("thead", {}, h("tr", {}, columns.map((c) => h("th", { text: c })))),
      h("tbody", {}, rows.map((cells) => h("tr", {}, cells.map((c) => (c instanceof Node ? c : h("td", { class: typeof c === "number" || c === null ? "num" : null, text: c === null ? "–" : typeof c === "number" ? num(c) : c })))))));
  }
  const cell = (value, format) => h("td", { class: "num", "data-value": value === null ? "" : String(value), text: format(value) });
  const groupName = (value) => (value === null ? t("all_people") : value);

  const TABLES = {
    trends: (r) => [table(
      [t("label"), t("total"), ...(r.buckets.map(day))],
      r.lines.map((l) => [
        [l.label, l.breakdown_value, l.period === "previous" ? t("previous") : null].filter((x) => x !== null).join(" · "),
        cell(l.total, num), ...l.values.map((v) => cell(v, num)),
      ]))],
    funnel: (r) => [table(
      [t("group"), t("step"), t("event"), t("count"), t("conv_first"), t("conv_prev"), t("median_time"), t("mean_time"), t("dropped")],
      r.groups.flatMap((g) => g.steps.map((s, i) => {
        const next = g.steps[i + 1];
        const dropped = next ? s.count - next.count : null;
        const link = dropped !== null && g.breakdown_value === null
          ? h("td", { class: "num" }, h("a", { href: "#", "data-dropped-step": s.step, text: num(dropped) }))
          : cell(dropped, num);
        return [groupName(g.breakdown_value), String(s.step), s.name, cell(s.count, num), cell(s.conversion_from_first, pct),
          cell(s.conversion_from_previous, pct), cell(s.median_seconds_from_first, duration), cell(s.mean_seconds_from_first, duration), link];
      }))),
    ...(r.trend && r.trend.length ? [table([t("bucket"), t("entered"), t("converted"), t("conv_first")],
      r.trend.map((p) => [day(p.bucket), cell(p.entered, num), cell(p.converted, num), cell(p.conversion, pct)]), "trend-table")] : []),
    ],
    retention: (r) => {
      const periods = r.groups.length ? r.groups[0].mean.length : 0;
      const columns = [t("group"), t("cohort"), t("size"), ...Array.from({ length: periods }, (_, i) => `${t(r.period)} ${i}`)];
      const rows = r.groups.flatMap((g) => [
        ...g.cohorts.map((c) => [groupName(g.breakdown_value), day(c.cohort), cell(c.size, num), ...c.percentages.map((p) => cell(p, pct))]),
        [groupName(g.breakdown_value), t("mean"), "", ...g.mean.map((p) => cell(p, pct))],
      ]);
      return [table(columns, rows)];
    },
    paths: (r) => [table([t("path"), t("count")], r.paths.map((p) => [p.steps.join(" → "), cell(p.people, num)]))],
    lifecycle: (r) => {
      const statuses = ["new", "returning", "resurrecting", "dormant"];
      return [table([t("bucket"), ...statuses.map((s) => t(s))], r.buckets.map((b, i) => [day(b), ...statuses.map((s) => cell(r.counts[s][i], num))]))];
    },
    stickiness: (r) => [
      table([t("active_periods"), t("count")], r.active_periods.map((n, i) => [String(i + 1), cell(n, num)]), "active-table"),
      table([t("bucket"), "DAU", "WAU", "MAU", "DAU/MAU"], r.days.map((d, i) => [day(d), cell(r.dau[i], num), cell(r.wau[i], num), cell(r.mau[i], num), cell(r.dau_mau[i], pct)])),
    ],
    distribution: (r) => histogram(r, num),
    interval: (r) => histogram(r, duration),
  };
  function histogram(r, format) {
    extra.append(h("p", { id: "distribution-stats", text: t("stats", {
      people: num(r.people), mean: format(r.mean), median: format(r.median), p25: format(r.p25), p75: format(r.p75), p90: format(r.p90),
    }) }));
    return [table([t("bin"), t("count")], r.bins.map((b) => [binLabel(b, format), cell(b.people, num)]))];
  }

  return TABLES;
};

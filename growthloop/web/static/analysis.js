// Analysis builder pages: a form over the kind's JSON spec (docs/analytics.md). Every input
// names the spec path it edits (data-path), so the form and the spec never disagree. Run posts
// the spec to /api/query, draws the chart (charts.js) and the table, and puts the spec in the
// URL (?spec=...) so the link opens the same analysis. Save stores it as an insight on a
// dashboard through the insights and dashboards API.
(() => {
  const boot = JSON.parse(document.getElementById("analysis-boot").textContent);
  const kind = boot.kind;
  const form = document.getElementById("analysis-form");
  const resultBox = document.getElementById("analysis-result");
  const chartBox = document.getElementById("analysis-chart");
  const tableBox = document.getElementById("analysis-table");
  const extraBox = document.getElementById("analysis-extra");
  const statusBox = document.getElementById("analysis-status");
  const { num } = window.GLCharts;
  const t = (key, values = {}) => (boot.strings[`analysis.${key}`] || key)
    .replace(/\{(\w+)\}/g, (_, k) => (values[k] === undefined ? "" : values[k]));
  const OPERATORS = ["=", "!=", "in", "not_in", "contains", "not_contains", "regex", ">", ">=", "<", "<=", "is_set", "is_not_set"];
  const PROPERTY_MATHS = ["sum", "avg", "min", "max", "median", "p90"];
  const NO_VALUE = ["is_set", "is_not_set"];
  const LIST_OPS = ["in", "not_in"];
  const NUMBER_OPS = [">", ">=", "<", "<="];
  const LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";
  const chartLabels = { all: t("all_people"), ...Object.fromEntries(["new", "returning", "resurrecting", "dormant"].map((s) => [s, t(s)])) };
  let spec = initialSpec();
  let last = null;

  function initialSpec() {
    const raw = new URLSearchParams(location.search).get("spec");
    if (raw) {
      try {
        const parsed = JSON.parse(raw);
        if (parsed && parsed.kind === kind) return parsed;
      } catch (err) { /* a broken link opens the default spec */ }
    }
    return JSON.parse(JSON.stringify(boot.default_spec));
  }

  // ---- spec paths ("series.0.filters.1.key") ----
  const keysOf = (path) => path.split(".").map((k) => (/^\d+$/.test(k) ? Number(k) : k));
  function get(path) {
    return keysOf(path).reduce((obj, k) => (obj === null || obj === undefined ? undefined : obj[k]), spec);
  }
  function set(path, value) {
    const keys = keysOf(path);
    let obj = spec;
    keys.slice(0, -1).forEach((k, i) => {
      if (obj[k] === null || obj[k] === undefined || typeof obj[k] !== "object") obj[k] = typeof keys[i + 1] === "number" ? [] : {};
      obj = obj[k];
    });
    const lastKey = keys[keys.length - 1];
    if (value === undefined) {
      if (Array.isArray(obj)) obj.splice(lastKey, 1); else delete obj[lastKey];
    } else obj[lastKey] = value;
  }

  // ---- small DOM helpers ----
  function h(tag, attrs = {}, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs)) {
      if (v === null || v === undefined || v === false) continue;
      if (k === "text") node.textContent = v; else node.setAttribute(k, v === true ? "" : v);
    }
    children.flat().forEach((c) => c !== null && c !== undefined && node.append(c));
    return node;
  }
  const text = (value) => (value === null || value === undefined ? "" : Array.isArray(value) ? value.join(", ") : String(value));
  function input(label, path, parse, attrs = {}) {
    return h("label", {}, label, h("input", { name: path, "data-path": path, "data-parse": parse, value: text(get(path)), ...attrs }));
  }
  function select(label, path, options, attrs = {}) {
    const current = text(get(path));
    const el = h("select", { name: path, "data-path": path, "data-parse": attrs.parse || "str", "data-rerender": attrs.rerender });
    options.forEach(([value, name]) => el.append(h("option", { value, selected: value === current, text: name })));
    return label ? h("label", {}, label, el) : el;
  }
  function check(label, path) {
    return h("label", {}, h("input", { type: "checkbox", name: path, "data-path": path, "data-parse": "bool", checked: !!get(path) }), label);
  }
  const button = (label, action, path, item) => h("button", { type: "button", class: "ghost", "data-action": action, "data-path": path, "data-item": item ? JSON.stringify(item) : null, text: label });
  const group = (title, ...children) => h("fieldset", { class: "spec-group" }, h("legend", { text: title }), ...children);
  const row = (...children) => h("div", { class: "row" }, ...children);

  function eventSelect(label, path, any = true) {
    const current = get(path);
    const names = [...boot.catalogue.events];
    if (current && !names.includes(current)) names.unshift(current);
    const options = [...(any ? [["", t("any_event")]] : []), ...names.map((n) => [n, n])];
    return select(label, path, options, { parse: any ? "nullstr" : "str" });
  }
  function propertyInputs(path, withType = true) {
    const type = get(`${path}.type`) || "event";
    const breakdown = path === "breakdown.property";
    const sources = [["event", t("source_event")], ["person", t("source_person")], ["column", t("source_column")]];
    if (breakdown) sources.push(["segment", t("source_segment")]);
    return [
      input(t("property"), `${path}.key`, breakdown ? "bdkey" : "str", { list: `keys-${type}`, size: 16 }),
      withType ? select(t("source"), `${path}.type`, sources, { rerender: true }) : null,
    ];
  }
  function savedSegmentRow(p, f) {
    const options = boot.segments.map((seg) => [String(seg.id), `${seg.name} (#${seg.id})`]);
    if (!boot.segments.some((seg) => seg.id === f.segment_id)) options.unshift([String(f.segment_id), `#${f.segment_id}`]);
    return row(select(t("segment_filter"), `${p}.segment_id`, options, { parse: "int" }),
      check(t("not_in_segment"), `${p}.negate`), button(t("remove"), "remove", p));
  }
  function filtersEditor(path, title) {
    const list = get(path) || [];
    const rows = list.map((f, i) => {
      const p = `${path}.${i}`;
      if (f.type === "segment" && f.segment_id !== undefined) return savedSegmentRow(p, f);
      if (f.type === "segment") return row(h("span", { class: "chip", text: `${t("segment_filter")}${f.negate ? " ≠" : ""}` }), button(t("remove"), "remove", p));
      return row(
        ...propertyInputs(p),
        select(t("operator"), `${p}.operator`, OPERATORS.map((o) => [o, o]), { rerender: true }),
        NO_VALUE.includes(f.operator) ? null : input(t("value"), `${p}.value`, "fvalue", { size: 14 }),
        button(t("remove"), "remove", p),
      );
    });
    const addSegment = path === "filters" && boot.segments.length
      ? button(t("add_segment_filter"), "add", path, { type: "segment", segment_id: boot.segments[0].id, negate: false }) : null;
    return group(title, ...rows, row(button(t("add_filter"), "add", path, { key: "", type: "event", operator: "=", value: "" }), addSegment));
  }
  function breakdownEditor() {
    const attrs = get("breakdown") ? {} : { class: "muted" };
    return group(t("breakdown"), row(...propertyInputs("breakdown.property"), input(t("limit"), "breakdown.limit", "int", { type: "number", min: 1, max: 100, size: 4, ...attrs })));
  }
  function dateRange() {
    return group(t("date_range"), row(
      input(t("date_from"), "date_range.date_from", "str", { list: "date-presets", size: 14 }),
      input(t("date_to"), "date_range.date_to", "nullstr", { list: "date-presets", size: 14 }),
    ));
  }
  const intervals = (names) => names.map((n) => [n, t(n)]);

  // ---- one form per kind ----
  const FORMS = {
    trends: () => [
      ...spec.series.map((s, i) => group(`${t("series")} ${LETTERS[i]}`,
        row(
          eventSelect(t("event"), `series.${i}.event`),
          select(t("math"), `series.${i}.math`, ["total", "unique_users", ...PROPERTY_MATHS].map((m) => [m, t(`math_${m}`)]), { rerender: true }),
          PROPERTY_MATHS.includes(s.math) ? propertyInputs(`series.${i}.property`) : null,
          input(t("name"), `series.${i}.name`, "nullstr", { size: 12 }),
          spec.series.length > 1 ? button(t("remove"), "remove", `series.${i}`) : null,
        ),
        filtersEditor(`series.${i}.filters`, t("filters")))),
      row(
        button(t("add_series"), "add", "series", { event: boot.catalogue.events[0] || null, math: "total", filters: [] }),
        select(t("interval_label"), "interval", intervals(["hour", "day", "week", "month"])),
        check(t("compare"), "compare"),
        input(t("formula"), "formula", "nullstr", { placeholder: t("formula_hint"), size: 16 }),
      ),
      dateRange(), filtersEditor("filters", t("filters")), breakdownEditor(),
    ],
    funnel: () => [
      group(t("steps"), ...spec.steps.map((s, i) => h("div", { class: "step" },
        row(h("strong", { text: `${i + 1}.` }), eventSelect(t("event"), `steps.${i}.event`, false),
          input(t("name"), `steps.${i}.name`, "nullstr", { size: 12 }),
          spec.steps.length > 2 ? button(t("remove"), "remove", `steps.${i}`) : null),
        filtersEditor(`steps.${i}.filters`, t("filters")))),
      spec.steps.length < 20 ? button(t("add_step"), "add", "steps", { event: boot.catalogue.events[0] || "$pageview", filters: [] }) : null),
      row(
        select(t("mode"), "mode", [["ordered", t("mode_ordered")], ["strict", t("mode_strict")], ["unordered", t("mode_unordered")]]),
        input(t("window"), "window.value", "int", { type: "number", min: 0, size: 5 }),
        select("", "window.unit", intervals(["second", "minute", "hour", "day", "week"])),
        select(t("trend_interval"), "trend_interval", [["", "–"], ...intervals(["hour", "day", "week", "month"])], { parse: "nullstr" }),
      ),
      group(t("exclusions"), ...(spec.exclusions || []).map((x, i) => h("div", { class: "step" }, row(
        eventSelect(t("event"), `exclusions.${i}.event`, false),
        input(t("from_step"), `exclusions.${i}.from_step`, "int", { type: "number", min: 1, size: 3 }),
        input(t("to_step"), `exclusions.${i}.to_step`, "nullint", { type: "number", min: 2, size: 3 }),
        button(t("remove"), "remove", `exclusions.${i}`)),
      filtersEditor(`exclusions.${i}.filters`, t("filters")))),
      button(t("add_exclusion"), "add", "exclusions", { event: boot.catalogue.events[0] || "$pageview", filters: [], from_step: 1, to_step: null })),
      dateRange(), filtersEditor("filters", t("filters")), breakdownEditor(),
      row(
        select(t("attribution"), "attribution", [["first_touch", t("first_touch")], ["last_touch", t("last_touch")], ["step", t("step_touch")]], { rerender: true }),
        spec.attribution === "step" ? input(t("attribution_step"), "attribution_step", "nullint", { type: "number", min: 1, size: 3 }) : null,
      ),
    ],
    retention: () => [
      row(eventSelect(t("start_event"), "start_event.event"), eventSelect(t("return_event"), "return_event.event")),
      row(
        select(t("period"), "period", intervals(["day", "week", "month"])),
        input(t("periods"), "periods", "int", { type: "number", min: 1, size: 4 }),
        select(t("retention_type"), "retention_type", [["on", t("on")], ["on_or_after", t("on_or_after")]]),
        select(t("cohort_type"), "cohort_type", [["recurring", t("recurring")], ["first_time", t("first_time")]]),
      ),
      filtersEditor("start_event.filters", `${t("start_event")} · ${t("filters")}`),
      filtersEditor("return_event.filters", `${t("return_event")} · ${t("filters")}`),
      dateRange(), filtersEditor("filters", t("filters")), breakdownEditor(),
    ],
    paths: () => [
      row(
        input(t("start"), "start", "nullstr", { list: "step-names", size: 18 }),
        input(t("end"), "end", "nullstr", { list: "step-names", size: 18 }),
        select(t("depth"), "depth", [2, 3, 4, 5].map((d) => [String(d), String(d)]), { parse: "int" }),
        input(t("paths_limit"), "limit", "int", { type: "number", min: 1, max: 1000, size: 4 }),
      ),
      row(input(t("events_list"), "events", "csv", { size: 40 })),
      group(t("cleaning"), ...(spec.cleaning || []).map((c, i) => row(
        input(t("regex"), `cleaning.${i}.regex`, "str", { size: 24 }),
        input(t("replacement"), `cleaning.${i}.replacement`, "str", { size: 18 }),
        button(t("remove"), "remove", `cleaning.${i}`))),
      button(t("add_rule"), "add", "cleaning", { regex: "/product/[^/]+", replacement: "/product/:id" })),
      dateRange(), filtersEditor("filters", t("filters")),
    ],
    lifecycle: () => [
      row(eventSelect(t("event"), "event.event"), select(t("interval_label"), "interval", intervals(["day", "week", "month"]))),
      filtersEditor("event.filters", `${t("event")} · ${t("filters")}`), dateRange(), filtersEditor("filters", t("filters")),
    ],
    stickiness: () => [
      row(eventSelect(t("event"), "event.event"), select(t("interval_label"), "interval", intervals(["day", "week"]))),
      filtersEditor("event.filters", `${t("event")} · ${t("filters")}`), dateRange(), filtersEditor("filters", t("filters")),
    ],
    distribution: () => [
      row(eventSelect(t("event"), "event.event"), input(t("bins"), "bins", "csvint", { size: 36 })),
      filtersEditor("event.filters", `${t("event")} · ${t("filters")}`), dateRange(), filtersEditor("filters", t("filters")),
    ],
    interval: () => [
      row(eventSelect(t("from_event"), "from_event.event"), eventSelect(t("to_event"), "to_event.event"),
        input(t("bins"), "bins", "csvint", { size: 48 })),
      h("p", { class: "muted", text: t("seconds_note") }),
      filtersEditor("from_event.filters", `${t("from_event")} · ${t("filters")}`),
      filtersEditor("to_event.filters", `${t("to_event")} · ${t("filters")}`),
      dateRange(), filtersEditor("filters", t("filters")),
    ],
  };

  function datalists() {
    const list = (id, values) => h("datalist", { id }, values.map((v) => h("option", { value: v })));
    const steps = [...boot.catalogue.events];
    return [
      list("keys-event", boot.catalogue.event), list("keys-person", boot.catalogue.person),
      list("keys-column", boot.catalogue.column), list("step-names", steps),
      h("datalist", { id: "keys-segment" }, boot.segments.map((seg) => h("option", { value: String(seg.id), label: seg.name }))),
      list("date-presets", ["-24h", "-7d", "-14d", "-30d", "-90d", "-8w", "-12w", "-6m", "-1y", "today", "yesterday", "this week", "last week", "this month", "last month", "this year"]),
    ];
  }

  function render() {
    form.textContent = "";
    form.append(...FORMS[kind](), ...datalists(), h("div", { class: "row" }, h("button", { type: "submit", id: "run", text: t("run") })));
  }

  // ---- reading inputs back into the spec ----
  function filterValue(raw, op) {
    if (NO_VALUE.includes(op)) return null;
    if (LIST_OPS.includes(op)) return raw.split(",").map((s) => s.trim()).filter((s) => s !== "");
    if (NUMBER_OPS.includes(op)) return raw.trim() === "" ? null : Number(raw);
    return raw;
  }
  function parse(el) {
    const raw = el.value;
    switch (el.dataset.parse) {
      case "bool": return el.checked;
      case "int": return raw.trim() === "" ? undefined : parseInt(raw, 10);
      case "nullint": return raw.trim() === "" ? null : parseInt(raw, 10);
      case "nullstr": return raw.trim() === "" ? null : raw.trim();
      case "csv": { const items = raw.split(",").map((s) => s.trim()).filter((s) => s); return items.length ? items : null; }
      case "csvint": return raw.split(",").map((s) => s.trim()).filter((s) => s).map(Number);
      case "fvalue": return filterValue(raw, get(el.dataset.path.replace(/\.value$/, ".operator")));
      default: return raw.trim();
    }
  }
  function onInput(event) {
    const el = event.target;
    if (!el.dataset || !el.dataset.path) return;
    const path = el.dataset.path;
    if (el.dataset.parse === "bdkey") {
      if (el.value.trim() === "") { delete spec.breakdown; return; }
      if (!spec.breakdown) spec.breakdown = { property: { key: "", type: "event" }, limit: 10 };
      spec.breakdown.property.key = el.value.trim();
      return;
    }
    if (path.startsWith("breakdown.") && !spec.breakdown) spec.breakdown = { property: { key: "", type: "event" }, limit: 10 };
    set(path, parse(el));
    if (path.endsWith(".operator")) {
      const valuePath = path.replace(/\.operator$/, ".value");
      set(valuePath, filterValue(text(get(valuePath)), get(path)));
    }
    if (/^series\.\d+\.math$/.test(path)) {
      const base = path.replace(/\.math$/, ".property");
      if (PROPERTY_MATHS.includes(get(path))) { if (!get(base)) set(base, { key: "", type: "event" }); } else set(base, undefined);
    }
  }
  form.addEventListener("input", onInput);
  form.addEventListener("change", (event) => {
    if (event.target.dataset && event.target.dataset.rerender !== undefined) { onInput(event); render(); }
  });
  form.addEventListener("click", (event) => {
    const el = event.target.closest("button[data-action]");
    if (!el) return;
    event.preventDefault();
    const path = el.dataset.path;
    if (el.dataset.action === "add") {
      const list = get(path) || [];
      list.push(JSON.parse(el.dataset.item));
      set(path, list);
    } else set(path, undefined);
    render();
  });
  form.addEventListener("submit", (event) => { event.preventDefault(); run(); });

  /** The spec without the form's unfinished parts (filters without a key, an empty breakdown). */
  function cleaned() {
    const copy = JSON.parse(JSON.stringify(spec));
    const prune = (obj) => {
      if (Array.isArray(obj)) obj.forEach(prune);
      else if (obj && typeof obj === "object") {
        for (const [k, v] of Object.entries(obj)) {
          if (k === "filters" && Array.isArray(v)) obj[k] = v.filter((f) => f.type === "segment" || (f.key && f.key.trim()));
          else prune(v);
        }
      }
    };
    prune(copy);
    if (copy.breakdown && !(copy.breakdown.property && copy.breakdown.property.key)) delete copy.breakdown;
    return copy;
  }

  // ---- running and showing ----
  function status(message, state) {
    statusBox.textContent = message;
    resultBox.dataset.state = state;
  }
  const api = (url, body) => fetch(url, {
    method: "POST",
    headers: { "Content-Type": "application/json", "X-CSRF-Token": boot.csrf || "" },
    body: JSON.stringify(body),
  });
  const project = `project=${encodeURIComponent(boot.project)}`;
  function problemText(body) {
    const detail = body && body.detail;
    if (!detail) return "";
    if (typeof detail === "string") return detail;
    if (detail.problems) return detail.problems.map((p) => (p.field ? `${p.field}: ${p.message}` : p.message)).join("; ");
    if (Array.isArray(detail)) return detail.map((d) => `${(d.loc || []).join(".")}: ${d.msg}`).join("; ");
    return JSON.stringify(detail);
  }

  async function run() {
    const clean = cleaned();
    history.replaceState(null, "", `${location.pathname}?${project}&spec=${encodeURIComponent(JSON.stringify(clean))}`);
    status(t("running"), "running");
    const started = performance.now();
    let response, body;
    try {
      response = await api(`/api/query?${project}`, clean);
      body = await response.json();
    } catch (err) {
      status(`${t("error")} ${err}`, "error");
      return;
    }
    if (!response.ok) {
      last = null;
      chartBox.textContent = ""; tableBox.textContent = ""; extraBox.textContent = "";
      status(`${t("error")} ${problemText(body)}`, "error");
      return;
    }
    last = body;
    window.GLCharts.analysis(chartBox, kind, body.result, chartLabels);
    extraBox.textContent = "";
    tableBox.textContent = "";
    tableBox.append(...TABLES[kind](body.result));
    status(t("ran", { ms: Math.round(performance.now() - started) }), "done");
  }

  const TABLES = window.GLResultTables(t, h, extraBox);

  // Funnel drop-off: who reached step k and went no further, each linking to their profile.
  tableBox.addEventListener("click", async (event) => {
    const link = event.target.closest("a[data-dropped-step]");
    if (!link || !last) return;
    event.preventDefault();
    const step = Number(link.dataset.droppedStep);
    const response = await api(`/api/query/funnel-people?${project}`, { spec: last.spec, step, dropped: true, limit: 200 });
    const body = await response.json();
    extraBox.textContent = "";
    if (!response.ok) { extraBox.append(h("p", { class: "error", text: problemText(body) })); return; }
    const save = boot.may_save ? h("form", { class: "row", id: "segment-form" },
      h("label", {}, t("segment_name"), h("input", { name: "segment_name", required: true, maxlength: 200 })),
      h("button", { type: "submit", text: t("save_segment") }), h("span", { id: "segment-status" })) : null;
    extraBox.append(h("div", { id: "dropped-people", "data-step": step },
      h("p", { text: t("dropped_people", { count: num(body.count), step }) }), save,
      h("ul", { class: "people-list" }, body.people.map((p) => h("li", {}, h("a", { href: `/analysis/people/${encodeURIComponent(p)}?${project}`, text: p }))))));
  });

  // The drop-off list as a saved segment (the rule "reached step k, not k+1" of this funnel).
  extraBox.addEventListener("submit", async (event) => {
    if (event.target.id !== "segment-form" || !last) return;
    event.preventDefault();
    const step = Number(document.getElementById("dropped-people").dataset.step);
    const name = event.target.segment_name.value.trim();
    const response = await api(`/api/segments/from-funnel?${project}`, { name, funnel: last.spec, step, dropped: true });
    const body = await response.json();
    const out = document.getElementById("segment-status");
    out.textContent = "";
    if (!response.ok) { out.className = "error"; out.textContent = problemText(body); return; }
    out.className = "notice";
    out.append(h("a", { href: `/segments/${body.id}?${project}`, id: "open-segment", "data-size": body.size, text: t("segment_saved", { name: body.name, size: num(body.size) }) }));
  });

  // ---- saving to a dashboard ----
  const saveForm = document.getElementById("save-form");
  if (saveForm) {
    const boards = saveForm.querySelector("select[name=dashboard_id]");
    boot.dashboards.forEach((b) => boards.append(h("option", { value: b.id, text: b.name })));
    const saveStatus = document.getElementById("save-status");
    saveForm.addEventListener("submit", async (event) => {
      event.preventDefault();
      if (!last) { saveStatus.textContent = t("run_first"); return; }
      const name = saveForm.insight_name.value.trim();
      const fresh = saveForm.new_dashboard.value.trim();
      const fail = async (response) => { saveStatus.className = "error"; saveStatus.textContent = `${t("error")} ${problemText(await response.json())}`; };
      let boardId = boards.value, boardName = boards.selectedOptions[0] ? boards.selectedOptions[0].textContent : "";
      if (fresh) {
        const response = await api(`/api/dashboards?${project}`, { name: fresh });
        if (!response.ok) return fail(response);
        boardId = (await response.json()).id; boardName = fresh;
        boards.append(h("option", { value: boardId, text: fresh, selected: true }));
        saveForm.new_dashboard.value = "";
      }
      if (!boardId) { saveStatus.textContent = t("new_dashboard"); return; }
      let response = await api(`/api/insights?${project}`, { name, spec: last.spec });
      if (!response.ok) return fail(response);
      const insight = await response.json();
      const width = ["retention", "paths", "trends"].includes(kind) ? 4 : 2;
      response = await api(`/api/dashboards/${boardId}/items?${project}`, { insight_id: insight.id, width });
      if (!response.ok) return fail(response);
      saveStatus.className = "notice";
      saveStatus.textContent = `${t("saved", { name: boardName })} `;
      saveStatus.append(h("a", { href: `/dashboards/${boardId}?${project}`, id: "open-dashboard", text: t("open_dashboard") }));
    });
  }

  render();
  run();
})();

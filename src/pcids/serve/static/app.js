// pcids serve: the design, screen and predict views. Plain JS, no dependencies; talks only to this server's /api.
"use strict";

const $ = (id) => document.getElementById(id);
const SYMBOLS = ("H He Li Be B C N O F Ne Na Mg Al Si P S Cl Ar K Ca Sc Ti V Cr Mn Fe Co Ni Cu Zn Ga Ge As Se Br Kr " +
  "Rb Sr Y Zr Nb Mo Tc Ru Rh Pd Ag Cd In Sn Sb Te I Xe Cs Ba La Ce Pr Nd Pm Sm Eu Gd Tb Dy Ho Er Tm Yb Lu " +
  "Hf Ta W Re Os Ir Pt Au Hg Tl Pb Bi Po At Rn Fr Ra Ac Th Pa U Np Pu Am Cm Bk Cf Es Fm Md No Lr " +
  "Rf Db Sg Bh Hs Mt Ds Rg Cn Nh Fl Mc Lv Ts Og").split(" ");
let INFO = { elements: [], trained: [], limits: {} };
let lastDesign = null;   // the last /api/design response
let lastRows = null;     // the last merged predict + gfa rows
let lastScreen = null;   // the last /api/screen response
const UNITS = { G: "GPa", K: "GPa", E: "GPa", nu: "", Tg: "K", Tx: "K", Tl: "K", dTx: "K" };

// ---------------------------------------------------------------- helpers
function clearErrors(scope) {
  scope.querySelectorAll(".error").forEach((e) => { e.textContent = ""; });
  scope.querySelectorAll(".invalid").forEach((e) => e.classList.remove("invalid"));
}

function showError(field, message, fallback, prefix = "") {  // prefix: "" for the design form, "screen-" for the screen's
  const box = (field && $("err-" + prefix + field)) || $(fallback);
  box.textContent = message;
  const input = field && ($(prefix + field) || $(prefix + "t-" + field));
  if (input) input.classList.add("invalid");
  if (field === "targets") document.querySelectorAll(`#${prefix || "design-"}targets input`).forEach((i) => i.classList.add("invalid"));
}

function targetNames() {  // the library's moduli targets (GET /api/info), so the form follows it
  return INFO.targets && INFO.targets.length ? INFO.targets : ["G", "K", "E", "nu"];
}

function withObjectives() {  // this server's design takes constraints and objectives beyond the moduli
  return Boolean(INFO.quantities) && supported("at_least");
}

function designNames() {  // every quantity a design can target or bound: moduli, other properties, then GFA, density, cost
  if (!withObjectives()) return targetNames();
  const last = ["Dmax", "p_gfa", "density", "cost"];
  const names = Object.keys(INFO.quantities);
  return [...names.filter((n) => !last.includes(n)), ...last.filter((n) => names.includes(n))];
}

function unitOf(name) {
  const u = (INFO.quantities || {})[name]?.unit ?? (INFO.properties || {})[name]?.unit;
  return u === undefined ? UNITS[name] || "" : u;
}

// One row per quantity: target, at least, at most, maximise/minimise (ids PREFIXt-, lo-, hi-, opt-NAME):
// the design form (prefix "") and the screen form ("screen-") take the same objectives.
function buildObjectives(box, prefix = "") {
  const table = el("table", { id: prefix + "objectives", class: "objectives" });
  const head = el("tr");
  ["quantity", "target", "at least", "at most", "optimise"].forEach((h) => head.appendChild(el("th", {}, h)));
  table.appendChild(el("thead")).appendChild(head);
  const body = table.appendChild(el("tbody"));
  for (const n of designNames()) {
    const tr = el("tr", { "data-name": n });
    const unit = unitOf(n);
    tr.appendChild(el("td", { class: "text", title: (INFO.quantities[n] || {}).description || n }, unit ? `${n} (${unit})` : n));
    for (const [id, what] of [["t-", "target"], ["lo-", "at least"], ["hi-", "at most"]]) {
      const td = tr.appendChild(el("td"));
      td.appendChild(el("input", { id: prefix + id + n, type: "text", inputmode: "decimal", size: 6, "aria-label": `${n} ${what}` }));
    }
    const select = el("select", { id: prefix + "opt-" + n, "aria-label": `${n}: maximise or minimise` });
    [["", "–"], ["maximize", "maximise"], ["minimize", "minimise"]].forEach(([v, t]) => select.appendChild(el("option", { value: v }, t)));
    tr.appendChild(el("td")).appendChild(select);
    body.appendChild(tr);
  }
  box.appendChild(table);
}

function readObjectives(req, prefix = "") {  // at_least, at_most, maximize, minimize from the objectives table (only what is filled)
  const at_least = {}, at_most = {}, maximize = [], minimize = [];
  for (const n of designNames()) {
    const lo = numberOrText($(prefix + "lo-" + n).value), hi = numberOrText($(prefix + "hi-" + n).value), opt = $(prefix + "opt-" + n).value;
    if (lo !== null) at_least[n] = lo;
    if (hi !== null) at_most[n] = hi;
    if (opt === "maximize") maximize.push(n);
    if (opt === "minimize") minimize.push(n);
  }
  if (Object.keys(at_least).length) req.at_least = at_least;
  if (Object.keys(at_most).length) req.at_most = at_most;
  if (maximize.length) req.maximize = maximize;
  if (minimize.length) req.minimize = minimize;
}

function screenObjectives() {  // this server's screen takes design's objectives too
  return withObjectives() && supportedScreen("at_least");
}

function buildTargets(boxId, prefix, names = targetNames()) {
  const box = $(boxId);
  box.innerHTML = "";
  if ((prefix === "" && withObjectives()) || (prefix === "screen-" && screenObjectives())) {
    buildObjectives(box, prefix);
    return;
  }
  for (const t of names) {
    const label = el("label", { title: UNITS[t] ? `target ${t} (${UNITS[t]})` : `target ${t}` }, `${t} `);
    label.appendChild(el("input", { id: `${prefix}t-${t}`, name: t, type: "text", inputmode: "decimal", size: 6 }));
    if (UNITS[t]) label.appendChild(el("span", { class: "hint" }, ` ${UNITS[t]}`));
    box.appendChild(label);
  }
}

function readTargets(prefix) {
  const out = {};
  const all = prefix === "" ? withObjectives() : screenObjectives();
  for (const t of all ? designNames() : targetNames()) {
    const v = numberOrText($(`${prefix}t-${t}`).value);
    if (v !== null) out[t] = v;
  }
  return out;
}

// A search form: POST its request, a progress indication while it runs (cancel aborts it), the
// answer rendered, or the server's message next to the field it names. ids: {form, run, cancel,
// progress, text, error (the form-wide message)}; prefix: the form's field ids' prefix.
function searchForm(ids, prefix, url, request, render, verb) {
  let controller = null, ticker = null;
  function busy(on) {
    $(ids.run).disabled = on;
    $(ids.cancel).hidden = !on;
    $(ids.progress).hidden = !on;
    clearInterval(ticker);
    if (!on) return;
    const t0 = performance.now();
    let load = "", polls = 0;
    const tick = () => {
      $(ids.text).textContent = `${verb}… ${((performance.now() - t0) / 1000).toFixed(1)} s${load}`;
      if (++polls % 5 === 0) {  // once a second: how busy the server is
        fetch("/api/health").then((r) => r.json()).then((h) => {
          const s = h.searches;
          load = ` · server: ${s.running} of ${s.max_concurrent} search slots busy${s.waiting ? `, ${s.waiting} waiting` : ""}`;
        }).catch(() => {});
      }
    };
    tick();
    ticker = setInterval(tick, 200);
  }
  $(ids.cancel).addEventListener("click", () => { if (controller) controller.abort(); });
  $(ids.form).addEventListener("submit", async (ev) => {
    ev.preventDefault();
    clearErrors($(ids.form));
    controller = new AbortController();
    busy(true);
    try {
      const { ok, status, data } = await postJSON(url, request(), controller.signal);
      if (!ok) {
        showError(data.field, data.detail || `error ${status}`, ids.error, prefix);
        return;
      }
      render(data);
    } catch (err) {
      $(ids.error).textContent = err.name === "AbortError" ? "cancelled" : `cannot reach the server: ${err.message}`;
    } finally {
      busy(false);
      controller = null;
    }
  });
}

async function postJSON(url, body, signal) {
  const r = await fetch(url, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body), signal });
  let data = null;
  try { data = await r.json(); } catch (_) { data = { detail: `the server answered ${r.status} ${r.statusText}` }; }
  return { status: r.status, ok: r.ok, data };
}

function download(name, text, type) {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const a = document.createElement("a");
  a.href = url; a.download = name; document.body.appendChild(a); a.click(); a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

function parseElements(text) {
  return text.split(/[\s,;\-–]+/).map((s) => s.trim()).filter(Boolean);
}

function el(tag, attrs = {}, text = null) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  if (text !== null) e.textContent = text;
  return e;
}

// ---------------------------------------------------------------- tabs
document.querySelectorAll(".tab").forEach((tab) => tab.addEventListener("click", () => {
  document.querySelectorAll(".tab").forEach((t) => t.classList.toggle("active", t === tab));
  document.querySelectorAll(".view").forEach((v) => { v.hidden = v.id !== "view-" + tab.dataset.view; });
}));

// ---------------------------------------------------------------- periodic table
function position(z) {  // [row, column] of element z (1-based) in the 18-column table; rows 9-10 hold the f block
  if (z === 1) return [1, 1];
  if (z === 2) return [1, 18];
  if (z <= 10) return [2, z <= 4 ? z - 2 : z + 8];
  if (z <= 18) return [3, z <= 12 ? z - 10 : z];
  if (z <= 36) return [4, z - 18];
  if (z <= 54) return [5, z - 36];
  if (z <= 56) return [6, z - 54];
  if (z <= 71) return [9, z - 54];
  if (z <= 86) return [6, z - 68];
  if (z <= 88) return [7, z - 86];
  if (z <= 103) return [10, z - 86];
  return [7, z - 100];
}

function buildPeriodicTable(boxId, inputId, parse, onChange) {
  const box = $(boxId);
  box.innerHTML = "";
  const withData = new Set(INFO.elements), trained = new Set(INFO.trained);
  SYMBOLS.forEach((sym, i) => {
    const [row, col] = position(i + 1);
    const b = el("button", { type: "button", "data-symbol": sym, style: `grid-row:${row};grid-column:${col}` }, sym);
    b.className = trained.has(sym) ? "trained" : withData.has(sym) ? "" : "nodata";
    b.title = trained.has(sym) ? `${sym}: in the training data` : withData.has(sym) ? `${sym}: property data, not in the training data` : `${sym}: no property data`;
    b.addEventListener("click", () => {
      const list = parse($(inputId).value).filter((s) => SYMBOLS.includes(s));  // picking replaces a named palette
      const i = list.indexOf(sym);
      if (i >= 0) list.splice(i, 1); else list.push(sym);
      $(inputId).value = list.join(" ");
      sync();
      onChange();
    });
    box.appendChild(b);
  });
  box.appendChild(el("div", { class: "gap", style: "grid-row:8" }));
  const sync = () => {
    const picked = new Set(parse($(inputId).value));
    box.querySelectorAll("button").forEach((b) => b.classList.toggle("picked", picked.has(b.dataset.symbol)));
  };
  $(inputId).addEventListener("input", () => { sync(); onChange(); });
  sync();
}

$("pt-toggle").addEventListener("click", () => { $("ptable").hidden = !$("ptable").hidden; });
$("screen-pt-toggle").addEventListener("click", () => { $("screen-ptable").hidden = !$("screen-ptable").hidden; });

// ---------------------------------------------------------------- bounds table
function syncBounds() {
  const body = $("bounds").querySelector("tbody");
  const old = {};
  body.querySelectorAll("tr").forEach((tr) => { old[tr.dataset.symbol] = [...tr.querySelectorAll("input")].map((i) => i.value); });
  body.innerHTML = "";
  const list = parseElements($("elements").value);
  for (const sym of list) {
    const tr = el("tr", { "data-symbol": sym });
    tr.appendChild(el("td", { class: "text" }, sym));
    ["min", "max", "fixed"].forEach((what, j) => {
      const td = el("td");
      const input = el("input", { type: "text", inputmode: "decimal", "data-what": what, "aria-label": `${sym} ${what}` });
      input.value = (old[sym] || [])[j] || "";
      td.appendChild(input); tr.appendChild(td);
    });
    body.appendChild(tr);
  }
  $("bounds-empty").hidden = list.length > 0;
}

function numberOrText(v) {  // a number when it reads as one; otherwise the text, so the server names the bad value
  const t = v.trim();
  if (t === "") return null;
  const n = Number(t);
  return Number.isFinite(n) ? n : t;
}

function supported(option) {  // an option this server's pcids takes (all, if /api/info did not answer)
  return !INFO.design_options || option in INFO.design_options;
}

function supportedScreen(option) {  // the same for its screen
  return Boolean(INFO.screen_options) && option in INFO.screen_options;
}

function applyDefaults() {  // the library's defaults and choices, so the page never carries its own copy
  const opts = INFO.design_options || {};
  for (const key of ["tolerance", "top_k", "E", "h", "min_distance", "gfa_threshold_mm", "confidence"]) {
    if (opts[key] !== undefined && opts[key] !== null) $(key).value = opts[key];
  }
  for (const key of ["prefer", "strategy"]) {
    const select = $(key);
    (INFO.choices || {})[key]?.forEach((c) => select.appendChild(el("option", { value: c }, c)));
    if (opts[key]) select.value = opts[key];
  }
  document.querySelectorAll("[data-option]").forEach((label) => {
    const key = label.dataset.option;
    label.hidden = !(key in opts) || (label.querySelector("select") && !$(key).options.length);
  });
}

function designRequest() {
  const req = { elements: parseElements($("elements").value), targets: readTargets("") };
  for (const key of ["tolerance", "top_k", "E", "h", "min_distance", "confidence"]) {
    const v = numberOrText($(key).value);
    if (v !== null && supported(key)) req[key] = v;
  }
  if (withObjectives()) readObjectives(req);
  req.gfa_threshold_mm = $("gfa-on").checked ? numberOrText($("gfa_threshold_mm").value) : null;
  for (const key of ["prefer", "strategy"]) {
    if (supported(key) && $(key).value) req[key] = $(key).value;
  }
  const bounds = {}, fixed = {};
  $("bounds").querySelectorAll("tbody tr").forEach((tr) => {
    const [lo, hi, fx] = [...tr.querySelectorAll("input")].map((i) => numberOrText(i.value));
    if (fx !== null) fixed[tr.dataset.symbol] = fx;
    if (lo !== null || hi !== null) bounds[tr.dataset.symbol] = [lo, hi];
  });
  if (Object.keys(bounds).length) req.bounds = bounds;
  if (Object.keys(fixed).length) req.fixed = fixed;
  return req;
}

// ---------------------------------------------------------------- design
searchForm({ form: "design-form", run: "run", cancel: "cancel", progress: "progress", text: "progress-text", error: "err-form" }, "",
  "/api/design", designRequest, (data) => { lastDesign = data; renderDesign(data); }, "searching");

function renderWarnings(box, warnings) {
  box.innerHTML = "";
  warnings.forEach((w) => box.appendChild(el("li", {}, "warning: " + w)));
}

// What the CLI printed (report blocks) into box: tables sortable, the main one (the last with a `key`
// column, as the server's candidates_table) given `mainId` and `decorate`; the first line is the verdict.
function renderReport(box, report, { key, mainId, messageId, messageClass, decorate }) {
  box.innerHTML = "";
  let first = true;
  const main = report.reduce((m, b, i) => (b.columns && b.columns.includes(key) ? i : m), -1);
  report.forEach((block, i) => {
    if (block.columns) {
      const wrap = el("div", { class: "table-wrap" });
      if (block.title) wrap.appendChild(el("h3", {}, block.title));
      const table = el("table", { class: "data" });
      table.append(el("thead"), el("tbody"));
      if (i === main) table.id = mainId;
      wrap.appendChild(table);
      box.appendChild(wrap);
      renderSortable(table, block.columns, block.rows, i === main ? decorate : null);
    } else if (first) {
      box.appendChild(el("p", { id: messageId, class: "message " + messageClass }, block.text));
      first = false;
    } else {
      box.appendChild(el("p", { class: "hint cli" }, block.text));
    }
  });
}

function renderDesign(data) {
  $("design-result").hidden = false;
  renderWarnings($("result-warnings"), data.warnings);
  renderReport($("report"), data.report, {
    key: "composition", mainId: "candidates", messageId: "result-message", messageClass: data.success ? "ok" : "partial",
    decorate: (r, k) => {
      r.addEventListener("mouseenter", () => highlight(k));
      r.addEventListener("mouseleave", () => highlight(null));
    },
  });
  drawBand(data);
  drawPareto(data);
}

function sortKey(text) {  // the leading number of a cell ("36.6±2.5", "1.83%", "#3"), else its text
  const m = text.match(/^#?\s*(-?\d+(?:\.\d+)?(?:e-?\d+)?)/i);
  return m ? Number(m[1]) : text.toLowerCase();
}

function compareKeys(x, y) {
  const nx = typeof x === "number", ny = typeof y === "number";
  if (nx && ny) return x - y;
  if (nx !== ny) return nx ? -1 : 1;  // numbers before text such as "-"
  return x < y ? -1 : x > y ? 1 : 0;
}

function renderSortable(table, columns, rows, decorate = null) {  // decorate(tr, i): extra behaviour per row
  const head = table.querySelector("thead"), body = table.querySelector("tbody");
  head.innerHTML = ""; body.innerHTML = "";
  const keys = rows.map((r) => r.map(sortKey));
  const numeric = columns.map((_, j) => keys.filter((k) => typeof k[j] === "number").length * 2 >= Math.max(rows.length, 1));
  const tr = el("tr");
  columns.forEach((c, j) => {
    const th = el("th", { "data-col": j, class: numeric[j] ? "" : "text" }, c);
    th.addEventListener("click", () => sortBy(j));
    tr.appendChild(th);
  });
  head.appendChild(tr);
  let order = rows.map((_, i) => i), state = { col: null, dir: 1 };
  function draw() {
    body.innerHTML = "";
    for (const i of order) {
      const r = el("tr", { "data-index": i });
      rows[i].forEach((cell, j) => {
        const td = el("td", { class: numeric[j] ? "" : "text" }, cell);
        if (columns[j] === "ok") td.classList.add(cell === "yes" ? "ok-yes" : cell === "no" ? "ok-no" : "ok-gfa");
        r.appendChild(td);
      });
      if (decorate) decorate(r, i);
      body.appendChild(r);
    }
    head.querySelectorAll("th").forEach((th, j) => {
      th.classList.toggle("sorted-asc", state.col === j && state.dir > 0);
      th.classList.toggle("sorted-desc", state.col === j && state.dir < 0);
    });
  }
  function sortBy(j) {
    state = { col: j, dir: state.col === j ? -state.dir : 1 };
    order = rows.map((_, i) => i).sort((a, b) => compareKeys(keys[a][j], keys[b][j]) * state.dir || a - b);
    draw();
  }
  draw();
}

// ---------------------------------------------------------------- the band figure (SVG parallel coordinates)
const SVG = "http://www.w3.org/2000/svg";
function svg(tag, attrs = {}, text = null) {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  if (text !== null) e.textContent = text;
  return e;
}

function rankColour(i, n) {  // dark blue (#1) to orange (last)
  const t = n > 1 ? i / (n - 1) : 0;
  const a = [31, 60, 140], b = [230, 120, 30];
  return `rgb(${a.map((v, k) => Math.round(v + (b[k] - v) * t)).join(",")})`;
}

function drawBand(data) {
  const box = $("figure");
  box.innerHTML = "";
  const els = data.elements;
  const W = Math.max(640, 150 * els.length), H = 360, L = 60, R = 30, T = 24, B = 62;
  const top = Math.max(10, ...data.candidates.map((c) => Math.max(...els.map((e) => c[e]))), ...data.explored.map((c) => Math.max(...els.map((e) => c[e]))));
  const ymax = Math.ceil(top / 10) * 10;
  const x = (j) => L + (els.length > 1 ? (j * (W - L - R)) / (els.length - 1) : 0);
  const y = (v) => T + (H - T - B) * (1 - v / ymax);
  const s = svg("svg", { viewBox: `0 0 ${W} ${H}`, width: W, height: H, role: "img", "aria-label": "candidate band" });
  for (let v = 0; v <= ymax; v += ymax > 50 ? 20 : 10) {
    s.appendChild(svg("line", { x1: L - 4, x2: W - R, y1: y(v), y2: y(v), stroke: "#eef0f3" }));
    s.appendChild(svg("text", { x: L - 8, y: y(v) + 4, "text-anchor": "end", "font-size": 11, fill: "#5b6473" }, String(v)));
  }
  s.appendChild(svg("text", { x: 14, y: T + (H - T - B) / 2, transform: `rotate(-90 14 ${T + (H - T - B) / 2})`, "text-anchor": "middle", "font-size": 12, fill: "#5b6473" }, "at.%"));
  els.forEach((e, j) => {
    s.appendChild(svg("line", { x1: x(j), x2: x(j), y1: y(0), y2: y(ymax), stroke: "#8a93a0" }));
    s.appendChild(svg("text", { x: x(j), y: H - B + 22, "text-anchor": "middle", "font-size": 14, "font-weight": 600 }, e));
  });
  const path = (c) => els.map((e, j) => `${j ? "L" : "M"}${x(j).toFixed(1)},${y(c[e]).toFixed(1)}`).join(" ");
  for (const c of data.explored) {
    s.appendChild(svg("path", { d: path(c), fill: "none", stroke: c.target_met ? "#9cc3f5" : "#c9ced6", "stroke-width": 1, opacity: 0.6 }));
  }
  const n = data.candidates.length;
  [...data.candidates].reverse().forEach((c, k) => {
    const i = n - 1 - k;
    const p = svg("path", { d: path(c), fill: "none", stroke: rankColour(i, n), "stroke-width": i === 0 ? 3.5 : 2, "data-index": i, class: "pick" });
    p.appendChild(svg("title", {}, `#${c.rank} ${c.composition} (error ${(100 * c.error).toFixed(2)} %)`));
    s.appendChild(p);
  });
  const legend = [["#9cc3f5", 1, "evaluated, within tolerance"], ["#c9ced6", 1, "evaluated, outside it"], [rankColour(0, n), 3.5, "#1"], [rankColour(n - 1, n), 2, `#${n}`]];
  legend.forEach(([colour, width, label], k) => {
    const ly = H - 12, lx = L + [0, 200, 350, 420][k];
    s.appendChild(svg("line", { x1: lx, x2: lx + 22, y1: ly, y2: ly, stroke: colour, "stroke-width": width }));
    s.appendChild(svg("text", { x: lx + 28, y: ly + 4, "font-size": 11, fill: "#1d2430" }, label));
  });
  box.appendChild(s);
}

// ---------------------------------------------------------------- the Pareto figure (SVG scatter of the first two objectives)
const OBJ_LABEL = { p_target: "P(targets met)", error: "error to the targets", p_gfa: "P(Dmax ≥ 2 mm)", dmax_mm: "Dmax (mm)", cost: "cost (USD/kg)", density: "density (g/cm³)" };

function niceTicks(lo, hi, n = 5) {
  const span = hi - lo || Math.abs(hi) || 1;
  const step = Math.pow(10, Math.floor(Math.log10(span / n)));
  const k = [1, 2, 5, 10].find((m) => span / (m * step) <= n) * step;
  const out = [];
  for (let v = Math.ceil(lo / k) * k; v <= hi + 1e-9 * span; v += k) out.push(Number(v.toPrecision(12)));
  return out;
}

function drawPareto(data) {
  const box = $("pareto"), objectives = (data.settings && data.settings.pareto_objectives) || [];
  box.innerHTML = "";
  $("pareto-box").hidden = objectives.length < 2;
  if (objectives.length < 2) return;
  const [[cx, sx], [cy, sy]] = objectives;
  const pool = data.explored.filter((r) => typeof r[cx] === "number" && typeof r[cy] === "number");
  const picks = data.candidates.filter((r) => typeof r[cx] === "number" && typeof r[cy] === "number");
  const all = [...pool, ...picks];
  const W = 680, H = 420, L = 70, R = 20, T = 20, B = 70;
  const ext = (c) => { const v = all.map((r) => r[c]); const lo = Math.min(...v), hi = Math.max(...v), pad = (hi - lo) * 0.05 || Math.abs(hi) * 0.05 || 1; return [lo - pad, hi + pad]; };
  const [x0, x1] = ext(cx), [y0, y1] = ext(cy);
  const x = (v) => L + ((v - x0) / (x1 - x0)) * (W - L - R), y = (v) => T + (1 - (v - y0) / (y1 - y0)) * (H - T - B);
  const s = svg("svg", { viewBox: `0 0 ${W} ${H}`, width: W, height: H, role: "img", "aria-label": "Pareto set" });
  for (const v of niceTicks(x0, x1)) {
    s.appendChild(svg("line", { x1: x(v), x2: x(v), y1: T, y2: H - B, stroke: "#eef0f3" }));
    s.appendChild(svg("text", { x: x(v), y: H - B + 16, "text-anchor": "middle", "font-size": 11, fill: "#5b6473" }, String(v)));
  }
  for (const v of niceTicks(y0, y1)) {
    s.appendChild(svg("line", { x1: L, x2: W - R, y1: y(v), y2: y(v), stroke: "#eef0f3" }));
    s.appendChild(svg("text", { x: L - 6, y: y(v) + 4, "text-anchor": "end", "font-size": 11, fill: "#5b6473" }, String(v)));
  }
  const better = (sense) => (sense === "min" ? "lower" : "higher") + " is better";
  s.appendChild(svg("text", { x: L + (W - L - R) / 2, y: H - B + 36, "text-anchor": "middle", "font-size": 12 }, `${OBJ_LABEL[cx] || cx} (${better(sx)})`));
  s.appendChild(svg("text", { x: 16, y: T + (H - T - B) / 2, transform: `rotate(-90 16 ${T + (H - T - B) / 2})`, "text-anchor": "middle", "font-size": 12 }, `${OBJ_LABEL[cy] || cy} (${better(sy)})`));
  const status = picks.length ? picks[0].status : null;
  for (const r of pool) {
    const same = r.status === status;
    s.appendChild(svg("circle", { cx: x(r[cx]).toFixed(1), cy: y(r[cy]).toFixed(1), r: 2.2, fill: same ? "#8fb3e8" : "#d3d7dd", class: "pool" }));
  }
  const front = pool.filter((r) => r.pareto && r.status === status).sort((a, b) => a[cx] - b[cx]);
  if (objectives.length === 2 && front.length > 1) {  // a 2-D front is a staircase
    s.appendChild(svg("path", { d: front.map((r, i) => `${i ? "H" + x(r[cx]).toFixed(1) + " V" : "M" + x(r[cx]).toFixed(1) + ","}${y(r[cy]).toFixed(1)}`).join(" "), fill: "none", stroke: "#c0392b", "stroke-width": 1 }));
  }
  for (const r of front) s.appendChild(svg("circle", { cx: x(r[cx]).toFixed(1), cy: y(r[cy]).toFixed(1), r: 4.5, fill: "none", stroke: "#c0392b", "stroke-width": 1.2, class: "front" }));
  for (const r of picks) {
    const px = x(r[cx]), py = y(r[cy]);
    const g = svg("g", { class: "pick", "data-rank": r.rank });
    g.appendChild(svg("path", { d: `M${px - 4},${py - 4} L${px + 4},${py + 4} M${px - 4},${py + 4} L${px + 4},${py - 4}`, stroke: "#111", "stroke-width": 1.6 }));
    g.appendChild(svg("text", { x: px + 6, y: py - 5, "font-size": 11 }, `#${r.rank}`));
    g.appendChild(svg("title", {}, `#${r.rank} ${r.composition}: ${cx} ${r[cx].toPrecision(3)}, ${cy} ${r[cy].toPrecision(3)}`));
    s.appendChild(g);
  }
  const legend = [["#8fb3e8", "explored, same status as #1"], ["#d3d7dd", "other status"], ["#c0392b", "Pareto set (ringed)"], ["#111", "returned (×, by rank)"]];
  legend.forEach(([colour, label], k) => {
    const lx = L + k * 150, ly = H - 10;
    s.appendChild(svg("circle", { cx: lx, cy: ly - 4, r: 4, fill: colour }));
    s.appendChild(svg("text", { x: lx + 9, y: ly, "font-size": 11 }, label));
  });
  box.appendChild(s);
  $("pareto-note").textContent = objectives.length > 2 ? `${objectives.length - 2} more objective(s) not drawn: ${objectives.slice(2).map(([c, s2]) => `${s2} ${c}`).join(", ")}` : "";
}

function highlight(i) {
  $("figure").querySelectorAll("path.pick").forEach((p) => {
    const on = i === null || Number(p.dataset.index) === i;
    p.setAttribute("opacity", on ? 1 : 0.15);
  });
}

$("dl-csv").addEventListener("click", () => {
  if (lastDesign) download(`pcids-design-${lastDesign.elements.join("-")}.csv`, lastDesign.csv, "text/csv");
});
$("dl-json").addEventListener("click", () => {
  if (!lastDesign) return;
  const { elements, targets, success, message, settings, candidates, trace } = lastDesign;
  download(`pcids-design-${elements.join("-")}.json`, JSON.stringify({ elements, targets, success, message, settings, candidates, trace }, null, 2), "application/json");
});

// ---------------------------------------------------------------- screen view
function parsePalette(text) {  // symbols, or one named palette such as glass-formers:8 (no dash splitting)
  return text.split(/[\s,;]+/).map((s) => s.trim()).filter(Boolean);
}

function sizesText(sizes) {  // [3, 4, 5] -> "3-5", as the CLI's --sizes
  if (!Array.isArray(sizes)) return sizes === null || sizes === undefined ? "" : String(sizes);
  const run = sizes.every((v, i) => i === 0 || v === sizes[i - 1] + 1);
  return run && sizes.length > 1 ? `${sizes[0]}-${sizes[sizes.length - 1]}` : sizes.join(",");
}

function screenRequest() {
  const tokens = parsePalette($("screen-palette").value);
  const req = { palette: tokens.length === 1 && !SYMBOLS.includes(tokens[0]) ? tokens[0] : tokens, targets: readTargets("screen-") };
  const sizes = $("screen-sizes").value.trim();
  if (sizes) req.sizes = /^\d+$/.test(sizes) ? Number(sizes) : sizes;
  for (const key of ["tolerance", "step", "top", "show"]) {
    const v = numberOrText($("screen-" + key).value);
    if (v !== null) req[key] = v;
  }
  req.gfa_threshold_mm = $("screen-gfa-on").checked ? numberOrText($("screen-gfa_threshold_mm").value) : null;
  if (screenObjectives()) {
    readObjectives(req, "screen-");
    const c = numberOrText($("screen-confidence").value);
    if (c !== null) req.confidence = c;
  }
  return req;
}

searchForm({ form: "screen-form", run: "screen-run", cancel: "screen-cancel", progress: "screen-progress", text: "screen-progress-text", error: "err-screen-form" },
  "screen-", "/api/screen", screenRequest, (data) => { lastScreen = data; renderScreen(data); }, "screening");

function renderScreen(data) {
  $("screen-result").hidden = false;
  renderWarnings($("screen-warnings"), data.warnings);
  renderReport($("screen-report"), data.report, {
    key: "system", mainId: "systems", messageId: "screen-message", messageClass: "ok",
    decorate: (r, k) => {
      const system = data.systems[k].system;
      r.classList.add("link");
      r.title = `design ${system} for these targets`;
      r.addEventListener("click", () => designSystem(system.split("-")));
    },
  });
}

function designSystem(elements) {  // a screened system into the design form, with the screen's targets and objectives
  $("elements").value = elements.join(" ");
  $("elements").dispatchEvent(new Event("input"));
  const both = withObjectives() && screenObjectives();
  for (const t of both ? designNames() : targetNames()) {
    for (const id of both ? ["t-", "lo-", "hi-", "opt-"] : ["t-"]) if ($(id + t) && $("screen-" + id + t)) $(id + t).value = $("screen-" + id + t).value;
  }
  if (both && $("confidence")) $("confidence").value = $("screen-confidence").value;
  $("tab-design").click();
  $("elements").focus();
}

$("dl-screen-csv").addEventListener("click", () => {
  if (lastScreen) download("pcids-screen-systems.csv", lastScreen.csv, "text/csv");
});
$("dl-screen-json").addEventListener("click", () => {
  if (!lastScreen) return;
  const { settings, stats, systems } = lastScreen;
  download("pcids-screen.json", JSON.stringify({ settings, stats, systems }, null, 2), "application/json");
});

function applyScreenDefaults() {
  const opts = INFO.screen_options || {};
  for (const key of ["tolerance", "step", "top", "gfa_threshold_mm", "confidence"]) {
    if (opts[key] !== undefined && opts[key] !== null) $("screen-" + key).value = opts[key];
  }
  $("screen-confidence-label").hidden = !screenObjectives();
  $("screen-sizes").value = sizesText(opts.sizes);
  const L = INFO.limits || {};
  if (L.max_palette) {
    $("screen-limits").textContent = `This server screens at most ${L.max_palette} palette elements, ${L.max_systems.toLocaleString("en")} systems and ` +
      `${L.max_screen_points.toLocaleString("en")} coarse compositions per request, refines at most ${L.max_refined}, and stops a screen after ${L.time_limit_s} s.`;
  }
  $("tab-screen").hidden = !INFO.screen_options;  // a server without the screen
}

// ---------------------------------------------------------------- predict view
const GFA_COLUMNS = ["P(Dmax ≥ 2 mm)", "bulk glass?", "Dmax (mm)", "~68 % range (mm)", "Dmax if glass (mm)", "in domain"];
const GFA_KEYS = ["p_bulk_glass", "bulk_glass", "dmax_mm", "dmax_low", "dmax_high", "dmax_if_glass_mm", "threshold_mm"];
const pm = (v, s, d) => (v === null || v === undefined ? "-" : `${v.toFixed(d)} ± ${s.toFixed(d)}`);
const DECIMALS = { GPa: 1, K: 0 };  // unitless ratios: 3

function propertyNames(rows) {  // the properties /api/predict answered, in the library's order (GET /api/info)
  const order = Object.keys(INFO.properties || {}).concat(["G", "K", "E", "nu"]);
  return [...new Set(order)].filter((n) => rows.some((r) => r.ok && typeof r[n] === "number"));
}


$("predict-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  clearErrors($("predict-form"));
  const formulas = $("formulas").value.split(/[\n;]+/).map((s) => s.trim()).filter(Boolean);
  $("predict-run").disabled = true;
  $("predict-progress").hidden = false;
  try {
    const [p, g] = await Promise.all([postJSON("/api/predict", { formulas }), postJSON("/api/gfa", { formulas })]);
    const rows = p.data.rows && g.data.rows ? p.data.rows.map((r, i) => mergeRows(r, g.data.rows[i])) : null;
    if (!rows) {
      showError(p.data.field || g.data.field, p.data.detail || g.data.detail, "err-predict-form");
      return;
    }
    if (!p.ok) showError("formulas", p.data.detail, "err-predict-form");
    lastRows = rows;
    renderPredictions(rows);
  } catch (err) {
    $("err-predict-form").textContent = `cannot reach the server: ${err.message}`;
  } finally {
    $("predict-run").disabled = false;
    $("predict-progress").hidden = true;
  }
});

function mergeRows(p, g) {
  const out = { formula: p.input, canonical: p.formula, ok: p.ok && g.ok, error: p.error || g.error || null, warnings: [...new Set([...(p.warnings || []), ...(g.warnings || [])])] };
  if (p.ok) {  // every property with its sigma, and in_domain
    for (const [k, v] of Object.entries(p)) if (typeof v === "number" || k === "in_domain") out[k] = v;
  }
  if (g.ok) {
    GFA_KEYS.forEach((k) => { out[k] = g[k]; });
    out.gfa_in_domain = g.in_domain;
  }
  return out;
}

function renderPredictions(rows) {
  $("predict-result").hidden = false;
  const n_ok = rows.filter((r) => r.ok).length;
  $("predict-message").textContent = `${n_ok} of ${rows.length} formula(s) predicted` + (n_ok < rows.length ? `; ${rows.length - n_ok} could not be read (see the message in its row)` : "");
  const table = $("predictions");
  const head = table.querySelector("thead"), body = table.querySelector("tbody");
  head.innerHTML = ""; body.innerHTML = "";
  const names = propertyNames(rows);
  const columns = ["formula", ...names.map((n) => (unitOf(n) ? `${n} (${unitOf(n)})` : n)), ...GFA_COLUMNS];
  const tr = el("tr");
  columns.forEach((c, j) => tr.appendChild(el("th", { class: j === 0 ? "text" : "" }, c)));
  head.appendChild(tr);
  for (const r of rows) {
    const row = el("tr", { class: r.ok ? "" : "bad" });
    row.appendChild(el("td", { class: "text" }, r.formula));
    if (!r.ok) {
      row.appendChild(el("td", { class: "err", colspan: columns.length - 1 }, r.error));
    } else {
      [...names.map((n) => pm(r[n], r[n + "_std"], DECIMALS[unitOf(n)] ?? 3)),
        r.p_bulk_glass.toFixed(2), r.bulk_glass ? "yes" : "no", r.dmax_mm.toPrecision(2),
        `${r.dmax_low.toPrecision(2)} - ${r.dmax_high.toPrecision(2)}`,
        r.dmax_if_glass_mm === undefined || r.dmax_if_glass_mm === null ? "-" : r.dmax_if_glass_mm.toPrecision(2),
        r.in_domain && r.gfa_in_domain ? "yes" : "no"]
        .forEach((cell) => row.appendChild(el("td", {}, cell)));
      if (r.warnings.length) row.title = r.warnings.join("\n");
    }
    body.appendChild(row);
  }
}

function csvCell(v) {
  if (v === null || v === undefined) return "";
  const s = String(v);
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

$("dl-pred-csv").addEventListener("click", () => {
  if (!lastRows) return;
  const keys = ["formula", "ok", ...propertyNames(lastRows).flatMap((n) => [n, n + "_std"]), "in_domain", ...GFA_KEYS, "gfa_in_domain", "error"];
  const lines = [keys.join(","), ...lastRows.map((r) => keys.map((k) => csvCell(r[k])).join(","))];
  download("pcids-predictions.csv", lines.join("\n") + "\n", "text/csv");
});

// ---------------------------------------------------------------- start
(async function init() {
  try {
    const r = await fetch("/api/info");
    INFO = await r.json();
    $("version").textContent = `pcids ${INFO.version}`;
  } catch (_) { /* the picker still works, without the data shading */ }
  buildTargets("design-targets", "");
  buildTargets("screen-targets", "screen-");
  applyDefaults();
  applyScreenDefaults();
  buildPeriodicTable("ptable", "elements", parseElements, syncBounds);
  buildPeriodicTable("screen-ptable", "screen-palette", parsePalette, () => {});
  syncBounds();
})();

"use strict";
// servecost explorer: the form is the scenario (also in the URL's query string), POST /api/plan and
// /api/frontier on every change (debounced), then the plan table, the frontier and the cost breakdown.

const DEFAULTS = {
  model: "kimi-k2", users: 1000000, speed: 50, input_tokens: 2000, output_tokens: 500,
  precisions: "native", engine: "", speculation: true, disaggregation: true,
  pricing: "own", usd_per_kwh: 0.08, pue: 1.2, load: 1, lifetime_years: 3, cost_of_capital: 0.08,
};
const NUMBERS = ["users", "speed", "input_tokens", "output_tokens", "usd_per_kwh", "pue", "load",
                 "lifetime_years", "cost_of_capital"];
const BOOLS = ["speculation", "disaggregation"];
const CHOICES = ["model", "precisions", "engine", "pricing"];   // <select>s: a URL value must be one of theirs
const METRICS = ["per_chip", "per_mw", "usd_per_mtok"];
// the frontier does not depend on users or speed: it is fetched again only when one of these changes
const FRONTIER_KEYS = ["model", "config", "chips", "hardware", "input_tokens", "output_tokens", "engine", "precisions",
                       "speculation", "disaggregation", "pricing", "usd_per_kwh", "pue", "load", "lifetime_years",
                       "cost_of_capital"];
const COMPONENTS = {capex: "hardware capex", facility: "facility", energy: "energy", other: "other opex",
                    cloud: "cloud rental"};
const COMPONENT_COLORS = {capex: "#4c78a8", facility: "#9ecae9", energy: "#f58518", other: "#b8b8b8",
                          cloud: "#54a24b"};
const PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
                 "#bcbd22", "#17becf", "#393b79", "#e6550d", "#31a354", "#843c39", "#7b4173", "#3182bd",
                 "#636363", "#a55194", "#8ca252", "#ce6dbd"];
const DEBOUNCE_MS = 200;
const BREAKDOWN_SPAN = 4;   // the breakdown chart shows options up to this many times the cheapest

const $ = (id) => document.getElementById(id);
const form = $("form");
const colors = {};   // hardware id -> its colour in the table, the charts and the checkboxes
let view = {plan: null, frontier: null, body: null, picked: null, metric: "per_chip"};
let pending = null;
let timer = null;
let runs = 0;

// ---- formatting ----
const esc = (s) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const int = (x) => Math.round(x).toLocaleString("en-US");
function num(x, digits = 3) {
  if (x === null || x === undefined || !isFinite(x)) return "-";
  const a = Math.abs(x);
  if (a >= 1e9) return (x / 1e9).toFixed(2) + "B";
  if (a >= 1e6) return (x / 1e6).toFixed(2) + "M";
  if (a >= 1000) return int(x);
  if (a >= 100) return x.toFixed(0);
  return Number(x.toPrecision(digits)).toString();
}
const usd = (x) => "$" + (Math.abs(x) < 1 ? x.toFixed(3) : Math.abs(x) < 100 ? x.toFixed(2) : num(x));
const band = (b) => `<small>${num(b[0], 2)}–${num(b[1], 2)}</small>`;

function deployment(o, sep = ", ") {
  const prefill = o.prefill_chips_frac ?? o.prefill_chips / Math.max(o.chips - o.prefill_chips, 1);
  const p = o.prefill;   // plan: the prefill worker; frontier points carry prefill_layout
  const worker = p ? ` on ${p.chips_per_worker} × ${p.hardware} tp${p.tp}/dp${p.dp_attn}/pp${p.pp}/ep${p.ep}` :
    o.prefill_layout ? ` on ${o.prefill_hardware} ${o.prefill_layout}` : "";
  const mode = o.mode === "aggregated" ? "agg" : `disagg +${Math.round(100 * prefill)}% prefill${worker}`;
  const w = o.weight_dtype === o.expert_dtype ? o.weight_dtype : `${o.weight_dtype}/${o.expert_dtype}`;
  const spec = o.draft_tokens ? ", " + (o.speculation || "mtp" + o.draft_tokens) : "";
  return `${o.chips_per_replica} chips tp${o.tp}/dp${o.dp_attn}/pp${o.pp}/ep${o.ep}${sep}batch ` +
    `${int(o.batch_per_replica ?? o.batch)}, ${mode}${spec}, ${w}, kv ${o.kv_dtype}`;
}

// ---- the form <-> request body <-> URL ----
function setField(name, value) {
  const el = form.elements[name];
  if (BOOLS.includes(name)) el.checked = value === true || value === "true" || value === "1";
  else el.value = value;
  if (name === "speed") syncSlider();
}

// A shared link is input like any other: a value that is not a number, not one of a list's options or
// not a known accelerator is replaced by the default, and the page says which parameters it ignored.
function urlValue(q, name, fallback, ignored) {
  if (!q.has(name)) return fallback;
  const v = q.get(name);
  const ok = NUMBERS.includes(name) ? v.trim() !== "" && Number.isFinite(Number(v)) && Number(v) >= 0
    : CHOICES.includes(name) ? [...form.elements[name].options].some((o) => o.value === v)
    : BOOLS.includes(name) ? ["true", "false", "1", "0"].includes(v) : true;
  if (!ok) ignored.push(name);
  return ok ? v : fallback;
}

function readURL() {
  const q = new URLSearchParams(location.search), ignored = [];
  for (const [name, value] of Object.entries(DEFAULTS)) setField(name, urlValue(q, name, value, ignored));
  const known = new Set(hardwareBoxes().map((b) => b.value));
  let wanted = q.has("hardware") ? new Set(q.get("hardware").split(",").filter((h) => known.has(h))) : null;
  if (wanted && !wanted.size) { ignored.push("hardware"); wanted = null; }
  for (const box of hardwareBoxes()) box.checked = !wanted || wanted.has(box.value);
  $("config").value = q.get("config") || "";
  $("config-box").open = Boolean(q.get("config"));
  $("chips").value = q.get("chips") || "";
  $("chips-box").open = Boolean(q.get("chips"));
  view.metric = urlValue(q, "metric", "per_chip", ignored);
  if (!METRICS.includes(view.metric)) { ignored.push("metric"); view.metric = "per_chip"; }
  $("metric").value = view.metric;
  view.picked = q.get("pick");
  view.urlNote = ignored.length ? `link: ignored ${[...new Set(ignored)].join(", ")} (not a valid value); ` +
    "using the defaults" : "";
}

function hardwareBoxes() { return [...document.querySelectorAll("#hardware input")]; }

function body() {
  const b = {model: form.elements.model.value};
  for (const name of NUMBERS) b[name] = Number(form.elements[name].value);
  for (const name of BOOLS) b[name] = form.elements[name].checked;
  for (const name of ["precisions", "engine", "pricing"]) b[name] = form.elements[name].value;
  const boxes = hardwareBoxes();
  const picked = boxes.filter((x) => x.checked).map((x) => x.value);
  if (!picked.length) throw new Error("hardware: tick at least one accelerator");
  b.hardware = picked.length === boxes.length ? [] : picked;
  const config = $("config").value.trim();
  if (config) {
    try { b.config = JSON.parse(config); } catch (e) { throw new Error(`config: not valid JSON (${e.message})`); }
  }
  const chips = $("chips").value.trim();
  if (chips) {
    try { b.chips = JSON.parse(chips); } catch (e) { throw new Error(`chips: not valid JSON (${e.message})`); }
    if (!Array.isArray(b.chips)) b.chips = [b.chips];
    const own = b.chips.map((c) => String((c && c.id) || "").trim().toLowerCase()).filter(Boolean);
    if (b.hardware.length) b.hardware = [...b.hardware, ...own];
    own.forEach((id, i) => { if (!colors[id]) colors[id] = PALETTE[(hardwareBoxes().length + i) % PALETTE.length]; });
  }
  return b;
}

function writeURL(b) {
  const q = new URLSearchParams();
  for (const [name, value] of Object.entries(DEFAULTS)) if (String(b[name]) !== String(value)) q.set(name, b[name]);
  if (b.hardware.length) q.set("hardware", b.hardware.join(","));
  if (b.config) q.set("config", JSON.stringify(b.config));
  if (b.chips) q.set("chips", JSON.stringify(b.chips));
  if (view.metric !== "per_chip") q.set("metric", view.metric);
  if (view.picked) q.set("pick", view.picked);
  const search = q.toString();
  history.replaceState(null, "", search ? "?" + search : location.pathname);
}

// ---- talking to the API ----
async function post(path, b, signal, format = "json") {
  const res = await fetch(`${path}?format=${format}`, {
    method: "POST", headers: {"Content-Type": "application/json"}, body: JSON.stringify(b), signal,
  });
  if (!res.ok) {
    const detail = await res.json().catch(() => ({detail: res.statusText}));
    throw new Error(detail.detail);
  }
  return format === "json" ? res.json() : res.text();
}

function schedule() {
  clearTimeout(timer);
  timer = setTimeout(run, DEBOUNCE_MS);
}

async function run() {
  let b;
  try { b = body(); } catch (e) { return showError(e.message); }
  writeURL(b);
  if (pending) pending.abort();
  const ctrl = pending = new AbortController();
  $("status").textContent = "computing…";
  document.body.classList.add("busy");
  const t0 = performance.now();
  const fb = Object.fromEntries(FRONTIER_KEYS.filter((k) => k in b).map((k) => [k, b[k]]));
  const frontierKey = JSON.stringify(fb);
  try {
    const [plan, frontier] = await Promise.all([
      post("/api/plan", b, ctrl.signal),
      frontierKey === view.frontierKey ? view.frontier : post("/api/frontier", fb, ctrl.signal)]);
    if (ctrl !== pending) return;
    view = {...view, plan, frontier, frontierKey, body: b};
    showError(view.urlNote || null);
    view.urlNote = "";
    render();
    $("status").textContent = `updated in ${Math.round(performance.now() - t0)} ms`;
    $("status").dataset.run = String(++runs);
  } catch (e) {
    if (e.name !== "AbortError") { showError(e.message); $("status").textContent = ""; }
  } finally {
    if (ctrl === pending) { pending = null; document.body.classList.remove("busy"); }
  }
}

function showError(message) {
  $("error").hidden = !message;
  $("error").textContent = message || "";
}

// ---- rendering ----
function render() {
  const {plan} = view;
  if (!plan.options.some((o) => o.hardware === view.picked)) view.picked = null;
  const m = plan.model, sc = plan.scenario;
  $("summary").innerHTML = `<b>${esc(m.name)}</b> (${num(m.total_params / 1e9)}B total, ${num(m.active_params / 1e9)}B ` +
    `active, ${num(m.weight_gb)} GB) for <b>${int(sc.users)}</b> users at <b>${num(sc.speed_tokens_per_s)}</b> ` +
    `output tok/s each, ${int(sc.input_tokens)} in / ${int(sc.output_tokens)} out tokens per request`;
  renderTable();
  renderFrontier();
  renderBreakdown();
}

function picked() {
  return view.plan.options.find((o) => o.hardware === view.picked) || view.plan.options[0];
}

function renderTable() {
  const {options, infeasible} = view.plan;
  const pick = picked();
  const rows = options.map((o) => `<tr class="option${o === pick ? " picked" : ""}" data-hw="${esc(o.hardware)}">
    <td><span class="swatch" style="background:${colors[o.hardware]}"></span>${esc(o.hardware)}${o.calibrated === false ?
      ' <abbr class="uncal" title="no cross-validated measured runs of this chip generation: factors carried over, bands may not hold">*</abbr>' : ""}</td>
    <td class="num"><b>${usd(o.usd_per_mtok_output)}</b> ${band(o.usd_per_mtok_output_band)}</td>
    <td class="num" title="per ${esc(o.usd_per_user_month_basis || "concurrent stream")}">${usd(o.usd_per_user_month)}</td>
    <td class="num" title="${int(o.replicas)} replicas × ${o.chips_per_replica}${o.prefill_chips ? " + " + int(o.prefill_chips) + " prefill" : ""}">${int(o.chips)}</td>
    <td class="num">${num(o.power_mw)}</td>
    <td class="num">${num(o.ttft_s)} ${band(o.ttft_s_band)}</td>
    <td class="num">${num(o.tokens_per_s_per_user)}</td>
    <td class="deploy">${esc(deployment(o, "\n")).replace("\n", "<br>")}</td></tr>`);
  const bad = infeasible.map((r) => `<tr class="infeasible">
    <td><span class="swatch" style="background:${colors[r.hardware]}"></span>${esc(r.hardware)}</td>
    <td colspan="7" class="reason">${esc(r.reason)}</td></tr>`);
  document.querySelector("#plan tbody").innerHTML = rows.join("") + bad.join("") ||
    `<tr><td colspan="8">no accelerator selected</td></tr>`;
}

function hover(p, metric) {
  return `${num(p.tokens_per_s_per_user)} tok/s/user, ${metric.unit === "$/Mtok" ? usd(p[view.metric]) : num(p[view.metric]) + " " + metric.unit}` +
    `<br>TTFT ${num(p.ttft_s)} s · ${esc(deployment(p))}`;
}

function renderFrontier() {
  const data = view.frontier, key = view.metric, metric = data.metrics[key];
  const traces = [];
  for (const c of data.curves) {
    const pts = c.points[key], color = colors[c.hardware];
    traces.push({
      type: "scatter", mode: "lines+markers", name: c.hardware, legendgroup: c.hardware,
      x: pts.map((p) => p.tokens_per_s_per_user), y: pts.map((p) => p[key]),
      line: {color, width: 1.8, shape: "hv"}, marker: {color, size: 4},
      text: pts.map((p) => hover(p, metric)), hovertemplate: `<b>${esc(c.hardware)}</b><br>%{text}<extra></extra>`,
    });
  }
  for (const o of view.plan.options) {   // the table's rows, on the same axes
    const perChip = o.output_tokens_per_s_per_chip;
    const y = {per_chip: perChip, per_mw: perChip / (o.chip_power_w * view.plan.assumptions.pue / 1e6),
               usd_per_mtok: o.usd_per_mtok_output}[key];
    traces.push({
      type: "scatter", mode: "markers", name: o.hardware + " plan", legendgroup: o.hardware, showlegend: false,
      x: [o.tokens_per_s_per_user], y: [y],
      marker: {symbol: "star", size: 13, color: colors[o.hardware], line: {color: "#000", width: 0.8}},
      text: [`plan's pick: ${esc(deployment(o))}`], hovertemplate: `<b>${esc(o.hardware)}</b><br>%{text}<extra></extra>`,
    });
  }
  const speed = view.plan.scenario.speed_tokens_per_s;
  const layout = {
    margin: {l: 70, r: 10, t: 26, b: 40}, hovermode: "closest", font: {size: 12},
    xaxis: {type: "log", dtick: 1, title: {text: "output tokens/s per user (interactivity)"}, gridcolor: "#eee"},
    yaxis: {type: "log", dtick: 1, tickformat: key === "usd_per_mtok" ? "$~s" : "~s",
            title: {text: `${metric.label} (${metric.unit})`}, gridcolor: "#eee"},
    legend: {orientation: "h", y: -0.14, font: {size: 11}},
    shapes: [{type: "line", xref: "x", yref: "paper", x0: speed, x1: speed, y0: 0, y1: 1,
              line: {dash: "dot", color: "#555", width: 1}}],
    annotations: [{x: Math.log10(speed), xref: "x", y: 1, yref: "paper", yanchor: "bottom", showarrow: false,
                   text: `${num(speed)} tok/s/user ★ = plan's pick`, font: {size: 11, color: "#555"}}],
  };
  Plotly.react("frontier-chart", traces, layout, {displaylogo: false, responsive: true});
}

// The simulation table belongs to one plan and one picked row: any other one clears it.
function clearStaleSimulation() {
  const pick = view.plan && picked();
  const key = pick ? JSON.stringify([view.body, pick.hardware]) : null;
  if (view.simKey && view.simKey === key) return;
  view.simKey = null;
  $("sim").querySelector("tbody").innerHTML = "";
  $("sim-note").dataset.state = "";
}

function renderBreakdown() {
  clearStaleSimulation();
  const all = view.plan.options, pick = picked();
  if (!pick) {
    Plotly.purge("breakdown-chart");
    $("breakdown").innerHTML = "<dt>no feasible deployment</dt><dd></dd>";
    $("breakdown-note").textContent = "";
    return;
  }
  const cap = BREAKDOWN_SPAN * all[0].usd_per_mtok_output;
  const options = all.filter((o) => o === pick || o.usd_per_mtok_output <= cap);
  const hidden = all.length - options.length;
  const parts = Object.keys(pick.cost_breakdown_usd_per_hour).map((k) => k.replace("_usd_per_hour", ""));
  const share = (o, part) => o.usd_per_mtok_output * o.cost_breakdown_usd_per_hour[part + "_usd_per_hour"] / o.usd_per_hour;
  const traces = parts.map((part) => ({
    type: "bar", orientation: "h", name: COMPONENTS[part] || part, y: options.map((o) => o.hardware),
    x: options.map((o) => share(o, part)),
    marker: {color: COMPONENT_COLORS[part], opacity: options.map((o) => (o === pick ? 1 : 0.45))},
    hovertemplate: `%{y}: ${COMPONENTS[part] || part} $%{x:.3f}/Mtok<extra></extra>`,
  }));
  const totals = options.map((o) => ({x: o.usd_per_mtok_output, y: o.hardware, text: usd(o.usd_per_mtok_output),
    xanchor: "left", xshift: 4, showarrow: false, font: {size: 11}}));
  Plotly.react("breakdown-chart", traces, {
    barmode: "stack", margin: {l: 96, r: 16, t: 30, b: 44}, font: {size: 12}, annotations: totals,
    xaxis: {title: {text: "$ per million output tokens, by cost component"},
            range: [0, 1.2 * Math.max(...options.map((o) => o.usd_per_mtok_output))], gridcolor: "#eee"},
    yaxis: {autorange: "reversed", tickvals: options.map((o) => o.hardware),
            ticktext: options.map((o) => (o === pick ? `<b>${o.hardware}</b>` : o.hardware))},
    legend: {orientation: "h", x: 0, y: 1, yanchor: "bottom", traceorder: "normal"},
  }, {displaylogo: false, responsive: true});
  $("breakdown-note").textContent = hidden ? `${options.length} cheapest shown; ${hidden} above ${usd(cap)}/Mtok ` +
    "left out (see the table)" : "";
  const hourly = parts.map((p) => `${COMPONENTS[p] || p} ${usd(pick.cost_breakdown_usd_per_hour[p + "_usd_per_hour"])}`);
  const items = [
    ["accelerator", esc(pick.name)],
    ["deployment", esc(deployment(pick))],
    ["chips", `${int(pick.chips)} (${int(pick.replicas)} replicas × ${pick.chips_per_replica}` +
      `${pick.prefill_chips ? ` + ${int(pick.prefill_chips)} prefill` : ""})`],
    ["$/Mtok output", `${usd(pick.usd_per_mtok_output)} (90%: ${usd(pick.usd_per_mtok_output_band[0])}–` +
      `${usd(pick.usd_per_mtok_output_band[1])}); split by what it serves: input ${usd(pick.usd_per_mtok_input_split)}, ` +
      `output ${usd(pick.usd_per_mtok_output_split)}`],
    ["$/hour", `${usd(pick.usd_per_hour)}: ${hourly.join(", ")}`],
    [`$/month per ${esc(pick.usd_per_user_month_basis || "concurrent stream")}`, usd(pick.usd_per_user_month)],
    ["capex", pick.capex_usd ? `${usd(pick.capex_usd)} (hardware ${usd(pick.hardware_capex_usd)}, ` +
      `facility ${usd(pick.facility_capex_usd)})` : "none (cloud)"],
    ["power", `${num(pick.power_mw)} MW facility (${num(pick.chip_power_w)} W per chip)`],
    ["latency", `TTFT ${num(pick.ttft_s)} s, TPOT ${num(pick.tpot_s * 1000)} ms`],
  ];
  $("breakdown").innerHTML = items.map(([k, v]) => `<dt>${k}</dt><dd>${v}</dd>`).join("");
}

// ---- simulating the picked replica ----
const SIM_REQUESTS = 20000;   // requests per simulation (the API allows 50,000)
const SIM_MAX_S = 300;

function simScenario(pick, b) {
  // disaggregated: decode replicas and a prefill pool in the planned ratio (at most 8 decode replicas)
  const frac = pick.prefill_chips / Math.max(pick.chips - pick.prefill_chips, 1);
  const decode = pick.mode === "disaggregated" ? Math.min(8, Math.max(1, Math.round(1 / frac))) : 1;
  const prefill = pick.mode === "disaggregated" ? Math.max(1, Math.round(decode * frac)) : 0;
  const e2e_s = pick.ttft_s + b.output_tokens * pick.tpot_s;
  const rate = 0.8 * decode * pick.batch_per_replica / e2e_s;
  return {
    name: `${pick.hardware} replica`, model: b.model, hardware: pick.hardware, engine: b.engine,
    weight_dtype: pick.weight_dtype, expert_dtype: pick.expert_dtype, kv_dtype: pick.kv_dtype,
    deployment: {tp: pick.tp, pp: pick.pp, ep: pick.ep, dp_attn: pick.dp_attn},
    speculation: {draft_tokens: pick.draft_tokens, method: pick.speculation === "eagle3" ? "eagle3" : "mtp"},
    fleet: {replicas: decode, prefill_replicas: prefill, max_seqs: pick.batch_per_replica},
    slo: {ttft_s: Math.max(2, 2 * pick.ttft_s), tpot_s: 1 / b.speed},
    duration_s: Math.min(SIM_MAX_S, SIM_REQUESTS / rate),
    workload: {streams: [{class: "interactive", arrival: "poisson", rate_per_s: rate,
      input_tokens: b.input_tokens, input_spread: 0.5, output_tokens: b.output_tokens, output_spread: 0.5}]},
  };
}

async function simulate() {
  const pick = view.plan && picked();
  if (!pick) return;
  if (view.body.config) return showError("simulate: over HTTP the simulator takes a catalogue model, not a pasted config.json");
  $("simulate").disabled = true;
  $("sim-note").dataset.state = "running";
  const t0 = performance.now();
  try {
    const key = JSON.stringify([view.body, pick.hardware]);
    const s = await post("/api/simulate", simScenario(pick, view.body));
    if (key !== JSON.stringify([view.body, picked() && picked().hardware])) return;   // the plan moved on
    const c = s.classes.interactive, f = s.fleet;
    const ms = (x) => (x === null ? null : x * 1000);
    const row = (label, t50, t99, p50, p99, rest) => `<tr><td>${label}</td><td class="num">${num(t50)}</td>` +
      `<td class="num">${num(t99)}</td><td class="num">${num(ms(p50))}</td><td class="num">${num(ms(p99))}</td>${rest}</tr>`;
    $("sim").querySelector("tbody").innerHTML =
      row(`simulated: ${esc(pick.hardware)}, ${s.deployment.replicas} replica${s.deployment.replicas > 1 ? "s" : ""}` +
          `${s.deployment.prefill_replicas ? ` + ${s.deployment.prefill_replicas} prefill` : ""}, ` +
          `${int(s.requests)} requests over ${num(s.simulated_s)} s`,
          c.ttft_s.p50, c.ttft_s.p99, c.tpot_s.p50, c.tpot_s.p99,
          `<td class="num">${(100 * c.met_target_frac).toFixed(1)}%</td><td class="num">${int(c.completed)}</td>` +
          `<td class="num">${Math.round(100 * f.slot_occupancy_mean)}%</td><td class="num">${int(f.preemptions)}</td>` +
          `<td class="num">${num(f.energy_j_per_output_token)}</td>`) +
      row("plan (steady state, full batch)", pick.ttft_s, null, pick.tpot_s, null,
          '<td class="num">-</td><td class="num">-</td><td class="num">100%</td><td class="num">-</td><td class="num">-</td>');
    $("sim-note").dataset.state = "done";
    view.simKey = key;
    $("status").textContent = `simulated in ${Math.round(performance.now() - t0)} ms`;
    showError(null);
  } catch (e) {
    $("sim-note").dataset.state = "";
    showError(e.message);
  } finally {
    $("simulate").disabled = false;
  }
}

// ---- downloads and sharing ----
function download(text, name, type) {
  const a = document.createElement("a");
  a.href = URL.createObjectURL(new Blob([text], {type}));
  a.download = name;
  document.body.appendChild(a);
  a.click();
  setTimeout(() => { URL.revokeObjectURL(a.href); a.remove(); }, 1000);
}

function fileName(ext) {
  return `servecost-plan-${view.body && view.body.config ? "custom" : form.elements.model.value}.${ext}`;
}

async function downloadCSV() {
  try { download(await post("/api/plan", body(), undefined, "csv"), fileName("csv"), "text/csv"); } catch (e) { showError(e.message); }
}

function downloadJSON() {
  if (view.plan) download(JSON.stringify(view.plan, null, 2), fileName("json"), "application/json");
}

async function share() {
  try {
    await navigator.clipboard.writeText(location.href);
    $("status").textContent = "link copied";
  } catch (e) {
    window.prompt("Copy this link:", location.href);
  }
}

// ---- start ----
function syncSlider() {
  const v = Number($("speed").value);
  if (v > 0) $("speed-slider").value = Math.round(100 * Math.log10(v));
}

async function init() {
  const [models, hardware] = await Promise.all([fetch("/api/models").then((r) => r.json()),
                                                fetch("/api/hardware").then((r) => r.json())]);
  $("model").innerHTML = models.map((m) =>
    `<option value="${esc(m.id)}">${esc(m.name)} (${num(m.total_b)}B${m.experts !== "dense" ? ", " + num(m.active_b) + "B active" : ""})</option>`).join("");
  let vendor = null;
  const boxes = [];
  hardware.forEach((h, i) => {
    colors[h.id] = PALETTE[i % PALETTE.length];
    if (h.vendor !== vendor) { vendor = h.vendor; boxes.push(`<div class="vendor">${esc(vendor)}</div>`); }
    boxes.push(`<label class="check" title="${esc(h.name)}"><input type="checkbox" value="${esc(h.id)}">` +
      `<span class="swatch" style="background:${colors[h.id]}"></span>${esc(h.id)}</label>`);
  });
  $("hardware").innerHTML = boxes.join("");
  readURL();
  form.addEventListener("input", (e) => { if (e.target.id !== "speed-slider") schedule(); });
  form.addEventListener("change", schedule);
  form.addEventListener("submit", (e) => { e.preventDefault(); run(); });
  $("speed-slider").addEventListener("input", () => {
    $("speed").value = Number(Math.pow(10, $("speed-slider").value / 100).toPrecision(3));
    schedule();
  });
  $("speed").addEventListener("input", syncSlider);
  $("hw-all").addEventListener("click", () => { hardwareBoxes().forEach((b) => { b.checked = true; }); schedule(); });
  $("hw-none").addEventListener("click", () => { hardwareBoxes().forEach((b) => { b.checked = false; }); });
  $("metric").addEventListener("change", () => { view.metric = $("metric").value; writeURL(view.body || body()); if (view.frontier) renderFrontier(); });
  document.querySelector("#plan tbody").addEventListener("click", (e) => {
    const row = e.target.closest("tr.option");
    if (!row) return;
    view.picked = row.dataset.hw;
    writeURL(view.body);
    renderTable();
    renderBreakdown();
  });
  $("share").addEventListener("click", share);
  $("download-csv").addEventListener("click", downloadCSV);
  $("download-json").addEventListener("click", downloadJSON);
  $("simulate").addEventListener("click", simulate);
  await run();
}

init().catch((e) => showError(`could not load the catalogue: ${e.message}`));

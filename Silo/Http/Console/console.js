// The DpIqa web console: reads only the JSON API under /api/v1 (no other server code, no outside resources).
"use strict";
const API = "/api/v1";
const page = document.getElementById("page");
let stop = () => {}; // closes the current page's live updates

function esc(v) {
  return String(v ?? "").replace(/[&<>"']/g, c => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));
}
function num(v, digits = 4) { return v === null || v === undefined ? "-" : Number(v).toPrecision(digits); }
function eta(seconds) {
  if (seconds === null || seconds === undefined) return "--";
  const s = Math.round(seconds), h = Math.floor(s / 3600), m = Math.floor(s % 3600 / 60);
  return (h ? h + "h " : "") + (h || m ? m + "m " : "") + (s % 60) + "s";
}
function bar(done, total, cls = "") {
  const pct = total > 0 ? Math.min(100, 100 * done / total) : 0;
  return `<span class="bar ${cls}" title="${done}/${total}"><div style="width:${pct.toFixed(1)}%"></div></span>`;
}
async function get(path) {
  const r = await fetch(API + path);
  if (!r.ok) {
    let detail = r.statusText;
    try { detail = (await r.json()).detail || detail; } catch { /* not problem+json */ }
    throw new Error(`${r.status}: ${detail}`);
  }
  return r.json();
}
function showError(e) { document.getElementById("error").textContent = e ? String(e.message || e) : ""; }

// Jobs list: every job, its state and a progress bar, re-read every second.
async function jobsPage() {
  page.innerHTML = `<h1>Jobs</h1><table id="jobs"><thead><tr><th>job</th><th>state</th><th>progress</th><th class="n">done</th><th class="n">failed</th><th class="n">total</th><th class="n">images/s</th><th>ETA</th><th>model</th><th>submitted</th></tr></thead><tbody></tbody></table>`;
  const body = page.querySelector("tbody");
  let alive = true;
  stop = () => { alive = false; };
  while (alive) {
    try {
      const jobs = await get("/jobs");
      body.innerHTML = jobs.length === 0 ? `<tr><td colspan="10" class="note">No jobs yet.</td></tr>` : jobs.map(j => `
        <tr data-job="${esc(j.job_id)}"><td><a href="#/jobs/${encodeURIComponent(j.job_id)}">${esc(j.job_id)}</a></td>
        <td class="state-${esc(j.state)}">${esc(j.state)}</td><td>${bar(j.done, j.total)}</td>
        <td class="n done">${j.done}</td><td class="n">${j.failed}</td><td class="n total">${j.total}${j.listing_done ? "" : "+"}</td>
        <td class="n">${num(j.images_per_second, 3)}</td><td>${j.is_finished ? "" : eta(j.eta ? toSeconds(j.eta) : null)}</td>
        <td>${esc(j.model)}</td><td>${esc((j.submitted_at || "").replace("T", " ").slice(0, 19))}</td></tr>`).join("");
      showError(null);
    } catch (e) { showError(e); }
    await new Promise(r => setTimeout(r, 1000));
  }
}
function toSeconds(span) { // "hh:mm:ss[.fff]" or "d.hh:mm:ss"
  const m = /^(?:(\d+)\.)?(\d+):(\d+):(\d+(?:\.\d+)?)$/.exec(span);
  return m ? (+(m[1] || 0)) * 86400 + (+m[2]) * 3600 + (+m[3]) * 60 + (+m[4]) : null;
}

// One job: live counts from its progress events, then (once it ended) its summary, images and lists.
async function jobPage(id) {
  page.innerHTML = `<h1>Job ${esc(id)}</h1>
    <div class="counts">
      <div>state<b id="state">-</b></div><div>done<b id="done">0</b></div><div>scored<b id="scored">0</b></div>
      <div>failed<b id="failed">0</b></div><div>total<b id="total">0</b></div>
      <div>images/s<b id="rate">-</b></div><div>ETA<b id="eta">--</b></div>
    </div>
    <div>${bar(0, 0)}</div>
    <div id="summary"></div>`;
  const events = new EventSource(`${API}/jobs/${encodeURIComponent(id)}/progress`);
  stop = () => events.close();
  let shown = false;
  events.addEventListener("progress", e => {
    const p = JSON.parse(e.data);
    for (const k of ["state", "done", "scored", "failed", "total"]) document.getElementById(k).textContent = p[k];
    document.getElementById("rate").textContent = num(p.images_per_second, 3);
    document.getElementById("eta").textContent = p.finished ? "--" : eta(p.eta_seconds);
    document.getElementById("state").className = "state-" + p.state;
    const b = page.querySelector(".bar > div");
    b.style.width = (p.total > 0 ? 100 * p.done / p.total : 0).toFixed(1) + "%";
    if (p.finished && !shown) { shown = true; events.close(); summary(id).catch(showError); }
  });
  events.onerror = () => { if (!shown) showError(new Error("progress stream interrupted; reload to reconnect")); events.close(); };
}

async function summary(id) {
  const s = await get(`/jobs/${encodeURIComponent(id)}/summary`);
  const all = s.all, el = document.getElementById("summary");
  const hist = all.histogram || [];
  const top = Math.max(1, ...hist.map(h => h.count));
  const folders = Object.entries(s.by_folder || {}).sort((a, b) => a[0].localeCompare(b[0]));
  const kinds = Object.entries(all.failed_by_kind || {}).sort((a, b) => b[1] - a[1]);
  el.innerHTML = `
    <h2>Scores (model ${esc(s.model)} ${esc(s.model_version || "")})</h2>
    <table id="stats"><tr><th class="n">count</th><th class="n">scored</th><th class="n">failed</th><th class="n">mean</th><th class="n">std</th><th class="n">min</th><th class="n">p50</th><th class="n">max</th></tr>
    <tr><td class="n" id="summary-count">${all.count}</td><td class="n" id="summary-scored">${all.scored}</td><td class="n" id="summary-failed">${all.failed}</td>
    <td class="n">${num(all.mean)}</td><td class="n">${num(all.std)}</td><td class="n">${num(all.min)}</td><td class="n">${num((all.percentiles || {}).p50)}</td><td class="n">${num(all.max)}</td></tr></table>
    <h2>Histogram</h2>
    ${hist.length === 0 ? `<p class="note">No image was scored.</p>` : `<div style="width:fit-content"><div class="hist">${hist.map(h =>
      `<div style="height:${(100 * h.count / top).toFixed(1)}%" title="${num(h.lower)} to ${num(h.upper)}: ${h.count}"></div>`).join("")}</div>
      <div class="axis"><span>${num(hist[0].lower)}</span><span>${num(hist[hist.length - 1].upper)}</span></div></div>`}
    <h2>Per folder</h2>
    <table id="folders"><tr><th>folder</th><th class="n">count</th><th class="n">scored</th><th class="n">failed</th><th class="n">mean</th><th class="n">p5</th><th class="n">p50</th><th class="n">p95</th></tr>
    ${folders.map(([f, v]) => `<tr><td>${esc(f)}</td><td class="n">${v.count}</td><td class="n">${v.scored}</td><td class="n">${v.failed}</td>
      <td class="n">${num(v.mean)}</td><td class="n">${num((v.percentiles || {}).p5)}</td><td class="n">${num((v.percentiles || {}).p50)}</td><td class="n">${num((v.percentiles || {}).p95)}</td></tr>`).join("")}</table>
    <h2>Errors by kind</h2>
    ${kinds.length === 0 ? `<p class="note">No error records.</p>` : `<table id="errors">${kinds.map(([k, n]) => `<tr><td>${esc(k)}</td><td class="n">${n}</td></tr>`).join("")}</table>`}
    <h2>Worst images</h2><div class="grid" id="worst"></div>
    <h2>Best images</h2><div class="grid" id="best"></div>
    <h2>Keep / reject lists</h2><div id="lists"></div>`;
  await Promise.all([images(id, "worst"), images(id, "best"), lists(id, s)]);
}

async function images(id, order) {
  const r = await get(`/jobs/${encodeURIComponent(id)}/images?order=${order}&count=8`);
  document.getElementById(order).innerHTML = r.images.length === 0 ? `<p class="note">No image was scored.</p>` : r.images.map(i => `
    <figure><img loading="lazy" alt="${esc(i.path)}" src="${API}/jobs/${encodeURIComponent(id)}/thumbnail?shard=${i.shard}&path=${encodeURIComponent(i.path)}">
    <figcaption><b>${num(i.score)}</b>${i.teacher_score !== null ? ` (teacher ${num(i.teacher_score)})` : ""}<br>${esc(i.path)}</figcaption></figure>`).join("");
}

async function lists(id, s) {
  const el = document.getElementById("lists");
  if (!s.curation) { el.innerHTML = `<p class="note">The job has no curation rule, so no keep/reject lists.</p>`; return; }
  const parts = await Promise.all(["keep", "reject"].map(async name => {
    const r = await fetch(`${API}/jobs/${encodeURIComponent(id)}/lists/${name}`);
    const text = r.ok ? await r.text() : "";
    const lines = text.split("\n").filter(l => l);
    return `<h3>${name} (${lines.length})</h3><pre id="list-${name}">${esc(lines.slice(0, 200).join("\n"))}${lines.length > 200 ? "\n..." : ""}</pre>`;
  }));
  el.innerHTML = parts.join("");
}

// Schedules: definition, next run, the last runs with counts and drift.
async function schedulesPage() {
  page.innerHTML = `<h1>Schedules</h1><div id="schedules">Loading...</div>`;
  stop = () => {};
  try {
    const list = await get("/schedules");
    document.getElementById("schedules").innerHTML = list.length === 0 ? `<p class="note">No schedules.</p>` : list.map(s => `
      <h2>${esc(s.spec.name)} <span class="note">cron "${esc(s.spec.cron)}" (${esc(s.spec.time_zone)}), ${s.paused ? "paused" : "next run " + esc((s.next_run || "-").replace("T", " ").slice(0, 19))}, drift threshold ${num(s.spec.drift_threshold, 2)}</span></h2>
      <table class="runs"><tr><th>run</th><th>trigger</th><th>state</th><th class="n">images</th><th class="n">scored</th><th class="n">reused</th><th class="n">failed</th><th class="n">rejected</th><th class="n">mean</th><th class="n">p50</th><th>drift</th></tr>
      ${s.runs.length === 0 ? `<tr><td colspan="11" class="note">No runs yet.</td></tr>` : s.runs.map(r => `<tr>
        <td><a href="#/jobs/${encodeURIComponent(r.job_id)}">${esc(r.job_id)}</a></td><td>${esc(r.trigger)}</td><td class="state-${esc(r.state)}">${esc(r.state)}</td>
        <td class="n">${r.images}</td><td class="n">${r.scored}</td><td class="n">${r.reused}</td><td class="n">${r.failed}</td><td class="n">${r.rejected ?? "-"}</td>
        <td class="n">${num(r.mean)}</td><td class="n">${num((r.percentiles || {}).p50)}</td>
        <td>${r.drift ? (r.drift.drifted ? `<span class="drifted">DRIFTED: ${esc(r.drift.reason)}</span>` : `KS D ${num(r.drift.ks_statistic, 3)}, mean ${r.drift.mean_change === null ? "-" : num(r.drift.mean_change, 3)}`) : "-"}</td></tr>`).join("")}
      </table>`).join("");
    showError(null);
  } catch (e) { showError(e); }
}

function route() {
  stop();
  const hash = location.hash || "#/";
  const job = /^#\/jobs\/(.+)$/.exec(hash);
  if (job) jobPage(decodeURIComponent(job[1]));
  else if (hash === "#/schedules") schedulesPage();
  else jobsPage();
}
window.addEventListener("hashchange", route);
route();

// Run page (/training/runs/{id}): summary cards, learning curves (x by episode/step/time, smoothing with
// TensorBoard's debiased EMA or a rolling mean, raw faded), best/worst episodes and a searchable, paged
// episode table. Live: polls /updates?after=<cursor> and appends the new episodes to the curves.
"use strict";
(function () {
  const TR = window.TR;
  const parts = TR.pathParts(); // training, runs, {id}
  const runId = parts[2];
  const DEFAULT_METRICS = ["roi_pct", "sharpe", "reward_sum", "max_drawdown_pct"];
  const MAX_SCALAR_CHARTS = 6;
  const st = (TR.state.run = {
    runId: runId,
    detail: null,
    curves: {},
    selected: [],
    x: TR.params().get("x") || "episode",
    smoothMethod: "ema",
    smoothParam: 0.6,
    cursor: 0,
    table: { page: 1, pageSize: 50, q: "", sort: "episode", order: "desc", total: 0, pages: 1 },
    updates: 0,
  });
  const PRIMARY = "#0072B2";

  // ------------------------------------------------------------------ summary
  function renderDetail(d) {
    document.title = (d.name || d.id.slice(0, 8)) + " · tradeready";
    document.getElementById("run-name").textContent = d.name || d.id;
    document.getElementById("run-status").innerHTML = TR.statusBadge(d.status);
    const meta = [d.algorithm, d.env_id, d.strategy_label ? "label " + d.strategy_label : null, d.mode,
      d.seed !== null && d.seed !== undefined ? "seed " + d.seed : null, "created " + TR.time(d.created_at), "id " + d.id];
    document.getElementById("run-meta").textContent = meta.filter(Boolean).join(" · ");
    document.getElementById("run-progress").innerHTML = TR.progress(d.progress, d.status);
    const c = d.cards;
    const cards = [
      ["Episodes", TR.num(c.episodes, 0)],
      ["Steps", TR.num(c.steps, 0)],
      ["Best ROI", TR.pct(c.best_roi_pct), c.best_roi_pct],
      ["Avg ROI", TR.pct(c.avg_roi_pct), c.avg_roi_pct],
      ["Avg ROI (last 100)", TR.pct(c.avg_roi_pct_last_100), c.avg_roi_pct_last_100],
      ["Avg Sharpe", TR.num(c.avg_sharpe)],
      ["Avg vs buy&hold", TR.pct(c.avg_excess_roi_pct), c.avg_excess_roi_pct],
      ["Worst drawdown", TR.pct(c.worst_drawdown_pct === null ? null : -Math.abs(c.worst_drawdown_pct))],
      ["Trades", TR.num(c.trades, 0)],
      ["Fees", TR.num(c.fees)],
    ];
    document.getElementById("cards").innerHTML = cards
      .map((k) => '<div class="card"><div class="k">' + k[0] + '</div><div class="v ' + (k.length > 2 ? TR.signClass(k[2]) : "") + '" data-card="' + TR.esc(k[0]) + '">' + k[1] + "</div></div>")
      .join("");
    renderSmallTable("best-table", d.best_episodes);
    renderSmallTable("worst-table", d.worst_episodes);
  }

  function epLink(r) {
    const label = "#" + r.episode;
    return r.has_trace ? '<a href="/training/runs/' + encodeURIComponent(runId) + "/episodes/" + r.episode + '" title="Replay">' + label + " ▶</a>" : label;
  }

  function renderSmallTable(id, rows) {
    const t = document.getElementById(id);
    t.tHead.innerHTML = '<tr><th scope="col">Episode</th><th scope="col" class="num">ROI</th><th scope="col" class="num">Sharpe</th><th scope="col" class="num">vs B&amp;H</th><th scope="col" class="num">Trades</th><th scope="col" class="hide-narrow">Data</th></tr>';
    t.tBodies[0].innerHTML = rows.length ? rows.map((r) =>
      "<tr><td>" + epLink(r) + '</td><td class="num ' + TR.signClass(r.roi_pct) + '">' + TR.pct(r.roi_pct) + '</td><td class="num">' + TR.num(r.sharpe) +
      '</td><td class="num ' + TR.signClass(r.excess_roi_pct) + '">' + TR.pct(r.excess_roi_pct) + '</td><td class="num">' + TR.num(r.trades, 0) +
      '</td><td class="hide-narrow">' + TR.esc((r.data_start || "").slice(0, 10)) + "</td></tr>").join("") : '<tr><td colspan="6" class="muted">No episodes yet.</td></tr>';
    TR.keyboardTable(t);
  }

  // ------------------------------------------------------------------ metric picker
  function metricLabel(key) {
    const m = (st.detail.metrics || []).find((x) => x.key === key);
    return m ? m.label : key;
  }
  function renderPicker() {
    const box = document.getElementById("metric-picker");
    const items = st.detail.metrics.map((m) =>
      '<label><input type="checkbox" value="' + TR.esc(m.key) + '"' + (st.selected.includes(m.key) ? " checked" : "") + "> " + TR.esc(m.label) + "</label>");
    box.innerHTML = "<legend>Metrics</legend>" + items.join("");
  }

  // ------------------------------------------------------------------ charts
  function smoothedOf(y) {
    return TR.smoother(st.smoothMethod, st.smoothParam)(y);
  }
  function chartData(metric) {
    const s = st.curves[metric];
    return [s.x.slice(), s.y.slice(), smoothedOf(s.y)];
  }
  function xLabel(metric) {
    if (metric.startsWith("scalar:") && st.x !== "time") return "step";
    return st.x;
  }
  function buildCharts() {
    const box = document.getElementById("charts");
    const want = st.selected.filter((m) => st.curves[m]);
    // drop charts no longer selected
    for (const name of Object.keys(TR.charts)) {
      if (!want.includes(name)) {
        TR.charts[name].destroy();
        delete TR.charts[name];
      }
    }
    box.innerHTML = "";
    for (const m of want) {
      const wrap = document.createElement("div");
      wrap.className = "chart-box";
      const id = "chart-" + m.replace(/[^a-zA-Z0-9_-]/g, "_");
      wrap.innerHTML = "<h3>" + TR.esc(metricLabel(m)) + ' <span class="muted">(' + TR.num(st.curves[m].n, 0) + " points" +
        (st.curves[m].n > st.curves[m].x.length ? ", " + st.curves[m].x.length + " drawn" : "") + ')</span></h3><div class="chart" id="' + id + '" data-metric="' + TR.esc(m) + '"></div>';
      box.appendChild(wrap);
      const el = wrap.querySelector(".chart");
      const opts = {
        height: 230,
        scales: { x: TR.xAxisOpts(xLabel(m)) },
        series: [
          { label: xLabel(m) },
          { label: "raw", stroke: TR.hexAlpha(PRIMARY, 0.28), width: 1, points: { show: false } },
          // a run of a few episodes has no line to draw yet: its points are shown instead
          { label: "smoothed", stroke: PRIMARY, width: 2, points: { show: st.curves[m].x.length <= 20 } },
        ],
        axes: [{ values: xLabel(m) === "time" ? undefined : TR.fmtAxis }, { size: 64, values: TR.fmtAxis }],
        cursor: { sync: { key: "run-" + runId } },
        legend: { live: true },
      };
      TR.mount(m, el, opts, chartData(m), metricLabel(m) + " by " + xLabel(m) + ", raw and smoothed");
    }
  }
  function resmooth() {
    for (const m of Object.keys(TR.charts)) {
      if (st.curves[m]) TR.charts[m].setData(chartData(m));
    }
  }

  async function loadCurves() {
    if (!st.selected.length) { st.curves = {}; buildCharts(); return; }
    const data = await TR.api("/runs/" + encodeURIComponent(runId) + "/curves", { metrics: st.selected.join(","), x: st.x });
    st.curves = data.series;
    st.cursor = Math.max(st.cursor, data.cursor);
    buildCharts();
  }

  // ------------------------------------------------------------------ episode table
  const EP_COLS = [
    ["episode", "Episode", false], ["env_index", "Env", false, true], ["data_start", "Data start", false, true], ["length", "Bars", true],
    ["reward_sum", "Reward", true], ["roi_pct", "ROI", true], ["sharpe", "Sharpe", true], ["sortino", "Sortino", true],
    ["max_drawdown_pct", "Max DD", true], ["trades", "Trades", true], ["fees", "Fees", true], ["buy_hold_roi_pct", "B&H ROI", true],
    ["excess_roi_pct", "vs B&H", true], ["final_equity", "Final equity", true], ["finished_at", "Finished", false, true],
  ];
  const SORTABLE = ["episode", "roi_pct", "sharpe", "sortino", "reward_sum", "max_drawdown_pct", "trades", "fees", "buy_hold_roi_pct", "final_equity", "length", "finished_at"];
  function cell(r, key) {
    const v = r[key];
    if (key === "episode") return epLink(r);
    if (key === "roi_pct" || key === "buy_hold_roi_pct" || key === "excess_roi_pct") return TR.pct(v);
    if (key === "max_drawdown_pct") return TR.pct(v === null ? null : -Math.abs(v));
    if (key === "trades" || key === "length" || key === "env_index") return TR.num(v, 0);
    if (key === "data_start") return TR.esc((v || "").slice(0, 16));
    if (key === "finished_at") return TR.esc(TR.time(v));
    return TR.num(v);
  }
  function renderTableHead() {
    const t = document.getElementById("ep-table");
    t.tHead.innerHTML = "<tr>" + EP_COLS.map((c) => {
      const cls = (c[2] ? "num" : "") + (c[3] ? " hide-narrow" : "");
      const sort = SORTABLE.includes(c[0]);
      const aria = sort ? ' aria-sort="' + (st.table.sort === c[0] ? (st.table.order === "asc" ? "ascending" : "descending") : "none") + '"' : "";
      return '<th scope="col" class="' + cls + '" data-key="' + c[0] + '"' + aria + ">" + (sort ? '<button class="sort">' + TR.esc(c[1]) + "</button>" : TR.esc(c[1])) + "</th>";
    }).join("") + "</tr>";
  }
  async function loadTable() {
    const t = st.table;
    const data = await TR.api("/runs/" + encodeURIComponent(runId) + "/episodes", { page: t.page, page_size: t.pageSize, q: t.q, sort: t.sort, order: t.order });
    t.total = data.total;
    t.pages = data.pages;
    t.rows = data.rows;
    renderTableHead();
    const tb = document.querySelector("#ep-table tbody");
    TR.keepFocus(tb, () => { tb.innerHTML = data.rows.length ? data.rows.map((r) => '<tr data-episode="' + r.episode + '">' + EP_COLS.map((c) => {
      const cls = (c[2] ? "num " + (c[0].endsWith("roi_pct") ? TR.signClass(r[c[0]]) : "") : "") + (c[3] ? " hide-narrow" : "");
      return '<td class="' + cls + '">' + cell(r, c[0]) + "</td>";
    }).join("") + "</tr>").join("") : '<tr><td colspan="' + EP_COLS.length + '" class="muted">No episodes match.</td></tr>'; });
    document.getElementById("ep-total").textContent = TR.num(data.total, 0) + " episodes";
    document.getElementById("ep-page").textContent = "Page " + data.page + " of " + data.pages;
    document.getElementById("ep-first").disabled = document.getElementById("ep-prev").disabled = data.page <= 1;
    document.getElementById("ep-next").disabled = document.getElementById("ep-last").disabled = data.page >= data.pages;
  }

  // ------------------------------------------------------------------ live
  function xOf(ep) {
    if (st.x === "episode") return ep.episode;
    if (st.x === "step") return ep.global_step;
    return ep.time;
  }
  async function refresh() {
    const data = await TR.api("/runs/" + encodeURIComponent(runId) + "/updates", { after: st.cursor });
    const eps = data.episodes;
    st.updates += 1;
    if (data.run.status !== st.detail.status) document.getElementById("run-status").innerHTML = TR.statusBadge(data.run.status);
    document.getElementById("run-progress").innerHTML = TR.progress(data.run.progress, data.run.status);
    if (!eps.length) return;
    st.cursor = data.cursor;
    let reload = data.more;
    for (const m of st.selected) {
      const s = st.curves[m];
      if (!s || m.startsWith("scalar:")) continue;
      for (const ep of eps) {
        const xv = xOf(ep);
        if (xv === null || xv === undefined) continue;
        if (s.x.length && xv < s.x[s.x.length - 1]) { reload = true; break; }
        s.x.push(xv);
        s.y.push(ep[m] === undefined ? null : ep[m]);
        s.n += 1;
      }
      if (s.x.length > 2 * 2000) reload = true;
    }
    const hasScalars = st.selected.some((m) => m.startsWith("scalar:"));
    if (reload || hasScalars) await loadCurves();
    else resmooth();
    st.detail = Object.assign(await TR.api("/runs/" + encodeURIComponent(runId)), {});
    renderDetail(st.detail);
    if (st.table.page === 1 && !st.table.q) await loadTable();
    document.getElementById("live").textContent = eps.length + " new episode" + (eps.length === 1 ? "" : "s") + " · " + new Date().toLocaleTimeString();
  }

  // ------------------------------------------------------------------ controls
  function syncSmoothControls() {
    const label = document.getElementById("smooth-param-label");
    const input = document.getElementById("smooth-param");
    if (st.smoothMethod === "ema") { label.textContent = "Weight"; input.step = "0.05"; input.min = "0"; input.max = "0.999"; input.disabled = false; }
    else if (st.smoothMethod === "rolling") { label.textContent = "Window"; input.step = "1"; input.min = "1"; input.max = "10000"; input.disabled = false; }
    else { input.disabled = true; }
  }
  document.getElementById("x-axis").value = st.x;
  document.getElementById("x-axis").addEventListener("change", (ev) => {
    st.x = ev.target.value;
    loadCurves().catch(TR.showError);
  });
  document.getElementById("smooth-method").addEventListener("change", (ev) => {
    st.smoothMethod = ev.target.value;
    const input = document.getElementById("smooth-param");
    if (st.smoothMethod === "ema") input.value = "0.6";
    if (st.smoothMethod === "rolling") input.value = "10";
    st.smoothParam = parseFloat(input.value);
    syncSmoothControls();
    resmooth();
  });
  document.getElementById("smooth-param").addEventListener("change", (ev) => {
    let v = parseFloat(ev.target.value);
    if (!Number.isFinite(v)) return;
    if (st.smoothMethod === "ema") v = Math.min(0.999, Math.max(0, v));
    else v = Math.max(1, Math.round(v));
    ev.target.value = String(v);
    st.smoothParam = v;
    resmooth();
  });
  document.getElementById("metric-picker").addEventListener("change", (ev) => {
    const boxes = Array.from(document.querySelectorAll("#metric-picker input:checked")).map((i) => i.value);
    st.selected = st.detail.metrics.map((m) => m.key).filter((k) => boxes.includes(k));
    loadCurves().catch(TR.showError);
  });
  let searchTimer = null;
  document.getElementById("ep-search").addEventListener("input", (ev) => {
    clearTimeout(searchTimer);
    searchTimer = setTimeout(() => {
      st.table.q = ev.target.value.trim();
      st.table.page = 1;
      loadTable().catch(TR.showError);
    }, 250);
  });
  document.getElementById("ep-size").addEventListener("change", (ev) => {
    st.table.pageSize = parseInt(ev.target.value, 10);
    st.table.page = 1;
    loadTable().catch(TR.showError);
  });
  const go = (p) => () => { st.table.page = Math.min(Math.max(1, p()), st.table.pages); loadTable().catch(TR.showError); };
  document.getElementById("ep-first").addEventListener("click", go(() => 1));
  document.getElementById("ep-prev").addEventListener("click", go(() => st.table.page - 1));
  document.getElementById("ep-next").addEventListener("click", go(() => st.table.page + 1));
  document.getElementById("ep-last").addEventListener("click", go(() => st.table.pages));
  document.querySelector("#ep-table thead").addEventListener("click", (ev) => {
    const btn = ev.target.closest("button.sort");
    if (!btn) return;
    const key = btn.parentElement.dataset.key;
    if (st.table.sort === key) st.table.order = st.table.order === "asc" ? "desc" : "asc";
    else { st.table.sort = key; st.table.order = key === "episode" ? "asc" : "desc"; }
    st.table.page = 1;
    loadTable().then(() => {
      const b = document.querySelector('#ep-table th[data-key="' + key + '"] button');
      if (b) b.focus();
    }).catch(TR.showError);
  });
  TR.keyboardTable(document.getElementById("ep-table"));

  // ------------------------------------------------------------------ start
  async function start() {
    // the three first requests go out together; "scalar:*" asks for the run's scalars (first six keys)
    const base = "/runs/" + encodeURIComponent(runId);
    const [detail, curves] = await Promise.all([
      TR.api(base),
      TR.api(base + "/curves", { metrics: DEFAULT_METRICS.concat(["scalar:*"]).join(","), x: st.x }),
      loadTable(),
    ]);
    st.detail = detail;
    st.cursor = Math.max(detail.cursor, curves.cursor);
    renderDetail(detail);
    const scalars = Object.keys(curves.series).filter((k) => k.startsWith("scalar:")).sort().slice(0, MAX_SCALAR_CHARTS);
    st.selected = DEFAULT_METRICS.concat(scalars);
    st.curves = curves.series;
    renderPicker();
    syncSmoothControls();
    buildCharts();
    TR.markReady();
    TR.poll(refresh);
  }
  start().catch(TR.showError);
})();

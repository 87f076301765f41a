// Compare page (/training/compare?ids=a,b,...): one curve per run in the run's own colour (given by the
// server: a hash of the run id into a colour-blind-safe palette), raw faded and smoothed solid, and a
// metrics table. Polls for new data while any compared run is running.
"use strict";
(function () {
  const TR = window.TR;
  const params = TR.params();
  const ids = (params.get("ids") || "").split(",").map((s) => s.trim()).filter(Boolean);
  const METRICS = [
    ["roi_pct", "ROI %"], ["sharpe", "Sharpe"], ["reward_sum", "Reward"], ["max_drawdown_pct", "Max drawdown %"],
    ["sortino", "Sortino"], ["excess_roi_pct", "ROI - buy-and-hold %"], ["buy_hold_roi_pct", "Buy-and-hold ROI %"],
    ["trades", "Trades"], ["fees", "Fees"], ["final_equity", "Final equity"],
  ];
  const st = (TR.state.compare = {
    ids: ids,
    metric: params.get("metric") || "roi_pct",
    x: params.get("x") || "episode",
    smoothMethod: "ema",
    smoothParam: 0.6,
    data: null,
  });
  const metricSel = document.getElementById("metric");
  metricSel.innerHTML = METRICS.map((m) => '<option value="' + m[0] + '">' + TR.esc(m[1]) + "</option>").join("");
  metricSel.value = st.metric;
  document.getElementById("x-axis").value = st.x;

  function chartData() {
    const runs = st.data.runs;
    // align every run's (x, y) on the union of x values; gaps are spanned
    const tables = runs.map((r) => [r.series.x, r.series.y]);
    const joined = tables.length ? uPlot.join(tables) : [[]];
    const out = [joined[0]];
    const sm = TR.smoother(st.smoothMethod, st.smoothParam);
    runs.forEach((r, i) => {
      const raw = joined[i + 1];
      out.push(raw);
      // smoothing runs over the run's own points (not the joined gaps), then is spread onto the union x
      const smooth = sm(r.series.y);
      const pos = new Map(r.series.x.map((x, j) => [x, j]));
      out.push(joined[0].map((x) => (pos.has(x) ? smooth[pos.get(x)] : null)));
    });
    return out;
  }

  function renderChart() {
    const runs = st.data.runs;
    const series = [{ label: st.x }];
    for (const r of runs) {
      const name = r.name || r.id.slice(0, 8);
      series.push({ label: name + " (raw)", stroke: TR.hexAlpha(r.colour, 0.25), width: 1, spanGaps: true, points: { show: false } });
      series.push({ label: name, stroke: r.colour, width: 2, spanGaps: true, points: { show: false } });
    }
    const opts = {
      height: 380,
      scales: { x: TR.xAxisOpts(st.x) },
      series: series,
      axes: [{ values: st.x === "time" ? undefined : TR.fmtAxis }, { size: 64, values: TR.fmtAxis }],
      legend: { live: true },
    };
    TR.mount("compare", document.getElementById("compare-chart"), opts, chartData(), metricSel.selectedOptions[0].text + " of " + runs.length + " runs by " + st.x);
  }

  function renderTable() {
    const t = document.getElementById("compare-table");
    t.tHead.innerHTML = '<tr><th scope="col">Run</th><th scope="col">Status</th><th scope="col" class="num">Episodes</th><th scope="col" class="num">Best ROI</th>' +
      '<th scope="col" class="num">Avg ROI</th><th scope="col" class="num">Avg Sharpe</th><th scope="col" class="num">vs buy&amp;hold</th>' +
      '<th scope="col" class="num">Beat B&amp;H</th><th scope="col" class="hide-narrow">Algorithm</th><th scope="col" class="hide-narrow">Label</th></tr>';
    t.tBodies[0].innerHTML = st.data.runs.map((r) =>
      '<tr data-id="' + TR.esc(r.id) + '" data-colour="' + TR.esc(r.colour) + '"><td><span class="swatch" style="background:' + TR.esc(r.colour) + '" aria-hidden="true"></span><a href="/training/runs/' +
      encodeURIComponent(r.id) + '">' + TR.esc(r.name || r.id.slice(0, 8)) + "</a></td><td>" + TR.statusBadge(r.status) + '</td><td class="num">' + TR.num(r.episodes, 0) +
      '</td><td class="num ' + TR.signClass(r.best_roi_pct) + '">' + TR.pct(r.best_roi_pct) + '</td><td class="num ' + TR.signClass(r.avg_roi_pct) + '">' + TR.pct(r.avg_roi_pct) +
      '</td><td class="num">' + TR.num(r.avg_sharpe) + '</td><td class="num ' + TR.signClass(r.avg_excess_roi_pct) + '">' + TR.pct(r.avg_excess_roi_pct) +
      '</td><td class="num">' + (r.beat_buy_hold_frac === null ? "—" : Math.round(r.beat_buy_hold_frac * 100) + "%") +
      '</td><td class="hide-narrow">' + TR.esc(r.algorithm || "—") + '</td><td class="hide-narrow">' + TR.esc(r.strategy_label || "—") + "</td></tr>").join("");
    TR.keyboardTable(t);
  }

  async function load() {
    if (!ids.length) throw new Error("No runs to compare: open this page from the run list with some runs selected.");
    st.data = await TR.api("/compare", { ids: ids.join(","), metric: st.metric, x: st.x });
    renderChart();
    renderTable();
  }
  function syncUrl() {
    const u = new URL(window.location.href);
    u.searchParams.set("metric", st.metric);
    u.searchParams.set("x", st.x);
    history.replaceState(null, "", u);
  }
  metricSel.addEventListener("change", () => { st.metric = metricSel.value; syncUrl(); load().catch(TR.showError); });
  document.getElementById("x-axis").addEventListener("change", (ev) => { st.x = ev.target.value; syncUrl(); load().catch(TR.showError); });
  document.getElementById("smooth-method").addEventListener("change", (ev) => {
    st.smoothMethod = ev.target.value;
    const input = document.getElementById("smooth-param");
    input.disabled = st.smoothMethod === "none";
    document.getElementById("smooth-param-label").textContent = st.smoothMethod === "rolling" ? "Window" : "Weight";
    input.value = st.smoothMethod === "rolling" ? "10" : "0.6";
    st.smoothParam = parseFloat(input.value);
    TR.charts.compare.setData(chartData());
  });
  document.getElementById("smooth-param").addEventListener("change", (ev) => {
    let v = parseFloat(ev.target.value);
    if (!Number.isFinite(v)) return;
    v = st.smoothMethod === "ema" ? Math.min(0.999, Math.max(0, v)) : Math.max(1, Math.round(v));
    ev.target.value = String(v);
    st.smoothParam = v;
    TR.charts.compare.setData(chartData());
  });

  load()
    .then(() => {
      TR.markReady();
      TR.poll(async () => {
        if (!st.data.runs.some((r) => r.status === "running")) return;
        await load();
        document.getElementById("live").textContent = "updated " + new Date().toLocaleTimeString();
      });
    })
    .catch(TR.showError);
})();

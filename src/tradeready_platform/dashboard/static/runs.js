// Run list page (/training): status, live progress, sparkline, ROI/Sharpe/buy-and-hold, label filter,
// selection for comparison. Polls /runs?since=<cursor> and merges the changed rows.
"use strict";
(function () {
  const TR = window.TR;
  const st = (TR.state.runs = { rows: new Map(), cursor: null, sortKey: "created_at", sortDir: -1, selected: new Set() });
  const tbody = document.querySelector("#runs-table tbody");
  const labelSel = document.getElementById("label-filter");
  const nameFilter = document.getElementById("name-filter");
  const compareBtn = document.getElementById("compare-btn");

  const params = TR.params();
  if (params.get("label")) st.label = params.get("label");

  function sortValue(r, key) {
    if (key === "progress") return r.progress ? (r.progress.fraction !== null ? r.progress.fraction : r.progress.steps) : -Infinity;
    const v = r[key];
    if (v === null || v === undefined) return null;
    return v;
  }

  function rowHtml(r) {
    const name = r.name || r.id.slice(0, 8);
    const beat = r.beat_buy_hold_frac === null || r.beat_buy_hold_frac === undefined ? "" :
      ' <span class="muted">(' + Math.round(r.beat_buy_hold_frac * 100) + "% beat)</span>";
    return (
      '<td><input type="checkbox" class="sel" aria-label="Select ' + TR.esc(name) + ' for comparison" data-id="' + TR.esc(r.id) + '"' +
      (st.selected.has(r.id) ? " checked" : "") + "></td>" +
      '<td><span class="swatch" style="background:' + TR.esc(r.colour) + '" aria-hidden="true"></span><a href="/training/runs/' +
      encodeURIComponent(r.id) + '">' + TR.esc(name) + '</a><div class="muted">' + TR.esc(r.algorithm || "") + " " + TR.esc(r.env_id || "") + "</div></td>" +
      '<td class="hide-narrow">' + TR.esc(r.strategy_label || "—") + "</td>" +
      "<td>" + TR.statusBadge(r.status) + "</td>" +
      "<td>" + TR.progress(r.progress, r.status) + "</td>" +
      '<td class="hide-narrow">' + TR.sparkline(r.sparkline, r.colour) + "</td>" +
      '<td class="num ' + TR.signClass(r.best_roi_pct) + '">' + TR.pct(r.best_roi_pct) + "</td>" +
      '<td class="num ' + TR.signClass(r.avg_roi_pct) + '">' + TR.pct(r.avg_roi_pct) + "</td>" +
      '<td class="num">' + TR.num(r.avg_sharpe) + "</td>" +
      '<td class="num ' + TR.signClass(r.avg_excess_roi_pct) + '">' + TR.pct(r.avg_excess_roi_pct) + beat + "</td>" +
      '<td class="hide-narrow">' + TR.esc(TR.time(r.created_at)) + "</td>"
    );
  }

  function visibleRows() {
    const q = nameFilter.value.trim().toLowerCase();
    let rows = Array.from(st.rows.values());
    if (st.label) rows = rows.filter((r) => r.strategy_label === st.label);
    if (q) rows = rows.filter((r) => (r.name || "").toLowerCase().includes(q) || r.id.toLowerCase().startsWith(q));
    const k = st.sortKey, d = st.sortDir;
    rows.sort((a, b) => {
      const va = sortValue(a, k), vb = sortValue(b, k);
      if (va === vb) return a.id < b.id ? -1 : 1;
      if (va === null) return 1;
      if (vb === null) return -1;
      return (va < vb ? -1 : 1) * d;
    });
    return rows;
  }

  function render() {
    const rows = visibleRows();
    const html = rows.map((r) => '<tr data-id="' + TR.esc(r.id) + '">' + rowHtml(r) + "</tr>").join("");
    TR.keepFocus(tbody, () => {
      tbody.innerHTML = html || '<tr><td colspan="11" class="muted">No runs yet. Train with track_training=True (the default) and they appear here.</td></tr>';
    });
    document.getElementById("runs-count").textContent = rows.length + " of " + st.rows.size + " runs";
    document.querySelectorAll("#runs-table th[data-key]").forEach((th) => {
      th.setAttribute("aria-sort", th.dataset.key === st.sortKey ? (st.sortDir > 0 ? "ascending" : "descending") : "none");
    });
    updateCompare();
  }

  function updateCompare() {
    compareBtn.textContent = "Compare selected (" + st.selected.size + ")";
    compareBtn.disabled = st.selected.size < 1;
  }

  function setLabels(labels) {
    const cur = st.label || "";
    labelSel.innerHTML = '<option value="">All labels</option>' + labels.map((l) => '<option value="' + TR.esc(l) + '">' + TR.esc(l) + "</option>").join("");
    labelSel.value = labels.includes(cur) ? cur : "";
  }

  async function load() {
    const data = await TR.api("/runs");
    st.rows = new Map(data.runs.map((r) => [r.id, r]));
    st.cursor = data.cursor;
    st.lastResponse = data;
    st.labels = data.labels;
    setLabels(data.labels);
    render();
  }

  async function refresh() {
    const data = await TR.api("/runs", { since: st.cursor });
    st.cursor = data.cursor;
    let changed = data.runs.length > 0;
    for (const r of data.runs) st.rows.set(r.id, r);
    // runs not in the delta may have gone stale; recompute from the server's clock
    const now = Date.parse(data.now);
    for (const r of st.rows.values()) {
      if (r.status === "running" && r.heartbeat_at && now - Date.parse(r.heartbeat_at) > data.stale_after_s * 1000) {
        r.status = "stale";
        changed = true;
      }
    }
    if (data.labels.length && data.labels.join("\n") !== (st.labels || []).join("\n")) {
      st.labels = data.labels;
      setLabels(data.labels);
    }
    if (changed) render();
    document.getElementById("live").textContent = "updated " + new Date().toLocaleTimeString();
  }

  labelSel.addEventListener("change", () => {
    st.label = labelSel.value || null;
    const u = new URL(window.location.href);
    if (st.label) u.searchParams.set("label", st.label); else u.searchParams.delete("label");
    history.replaceState(null, "", u);
    render();
  });
  nameFilter.addEventListener("input", render);
  document.querySelectorAll("#runs-table th[data-key] button.sort").forEach((btn) => {
    btn.addEventListener("click", () => {
      const key = btn.parentElement.dataset.key;
      if (st.sortKey === key) st.sortDir = -st.sortDir;
      else { st.sortKey = key; st.sortDir = key === "name" || key === "strategy_label" ? 1 : -1; }
      render();
    });
  });
  tbody.addEventListener("change", (ev) => {
    const cb = ev.target.closest("input.sel");
    if (!cb) return;
    if (cb.checked) st.selected.add(cb.dataset.id); else st.selected.delete(cb.dataset.id);
    updateCompare();
  });
  compareBtn.addEventListener("click", () => {
    window.location.href = "/training/compare?ids=" + Array.from(st.selected).map(encodeURIComponent).join(",");
  });
  TR.keyboardTable(document.getElementById("runs-table"));

  load()
    .then(() => {
      TR.markReady();
      TR.poll(refresh);
    })
    .catch(TR.showError);
})();

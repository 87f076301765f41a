// Shared helpers of the dashboard pages: API calls (with the key from the login form), polling that
// pauses in hidden tabs, number formatting, keyboard-usable tables and uPlot chart builders.
// Plain script, no build step; everything lives on window.TR.
"use strict";
(function () {
  const API = "/api/v1/dashboard";
  const KEY_STORE = "tradeready_api_key";
  const body = document.body;
  const TR = (window.TR = {
    API: API,
    auth: body.dataset.auth || "none",
    refreshMs: parseInt(body.dataset.refreshMs || "5000", 10),
    charts: {},
    state: {},
    ready: false,
  });

  // ------------------------------------------------------------------ API
  class ApiError extends Error {
    constructor(status, message) {
      super(message);
      this.status = status;
    }
  }
  TR.ApiError = ApiError;

  function showLogin(message) {
    return new Promise((resolve) => {
      let dlg = document.getElementById("tr-login");
      if (!dlg) {
        dlg = document.createElement("dialog");
        dlg.id = "tr-login";
        dlg.innerHTML =
          '<form method="dialog" class="login">' +
          "<h2>Sign in</h2>" +
          '<p class="login-msg"></p>' +
          '<label for="tr-login-key">API key</label>' +
          '<input id="tr-login-key" name="key" type="password" autocomplete="off" required placeholder="ak_live_...">' +
          '<button type="submit">Open dashboard</button>' +
          "<p class=\"hint\">The key is kept in this browser tab only (sessionStorage) and sent as X-API-Key.</p>" +
          "</form>";
        document.body.appendChild(dlg);
      }
      dlg.querySelector(".login-msg").textContent = message || "";
      const form = dlg.querySelector("form");
      form.onsubmit = (ev) => {
        ev.preventDefault();
        const key = dlg.querySelector("#tr-login-key").value.trim();
        if (!key) return;
        sessionStorage.setItem(KEY_STORE, key);
        dlg.close();
        resolve();
      };
      if (!dlg.open) dlg.showModal();
      dlg.querySelector("#tr-login-key").focus();
    });
  }

  async function api(path, params) {
    const url = new URL(API + path, window.location.origin);
    if (params) {
      for (const [k, v] of Object.entries(params)) {
        if (v !== undefined && v !== null && v !== "") url.searchParams.set(k, String(v));
      }
    }
    for (let attempt = 0; attempt < 5; attempt++) {
      const headers = { Accept: "application/json" };
      const key = sessionStorage.getItem(KEY_STORE);
      if (key) headers["X-API-Key"] = key;
      const res = await fetch(url.pathname + url.search, { headers: headers, cache: "no-store" });
      if (res.status === 401 && TR.auth === "key") {
        sessionStorage.removeItem(KEY_STORE);
        await showLogin(key ? "That key was not accepted." : "This dashboard needs your account's API key.");
        continue;
      }
      let data = null;
      try {
        data = await res.json();
      } catch (e) {
        data = null;
      }
      if (!res.ok) {
        const msg = data && data.error ? data.error.message : data && data.detail ? JSON.stringify(data.detail) : res.statusText;
        throw new ApiError(res.status, msg);
      }
      return data;
    }
    throw new ApiError(401, "not signed in");
  }
  TR.api = api;
  TR.signOut = function () {
    sessionStorage.removeItem(KEY_STORE);
    window.location.reload();
  };
  if (TR.auth === "key" && sessionStorage.getItem(KEY_STORE)) {
    const header = document.querySelector("header.top");
    if (header) {
      const btn = document.createElement("button");
      btn.id = "sign-out";
      btn.type = "button";
      btn.textContent = "Sign out";
      btn.addEventListener("click", TR.signOut);
      header.appendChild(btn);
    }
  }

  // ------------------------------------------------------------------ polling (paused in hidden tabs)
  // fn is awaited; the next call is scheduled refreshMs after the previous one ended. While the tab is
  // hidden nothing is fetched; when it becomes visible again, one poll runs at once.
  TR.poll = function (fn, intervalMs) {
    const ms = intervalMs || TR.refreshMs;
    let timer = null;
    let running = false;
    let stopped = false;
    async function tick() {
      timer = null;
      if (stopped || running) return;
      if (document.visibilityState === "hidden") return; // resumed by visibilitychange
      running = true;
      try {
        await fn();
      } catch (e) {
        TR.showError(e);
      } finally {
        running = false;
        if (!stopped) timer = setTimeout(tick, ms);
      }
    }
    document.addEventListener("visibilitychange", () => {
      if (document.visibilityState === "visible" && !timer && !running && !stopped) tick();
      if (document.visibilityState === "hidden" && timer) {
        clearTimeout(timer);
        timer = null;
      }
    });
    timer = setTimeout(tick, ms);
    TR.state.polls = (TR.state.polls || 0) + 1;
    return { stop: () => { stopped = true; if (timer) clearTimeout(timer); }, now: tick };
  };

  // ------------------------------------------------------------------ messages
  TR.showError = function (e) {
    const box = document.getElementById("error");
    if (!box) return;
    box.hidden = false;
    box.textContent = e instanceof ApiError ? "Error " + e.status + ": " + e.message : String(e && e.message ? e.message : e);
  };
  TR.clearError = function () {
    const box = document.getElementById("error");
    if (box) box.hidden = true;
  };
  TR.markReady = function () {
    TR.ready = true;
    body.dataset.ready = "1";
    if (window.performance && performance.mark) performance.mark("tr-ready");
  };

  // ------------------------------------------------------------------ formatting
  TR.esc = function (s) {
    return String(s === null || s === undefined ? "" : s).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));
  };
  TR.num = function (v, digits) {
    if (v === null || v === undefined || !Number.isFinite(v)) return "—";
    return v.toLocaleString("en-US", { minimumFractionDigits: digits === undefined ? 2 : digits, maximumFractionDigits: digits === undefined ? 2 : digits });
  };
  TR.pct = function (v, digits) {
    if (v === null || v === undefined || !Number.isFinite(v)) return "—";
    return (v > 0 ? "+" : "") + TR.num(v, digits) + "%";
  };
  TR.signClass = function (v) {
    if (v === null || v === undefined || !Number.isFinite(v) || v === 0) return "";
    return v > 0 ? "pos" : "neg";
  };
  TR.time = function (iso) {
    if (!iso) return "—";
    const d = new Date(iso);
    return d.toISOString().replace("T", " ").slice(0, 19) + " UTC";
  };
  const STATUS_ICON = { running: "●", finished: "✓", failed: "✕", stale: "‖" };
  TR.statusBadge = function (status) {
    const s = TR.esc(status);
    return '<span class="badge status-' + s + '"><span aria-hidden="true">' + (STATUS_ICON[status] || "") + "</span> " + s + "</span>";
  };
  TR.progress = function (p, status) {
    if (!p) return "—";
    const frac = p.fraction;
    const label = TR.num(p.episodes, 0) + " ep · " + TR.num(p.steps, 0) + " steps";
    if (frac === null || frac === undefined) {
      return '<span class="progress-text">' + label + "</span>";
    }
    const pct = Math.round(frac * 1000) / 10;
    return '<div class="progress" role="progressbar" aria-valuemin="0" aria-valuemax="100" aria-valuenow="' + pct +
      '" aria-label="progress"><div class="bar status-bg-' + TR.esc(status) + '" style="width:' + pct + '%"></div></div>' +
      '<span class="progress-text">' + pct + "% · " + label + "</span>";
  };
  // inline SVG sparkline of values (null gaps skipped)
  TR.sparkline = function (values, colour) {
    const w = 120, h = 28;
    const vals = (values || []).filter((v) => v !== null && Number.isFinite(v));
    if (vals.length < 2) return '<svg class="spark" width="' + w + '" height="' + h + '" aria-hidden="true"></svg>';
    let lo = Math.min.apply(null, vals), hi = Math.max.apply(null, vals);
    if (lo === hi) { lo -= 1; hi += 1; }
    const pts = [];
    const n = values.length;
    values.forEach((v, i) => {
      if (v === null || !Number.isFinite(v)) return;
      const x = (i / (n - 1)) * (w - 2) + 1;
      const y = h - 1 - ((v - lo) / (hi - lo)) * (h - 2);
      pts.push(x.toFixed(1) + "," + y.toFixed(1));
    });
    let zero = "";
    if (lo < 0 && hi > 0) {
      const zy = (h - 1 - ((0 - lo) / (hi - lo)) * (h - 2)).toFixed(1);
      zero = '<line x1="0" x2="' + w + '" y1="' + zy + '" y2="' + zy + '" class="spark-zero"/>';
    }
    return '<svg class="spark" width="' + w + '" height="' + h + '" viewBox="0 0 ' + w + " " + h + '" role="img" aria-label="ROI trend">' + zero +
      '<polyline fill="none" stroke="' + (colour || "#0072B2") + '" stroke-width="1.5" points="' + pts.join(" ") + '"/></svg>';
  };
  TR.params = function () {
    return new URLSearchParams(window.location.search);
  };
  TR.pathParts = function () {
    return window.location.pathname.split("/").filter(Boolean).map(decodeURIComponent);
  };

  // ------------------------------------------------------------------ keyboard tables
  // Arrow keys move between rows (focus goes to the row's first link/button/input, or the row itself),
  // Home/End jump to the first/last row.
  TR.keyboardTable = function (table) {
    if (table.dataset.kbd) return;
    table.dataset.kbd = "1";
    table.addEventListener("keydown", (ev) => {
      if (!["ArrowDown", "ArrowUp", "Home", "End"].includes(ev.key)) return;
      const row = ev.target.closest("tbody tr");
      if (!row) return;
      const rows = Array.from(table.tBodies[0].rows);
      let i = rows.indexOf(row);
      if (ev.key === "ArrowDown") i = Math.min(rows.length - 1, i + 1);
      else if (ev.key === "ArrowUp") i = Math.max(0, i - 1);
      else if (ev.key === "Home") i = 0;
      else i = rows.length - 1;
      const target = rows[i].querySelector("a, button, input") || rows[i];
      if (target === rows[i]) rows[i].tabIndex = -1;
      target.focus();
      ev.preventDefault();
    });
  };

  // Re-rendering a table body must not lose the keyboard user's place: remember which row (by its
  // data-id / data-episode) and which of its controls had focus, and focus the same one afterwards.
  TR.keepFocus = function (tbody, render) {
    const active = document.activeElement;
    const row = active && tbody.contains(active) ? active.closest("tr") : null;
    let key = null, index = -1;
    if (row) {
      key = row.dataset.id || row.dataset.episode || null;
      index = Array.from(row.querySelectorAll("a, button, input")).indexOf(active);
    }
    render();
    if (key === null) return;
    const again = Array.from(tbody.rows).find((r) => (r.dataset.id || r.dataset.episode) === key);
    if (!again) return;
    const controls = again.querySelectorAll("a, button, input");
    const target = index >= 0 && controls[index] ? controls[index] : again;
    if (target === again) again.tabIndex = -1;
    target.focus();
  };

  // ------------------------------------------------------------------ charts
  TR.hexAlpha = function (hex, alpha) {
    const a = Math.round(alpha * 255).toString(16).padStart(2, "0");
    return hex.length === 7 ? hex + a : hex;
  };
  TR.chartWidth = function (el) {
    return Math.max(280, Math.floor(el.getBoundingClientRect().width || 600) - 4);
  };
  // keep every chart as wide as its box
  const ro = new ResizeObserver((entries) => {
    for (const ent of entries) {
      const u = ent.target.__uplot;
      if (u) {
        const w = TR.chartWidth(ent.target);
        if (Math.abs(w - u.width) > 2) u.setSize({ width: w, height: u.height });
      }
    }
  });
  TR.mount = function (name, el, opts, data, label) {
    if (TR.charts[name]) TR.charts[name].destroy();
    el.innerHTML = "";
    el.setAttribute("role", "img");
    el.setAttribute("aria-label", label || (name + " chart"));
    opts.width = TR.chartWidth(el);
    const u = new uPlot(opts, data, el);
    el.__uplot = u;
    ro.observe(el);
    TR.charts[name] = u;
    return u;
  };
  TR.xAxisOpts = function (xKind) {
    return { time: xKind === "time" };
  };
  TR.fmtAxis = function (u, vals) {
    return vals.map((v) => (Math.abs(v) >= 1e6 ? (v / 1e6).toFixed(1) + "M" : Math.abs(v) >= 1e3 ? (v / 1e3).toFixed(1) + "k" : String(+v.toFixed(4))));
  };
  // smoothing controls -> function(values)
  TR.smoother = function (method, param) {
    if (method === "ema") return (v) => TRSmoothing.emaDebiased(v, param);
    if (method === "rolling") return (v) => TRSmoothing.rollingMean(v, Math.max(1, Math.round(param)));
    return (v) => Array.from(v);
  };
})();

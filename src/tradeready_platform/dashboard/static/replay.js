// Episode replay (/training/runs/{id}/episodes/{n}): candles with buy/sell markers, equity against
// buy-and-hold and the position over time, from the episode's stored trace. Three charts with a shared
// cursor. Candles and markers are drawn by a small uPlot plugin, which counts what it drew
// (data-candles / data-markers on the chart box) so a test can check one candle per bar and one marker
// per fill.
"use strict";
(function () {
  const TR = window.TR;
  const parts = TR.pathParts(); // training, runs, {id}, episodes, {n}
  const runId = parts[2];
  const episode = parseInt(parts[4], 10);
  const BUY = "#0072B2";
  const SELL = "#D55E00";
  const UP = "#009E73";
  const DOWN = "#D55E00";
  const st = (TR.state.replay = { runId: runId, episode: episode, data: null, symbol: TR.params().get("symbol") || null });

  document.getElementById("ep-no").textContent = String(episode);
  const back = document.getElementById("back-link");
  back.href = "/training/runs/" + encodeURIComponent(runId);

  function candlePlugin(d, el) {
    function draw(u) {
      const ctx = u.ctx;
      const xs = d.time;
      const n = xs.length;
      let candles = 0;
      let markers = 0;
      // candle body width: 70% of the spacing between bars, at least 1 device pixel
      const span = n > 1 ? Math.abs(u.valToPos(xs[1], "x", true) - u.valToPos(xs[0], "x", true)) : 20;
      const bw = Math.max(1, Math.min(24, span * 0.7));
      ctx.save();
      ctx.beginPath();
      ctx.rect(u.bbox.left, u.bbox.top, u.bbox.width, u.bbox.height);
      ctx.clip();
      const [i0, i1] = [u.series[0].idxs ? u.series[0].idxs[0] : 0, u.series[0].idxs ? u.series[0].idxs[1] : n - 1];
      for (let i = i0; i <= i1; i++) {
        const o = d.open[i], h = d.high[i], l = d.low[i], c = d.close[i];
        if (o === null || c === null) continue;
        const x = u.valToPos(xs[i], "x", true);
        const yo = u.valToPos(o, "y", true), yc = u.valToPos(c, "y", true);
        const yh = u.valToPos(h, "y", true), yl = u.valToPos(l, "y", true);
        const up = c >= o;
        ctx.strokeStyle = up ? UP : DOWN;
        ctx.fillStyle = up ? "#ffffff" : DOWN; // hollow = up, filled = down (readable without colour)
        ctx.lineWidth = 1;
        ctx.beginPath();
        ctx.moveTo(Math.round(x) + 0.5, yh);
        ctx.lineTo(Math.round(x) + 0.5, yl);
        ctx.stroke();
        const top = Math.min(yo, yc);
        const hgt = Math.max(1, Math.abs(yc - yo));
        ctx.fillRect(x - bw / 2, top, bw, hgt);
        ctx.strokeRect(x - bw / 2, top, bw, hgt);
        candles++;
      }
      const sz = 7 * (window.devicePixelRatio || 1);
      for (const f of d.fills) {
        if (f.time === null || f.price === null) continue;
        const x = u.valToPos(f.time, "x", true);
        const y = u.valToPos(f.price, "y", true);
        const buy = f.side === "buy";
        ctx.fillStyle = buy ? BUY : SELL;
        ctx.strokeStyle = "#ffffff";
        ctx.beginPath();
        if (buy) { // up triangle below the price
          ctx.moveTo(x, y + 2); ctx.lineTo(x - sz, y + 2 + sz * 1.6); ctx.lineTo(x + sz, y + 2 + sz * 1.6);
        } else { // down triangle above the price
          ctx.moveTo(x, y - 2); ctx.lineTo(x - sz, y - 2 - sz * 1.6); ctx.lineTo(x + sz, y - 2 - sz * 1.6);
        }
        ctx.closePath();
        ctx.fill();
        ctx.stroke();
        markers++;
      }
      ctx.restore();
      el.dataset.candles = String(candles);
      el.dataset.markers = String(markers);
    }
    return { hooks: { draw: draw } };
  }

  function priceRange(d) {
    let lo = Infinity, hi = -Infinity;
    for (let i = 0; i < d.time.length; i++) {
      if (d.low[i] !== null) lo = Math.min(lo, d.low[i]);
      if (d.high[i] !== null) hi = Math.max(hi, d.high[i]);
    }
    for (const f of d.fills) if (f.price !== null) { lo = Math.min(lo, f.price); hi = Math.max(hi, f.price); }
    if (!Number.isFinite(lo)) { lo = 0; hi = 1; }
    const pad = (hi - lo) * 0.08 || Math.abs(hi) * 0.01 || 1;
    return [lo - pad, hi + pad];
  }

  function render(d) {
    back.textContent = d.run_name || runId.slice(0, 8);
    document.title = (d.run_name || runId.slice(0, 8)) + " · episode " + episode + " · tradeready";
    document.getElementById("replay-meta").textContent =
      d.symbol + " · " + d.bars + " bars" + (d.merged ? " (merged into " + d.time.length + " candles)" : "") + " · " + d.fills.length + " fills" +
      " · kept as: " + (d.reasons || "—") + " · candles from " + (d.ohlc_source === "cache" ? "the candle cache" : "decision closes (open = previous close)");
    const sel = document.getElementById("symbol");
    sel.innerHTML = d.symbols.map((s) => '<option value="' + TR.esc(s) + '">' + TR.esc(s) + "</option>").join("");
    sel.value = d.symbol;
    const sync = { key: "replay" };
    const priceEl = document.getElementById("price-chart");
    TR.mount("price", priceEl, {
      height: 320,
      scales: { x: { time: true }, y: { range: () => priceRange(d) } },
      series: [{ label: "time" }, { label: "close", stroke: "rgba(0,0,0,0)", width: 0, points: { show: false } }],
      axes: [{}, { size: 70, values: TR.fmtAxis }],
      cursor: { sync: sync },
      plugins: [candlePlugin(d, priceEl)],
    }, [d.time, d.close]);
    TR.mount("equity", document.getElementById("equity-chart"), {
      height: 220,
      scales: { x: { time: true } },
      series: [
        { label: "time" },
        { label: "agent equity", stroke: "#0072B2", width: 2, points: { show: false } },
        { label: "buy-and-hold", stroke: "#E69F00", width: 2, dash: [6, 4], points: { show: false } },
      ],
      axes: [{}, { size: 70, values: TR.fmtAxis }],
      cursor: { sync: sync },
    }, [d.time, d.equity, d.buy_hold]);
    TR.mount("position", document.getElementById("position-chart"), {
      height: 160,
      scales: { x: { time: true } },
      series: [{ label: "time" }, { label: "position", stroke: "#009E73", fill: "rgba(0,158,115,0.15)", width: 1.5, paths: uPlot.paths.stepped({ align: 1 }), points: { show: false } }],
      axes: [{}, { size: 70, values: TR.fmtAxis }],
      cursor: { sync: sync },
    }, [d.time, d.position]);
    const tb = document.querySelector("#fills-table tbody");
    tb.innerHTML = d.fills.length ? d.fills.map((f) =>
      "<tr><td>" + TR.esc(typeof f.fill_time === "string" ? f.fill_time : TR.time(new Date(f.time * 1000).toISOString())) + "</td><td>" +
      (f.side === "buy" ? '<span style="color:' + BUY + '">▲ buy</span>' : '<span style="color:' + SELL + '">▼ sell</span>') +
      '</td><td class="num">' + TR.num(f.price, 4) + '</td><td class="num">' + TR.num(f.quantity, 6) + '</td><td class="num">' + TR.num(f.fee, 4) + "</td></tr>").join("")
      : '<tr><td colspan="5" class="muted">No trades in this episode.</td></tr>';
    TR.keyboardTable(document.getElementById("fills-table"));
  }

  async function load() {
    const d = await TR.api("/runs/" + encodeURIComponent(runId) + "/episodes/" + episode + "/replay", { symbol: st.symbol });
    st.data = d;
    render(d);
  }
  document.getElementById("symbol").addEventListener("change", (ev) => {
    st.symbol = ev.target.value;
    const u = new URL(window.location.href);
    u.searchParams.set("symbol", st.symbol);
    history.replaceState(null, "", u);
    load().catch(TR.showError);
  });
  load().then(TR.markReady).catch(TR.showError);
})();

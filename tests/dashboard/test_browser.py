"""The dashboard pages in a real headless Chromium, against real uvicorn on 127.0.0.1 over a real store.

Each page must load with no console error and no request leaving 127.0.0.1; what the charts draw must
be what the API returned (and the smoothing must equal the Python smoother's); compare colours must be
stable; the replay must draw one candle per bar and one marker per fill; a new episode must appear
within one refresh interval, and polling must pause in a hidden tab.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tradeready_platform.dashboard.downsample import MAX_POINTS
from tradeready_platform.dashboard.smoothing import ema_debiased, rolling_mean

from .browser import launch, screenshot, watch
from .golden import EMA_06, ROLL_2, ROLL_3, ROLL_3_IN, VALUES
from .seeding import beat, episode_rows

API = "/api/v1/dashboard"
REFRESH_S = 0.5  # the local_url fixture's poll interval
FITS = "() => document.documentElement.scrollWidth <= window.innerWidth + 1"  # nothing wider than the window
WAIT_MS = 30_000  # generous bound of every wait for something the page must do (a loaded machine is slow)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = launch(p)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture
def ctx(browser: Any) -> Iterator[tuple[Any, Any]]:
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    w = watch(context)
    try:
        yield context, w
    finally:
        context.close()
    w.check()


def api(url: str, path: str, **params: Any) -> Any:
    r = httpx.get(url + API + path, params=params, timeout=30)
    r.raise_for_status()
    return r.json()


def open_page(context: Any, url: str) -> Any:
    page = context.new_page()
    page.goto(url)
    page.wait_for_selector("body[data-ready='1']", timeout=30_000)
    return page


def _same(a: list[Any], b: list[Any]) -> None:
    assert len(a) == len(b)
    for x, y in zip(a, b, strict=True):
        if y is None:
            assert x is None
        else:
            assert x == pytest.approx(y, rel=1e-12, abs=1e-12)


def test_run_list(ctx, local_url, seeded):
    context, _w = ctx
    beat(seeded["path"], seeded["ids"]["live"])  # stays "running" between the page's and the test's request
    page = open_page(context, local_url + "/training")
    data = api(local_url, "/runs")
    rows = page.locator("#runs-table tbody tr")
    assert rows.count() == len(data["runs"])
    for r in data["runs"]:
        row = page.locator(f'#runs-table tbody tr[data-id="{r["id"]}"]')
        assert row.locator(".badge").inner_text().strip().endswith(r["status"])
        if r["best_roi_pct"] is not None:
            assert f"{r['best_roi_pct']:+.2f}%" in row.inner_text()
        points = row.locator("svg.spark polyline").get_attribute("points") if r["sparkline"] else None
        if points:
            assert len(points.split()) == len(r["sparkline"])
    assert page.locator(f'tr[data-id="{seeded["ids"]["stale"]}"] .badge').inner_text().strip().endswith("stale")
    screenshot(page, "runs-1280x800")
    # label filter
    page.select_option("#label-filter", "a2c")
    assert page.locator("#runs-table tbody tr").count() == 1
    assert "a2c-failed" in page.locator("#runs-table tbody").inner_text()
    page.select_option("#label-filter", "")
    # keyboard: arrow keys move between rows, Enter on the name link opens the run
    first = page.locator("#runs-table tbody tr").first
    first.locator("a").focus()
    page.keyboard.press("ArrowDown")
    second_id = page.locator("#runs-table tbody tr").nth(1).get_attribute("data-id")
    focused_row = page.evaluate("document.activeElement.closest('tr').dataset.id")
    assert focused_row == second_id
    page.keyboard.press("Space")  # the row's first control is its compare checkbox
    assert page.locator("#compare-btn").inner_text() == "Compare selected (1)"
    # narrow window: nothing wider than the viewport but the scrolling table box
    page.set_viewport_size({"width": 420, "height": 900})
    page.wait_for_function(FITS, timeout=WAIT_MS)
    screenshot(page, "runs-420x900")


def test_run_page_charts_equal_api_and_python_smoothing(ctx, local_url, seeded):
    context, _w = ctx
    rid = seeded["ids"]["big"]
    page = open_page(context, f"{local_url}/training/runs/{rid}")
    curves = api(local_url, f"/runs/{rid}/curves", metrics="roi_pct,sharpe,reward_sum,max_drawdown_pct,scalar:train/loss",
                 x="episode")
    for metric in ("roi_pct", "sharpe", "reward_sum", "max_drawdown_pct", "scalar:train/loss"):
        x, raw, smooth = page.evaluate(f"TR.charts[{metric!r}].data")
        s = curves["series"][metric]
        assert len(x) <= MAX_POINTS
        _same(x, s["x"])
        _same(raw, s["y"])
        _same(smooth, ema_debiased(s["y"], 0.6))
    # the page's smoother equals the hand-computed golden numbers
    _same(page.evaluate(f"TRSmoothing.emaDebiased({json.dumps(VALUES)}, 0.6)"), EMA_06)
    _same(page.evaluate(f"TRSmoothing.rollingMean({json.dumps(VALUES)}, 2)"), ROLL_2)
    _same(page.evaluate(f"TRSmoothing.rollingMean({json.dumps(ROLL_3_IN)}, 3)"), ROLL_3)
    # cards
    assert page.locator('[data-card="Episodes"]').inner_text() == "3,000"
    screenshot(page, "run-1280x800")
    # rolling mean, window 10
    page.select_option("#smooth-method", "rolling")
    page.fill("#smooth-param", "10")
    page.locator("#smooth-param").dispatch_event("change")
    _, raw, smooth = page.evaluate("TR.charts['roi_pct'].data")
    _same(smooth, rolling_mean(curves["series"]["roi_pct"]["y"], 10))
    # x by step
    page.select_option("#x-axis", "step")
    page.wait_for_function("() => TR.charts['roi_pct'] && TR.charts['roi_pct'].data[0][0] === 500")
    step = api(local_url, f"/runs/{rid}/curves", metrics="roi_pct", x="step")["series"]["roi_pct"]
    x, raw, _ = page.evaluate("TR.charts['roi_pct'].data")
    _same(x, step["x"])
    _same(raw, step["y"])
    # episode table: 50 rows, newest first; search; sort by ROI from the keyboard
    assert page.locator("#ep-table tbody tr").count() == 50
    assert page.locator("#ep-table tbody tr").first.get_attribute("data-episode") == "3000"
    page.fill("#ep-search", "1234")
    page.wait_for_function("() => document.querySelector('#ep-table tbody tr[data-episode=\"1234\"]') !== null")
    page.fill("#ep-search", "")
    page.wait_for_function("() => document.querySelectorAll('#ep-table tbody tr').length === 50")
    page.locator('#ep-table th[data-key="roi_pct"] button').focus()
    page.keyboard.press("Enter")
    best = max(e["roi_pct"] for e in episode_rows(3000, 1))
    page.wait_for_function("() => document.querySelector('#ep-table th[data-key=\"roi_pct\"]').getAttribute('aria-sort') === 'descending'")
    # (the rows are fetched after the header changes: wait for them rather than read at once)
    page.wait_for_function(
        f"() => document.querySelector('#ep-table tbody tr').querySelectorAll('td')[5].innerText.trim() === {f'{best:+.2f}%'!r}",
        timeout=WAIT_MS,
    )
    page.set_viewport_size({"width": 420, "height": 900})
    page.wait_for_function(FITS, timeout=WAIT_MS)
    screenshot(page, "run-420x900")


def test_compare_colours_are_stable(ctx, local_url, seeded):
    context, _w = ctx
    ids = [seeded["ids"][k] for k in ("big", "live", "failed")]
    data = api(local_url, "/compare", ids=",".join(ids))
    want = {r["id"]: r["colour"] for r in data["runs"]}
    seen = []
    for order in (ids, list(reversed(ids))):
        page = open_page(context, f"{local_url}/training/compare?ids={','.join(order)}")
        colours = {row.get_attribute("data-id"): row.get_attribute("data-colour")
                   for row in page.locator("#compare-table tbody tr").all()}
        strokes = page.evaluate(
            "(() => { const u = TR.charts.compare; return u.series.slice(1).map((s, i) => [s.label, s.stroke(u, i + 1)]); })()")
        by_label = dict(strokes)
        for r in data["runs"]:
            assert by_label[r["name"]].lower() == want[r["id"]].lower()
        # each run's raw+smoothed data equals the API's series
        chart = page.evaluate("TR.charts.compare.data")
        api_runs = api(local_url, "/compare", ids=",".join(order))["runs"]
        for i, r in enumerate(api_runs):
            xs = chart[0]
            raw = chart[1 + 2 * i]
            got = [(x, y) for x, y in zip(xs, raw, strict=True) if y is not None]
            assert [g[0] for g in got] == r["series"]["x"]
        seen.append(colours)
        screenshot(page, "compare-1280x800")
        page.set_viewport_size({"width": 420, "height": 900})
        page.wait_for_function(FITS, timeout=WAIT_MS)
        screenshot(page, "compare-420x900")
        page.close()
    assert seen[0] == seen[1] == want
    assert len(set(want.values())) == 3


def test_replay_one_candle_per_bar_one_marker_per_fill(ctx, local_url, seeded):
    context, _w = ctx
    rid = seeded["ids"]["big"]
    page = open_page(context, f"{local_url}/training/runs/{rid}/episodes/5")
    r = api(local_url, f"/runs/{rid}/episodes/5/replay")
    box = page.locator("#price-chart")
    assert int(box.get_attribute("data-candles")) == r["bars"] == len(r["time"]) == 201
    assert int(box.get_attribute("data-markers")) == len(r["fills"]) == len(seeded["trace"]["fills"])
    t, eq, bh = page.evaluate("TR.charts.equity.data")
    _same(t, r["time"])
    _same(eq, r["equity"])
    _same(bh, r["buy_hold"])
    _same(page.evaluate("TR.charts.position.data[1]"), r["position"])
    assert page.locator("#fills-table tbody tr").count() == len(r["fills"])
    screenshot(page, "replay-1280x800")
    page.set_viewport_size({"width": 420, "height": 900})
    page.wait_for_function(FITS, timeout=WAIT_MS)
    assert int(box.get_attribute("data-candles")) == r["bars"]
    screenshot(page, "replay-420x900")


# Counts the run page's /updates polls in the page itself: each poll's start records the last episode the
# ROI chart shows at that moment. Polls run one after another (the next starts an interval after the
# previous one was processed), so this needs no wall-clock assumption.
# ``__inflight`` counts unanswered API calls: 0, seen from a later task, means no poll is being processed
# (a poll's API calls follow each other with only microtasks in between).
_COUNT_POLLS = """() => {
    window.__polls = [];
    window.__inflight = 0;
    const api = TR.api;
    TR.api = function (path) {
        if (String(path).endsWith('/updates')) {
            const xs = TR.charts.roi_pct.data[0];
            window.__polls.push(xs.length ? xs[xs.length - 1] : null);
        }
        window.__inflight += 1;
        return api.apply(this, arguments).finally(() => { window.__inflight -= 1; });
    };
}"""


def test_live_episode_appears_within_one_refresh_and_polling_pauses_when_hidden(ctx, local_url, seeded):
    from tradeready_gym.tracking.store import Store

    context, _w = ctx
    rid = seeded["ids"]["live"]
    page = open_page(context, f"{local_url}/training/runs/{rid}")
    page.evaluate(_COUNT_POLLS)
    cursor = page.evaluate("TR.state.run.cursor")
    new_ep = cursor + 1
    row = episode_rows(1, 99, start=new_ep)[0]
    store = Store(seeded["path"])
    try:
        store.record_episodes(rid, [row], total_steps=row["global_step"])
        n0 = page.evaluate("window.__polls.length")  # polls from here on started after the write
        # within one refresh interval: the first poll after the write brings the episode, so when the
        # second one starts the chart already ends with it
        page.wait_for_function(f"() => window.__polls.length >= {n0 + 2}", timeout=WAIT_MS, polling=20)
        assert page.evaluate(f"window.__polls[{n0 + 1}]") == new_ep
        _x, raw, _ = page.evaluate("TR.charts.roi_pct.data")
        assert _x[-1] == new_ep and raw[-1] == pytest.approx(row["roi_pct"])
        page.wait_for_selector(f'#ep-table tbody tr[data-episode="{new_ep}"]', timeout=WAIT_MS)
        # hidden tab: no poll starts; visible again: one poll at once
        n_hidden = page.evaluate("""() => {
            window.__vis = 'hidden';
            Object.defineProperty(document, 'visibilityState', {configurable: true, get: () => window.__vis});
            document.dispatchEvent(new Event('visibilitychange'));
            return window.__polls.length;
        }""")
        row2 = episode_rows(1, 98, start=new_ep + 1)[0]
        store.record_episodes(rid, [row2], total_steps=row2["global_step"])
        page.wait_for_timeout(int(REFRESH_S * 1000 * 4))  # a window with no poll (a slow machine only tests less)
        assert page.evaluate("window.__polls.length") == n_hidden, "polled while hidden"
        assert page.evaluate("TR.state.run.cursor") == new_ep
        page.wait_for_function("() => window.__inflight === 0", timeout=WAIT_MS)  # no poll still running
        # the poll on becoming visible starts at once (synchronously in the visibilitychange handler)
        assert page.evaluate("""() => {
            window.__vis = 'visible';
            document.dispatchEvent(new Event('visibilitychange'));
            return window.__polls.length;
        }""") == n_hidden + 1
        page.wait_for_function(f"() => TR.state.run.cursor === {new_ep + 1}", timeout=WAIT_MS)
    finally:
        store.close()
    screenshot(page, "run-live-1280x800")


def test_empty_run_and_single_run_compare_render_without_errors(ctx, local_url, seeded):
    context, _w = ctx
    rid = seeded["ids"]["empty"]
    page = open_page(context, f"{local_url}/training/runs/{rid}")
    assert page.locator('[data-card="Episodes"]').inner_text() == "0"
    assert page.evaluate("TR.charts.roi_pct.data[0].length") == 0
    assert "No episodes" in page.locator("#ep-table tbody").inner_text()
    page.close()
    page = open_page(context, f"{local_url}/training/compare?ids={rid}")
    assert page.locator("#compare-table tbody tr").count() == 1


def test_run_list_progress_is_live(ctx, local_url, seeded):
    from tradeready_gym.tracking.store import Store

    context, _w = ctx
    rid = seeded["ids"]["live"]
    page = open_page(context, local_url + "/training")
    focus_id = seeded["ids"]["failed"]
    page.locator(f'tr[data-id="{focus_id}"] a').focus()
    before = api(local_url, f"/runs/{rid}")["cards"]["episodes"]
    rows = episode_rows(5, 97, start=before + 1)
    store = Store(seeded["path"])
    try:
        store.record_episodes(rid, rows, total_steps=rows[-1]["global_step"])
    finally:
        store.close()
    want = f"{before + 5:,} ep"
    page.wait_for_function(
        f"() => document.querySelector('tr[data-id=\"{rid}\"]').innerText.includes({want!r})",
        timeout=WAIT_MS, polling=20,
    )
    # the re-rendered table keeps the keyboard user's place
    assert page.evaluate("document.activeElement.tagName") == "A"
    assert page.evaluate("document.activeElement.closest('tr').dataset.id") == focus_id

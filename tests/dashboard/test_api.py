"""The dashboard's JSON API over a real seeded store, through a real uvicorn server on 127.0.0.1."""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import httpx
import numpy as np
import pytest

from tradeready_platform.dashboard.downsample import MAX_POINTS
from tradeready_platform.dashboard.service import PALETTE, colour_of, run_colours

from .seeding import beat, episode_rows

API = "/api/v1/dashboard"


def get(url: str, path: str, **params: Any) -> Any:
    r = httpx.get(url + API + path, params=params, timeout=30)
    assert r.status_code == 200, r.text
    return r.json()


def _mean(vals):
    vals = [v for v in vals if v is not None]
    return sum(vals) / len(vals)


def _beat(seeded, name):
    beat(seeded["path"], seeded["ids"][name])


def test_runs_list_status_progress_and_aggregates(local_url, seeded):
    _beat(seeded, "live")
    data = get(local_url, "/runs")
    rows = {r["id"]: r for r in data["runs"]}
    ids = seeded["ids"]
    assert set(ids.values()) <= set(rows)
    assert rows[ids["big"]]["status"] == "finished"
    assert rows[ids["live"]]["status"] == "running"
    assert rows[ids["failed"]]["status"] == "failed"
    assert rows[ids["stale"]]["status"] == "stale" and rows[ids["stale"]]["stored_status"] == "running"
    # aggregates equal a direct computation over the seeded rows
    eps = episode_rows(80, 3)
    r = rows[ids["failed"]]
    assert r["episodes"] == 80
    assert r["best_roi_pct"] == pytest.approx(max(e["roi_pct"] for e in eps))
    assert r["avg_roi_pct"] == pytest.approx(_mean([e["roi_pct"] for e in eps]))
    assert r["avg_sharpe"] == pytest.approx(_mean([e["sharpe"] for e in eps]))
    assert r["avg_excess_roi_pct"] == pytest.approx(_mean([e["roi_pct"] - e["buy_hold_roi_pct"] for e in eps]))
    assert r["beat_buy_hold_frac"] == pytest.approx(sum(e["roi_pct"] > e["buy_hold_roi_pct"] for e in eps) / 80)
    assert r["progress"]["episodes"] == 80 and r["progress"]["steps"] == 80 * 500
    # sparkline: 40 bucket means of ROI in episode order
    big = rows[ids["big"]]
    assert len(big["sparkline"]) == 40
    eps_big = episode_rows(3000, 1)
    assert big["sparkline"][0] == pytest.approx(_mean([e["roi_pct"] for e in eps_big[:75]]))
    assert big["sparkline"][-1] == pytest.approx(_mean([e["roi_pct"] for e in eps_big[-75:]]))
    empty = rows[ids["empty"]]
    assert empty["episodes"] == 0 and empty["sparkline"] == [] and empty["avg_roi_pct"] is None
    assert big["colour"] == colour_of(ids["big"]) and big["colour"] in PALETTE


def test_label_filter_and_labels(local_url, seeded):
    data = get(local_url, "/runs", label="a2c")
    assert [r["id"] for r in data["runs"]] == [seeded["ids"]["failed"]]
    assert {"a2c", "dqn", "ppo-basic"} <= set(data["labels"])


def test_since_cursor_returns_only_changed_runs(local_url, seeded):
    # the seeded finished/failed runs ended at fixed times long ago (seeding.seed_run), so no wall-clock
    # gap between seeding and this test is needed for them to be outside the cursor
    cursor = get(local_url, "/runs")["cursor"]
    rid = seeded["ids"]["live"]  # (not the stale run: other tests need it stale)
    _beat(seeded, "live")
    data = get(local_url, "/runs", since=cursor)
    got = {r["id"] for r in data["runs"]}
    assert rid in got
    assert seeded["ids"]["failed"] not in got
    assert data["cursor"] >= cursor


def test_run_detail_cards_best_worst(local_url, seeded):
    rid = seeded["ids"]["big"]
    d = get(local_url, f"/runs/{rid}")
    eps = episode_rows(3000, 1)
    rois = [e["roi_pct"] for e in eps]
    assert d["cards"]["episodes"] == 3000
    assert d["cards"]["best_roi_pct"] == pytest.approx(max(rois))
    assert d["cards"]["avg_roi_pct"] == pytest.approx(_mean(rois))
    assert d["cards"]["avg_roi_pct_last_100"] == pytest.approx(_mean(rois[-100:]))
    assert d["cards"]["worst_drawdown_pct"] == pytest.approx(max(e["max_drawdown_pct"] for e in eps))
    assert [e["roi_pct"] for e in d["best_episodes"]] == pytest.approx(sorted(rois, reverse=True)[:5])
    assert [e["roi_pct"] for e in d["worst_episodes"]] == pytest.approx(sorted(rois)[:5])
    assert d["traced_episodes"] == [5, 7]
    keys = [m["key"] for m in d["metrics"]]
    assert {"roi_pct", "sharpe", "reward_sum", "max_drawdown_pct"} <= set(keys)
    assert {"scalar:train/loss", "scalar:train/entropy_loss"} <= set(keys)
    assert d["cursor"] == 3000


def test_curves_downsampled_last_point_kept_and_axes(local_url, seeded):
    rid = seeded["ids"]["big"]
    eps = episode_rows(3000, 1)
    c = get(local_url, f"/runs/{rid}/curves", metrics="roi_pct,sharpe,scalar:train/loss", x="episode")
    roi = c["series"]["roi_pct"]
    assert roi["n"] == 3000 and len(roi["x"]) == len(roi["y"]) == MAX_POINTS
    assert roi["x"][0] == 1 and roi["x"][-1] == 3000
    assert roi["y"][-1] == pytest.approx(eps[-1]["roi_pct"])
    by_ep = {e["episode"]: e for e in eps}
    for xv, yv in zip(roi["x"][::97], roi["y"][::97], strict=True):
        assert yv == pytest.approx(by_ep[int(xv)]["roi_pct"])
    sh = c["series"]["sharpe"]
    assert len(sh["x"]) == MAX_POINTS and all(v is not None for v in sh["y"])
    loss = c["series"]["scalar:train/loss"]
    assert loss["n"] == 60 and loss["x"][0] == 2048 and loss["x_kind"] == "step"
    # x by step and by time
    s = get(local_url, f"/runs/{rid}/curves", metrics="roi_pct", x="step", max_points=100)["series"]["roi_pct"]
    assert len(s["x"]) == 100 and s["x"][-1] == eps[-1]["global_step"]
    t = get(local_url, f"/runs/{rid}/curves", metrics="roi_pct", x="time")["series"]["roi_pct"]
    assert t["x"][-1] == pytest.approx(eps[-1]["finished_at"].timestamp())


def test_updates_after_cursor(local_url, seeded):
    rid = seeded["ids"]["big"]
    u = get(local_url, f"/runs/{rid}/updates", after=2990)
    assert [e["episode"] for e in u["episodes"]] == list(range(2991, 3001))
    assert u["cursor"] == 3000 and u["more"] is False and u["run"]["status"] == "finished"
    u = get(local_url, f"/runs/{rid}/updates", after=100, limit=50)
    assert len(u["episodes"]) == 50 and u["more"] is True and u["cursor"] == 150
    assert get(local_url, f"/runs/{rid}/updates", after=3000)["episodes"] == []


def test_episode_table_paging_sorting_search(local_url, seeded):
    rid = seeded["ids"]["big"]
    p = get(local_url, f"/runs/{rid}/episodes", page=2, page_size=25)
    assert p["total"] == 3000 and p["pages"] == 120 and len(p["rows"]) == 25
    assert [r["episode"] for r in p["rows"]] == list(range(2975, 2950, -1))
    s = get(local_url, f"/runs/{rid}/episodes", sort="roi_pct", order="desc", page_size=3)
    rois = sorted((e["roi_pct"] for e in episode_rows(3000, 1)), reverse=True)
    assert [r["roi_pct"] for r in s["rows"]] == pytest.approx(rois[:3])
    q = get(local_url, f"/runs/{rid}/episodes", q="1234")
    assert 1234 in [r["episode"] for r in q["rows"]]
    q = get(local_url, f"/runs/{rid}/episodes", q="2024-03-05", page_size=500)
    assert q["total"] > 0 and all("2024-03-05" in r["data_start"] or "2024-03-05" in r["data_end"] for r in q["rows"])
    q = get(local_url, f"/runs/{rid}/episodes", q="env:2", page_size=500)
    assert q["total"] == 750 and {r["env_index"] for r in q["rows"]} == {2}
    traced = get(local_url, f"/runs/{rid}/episodes", q="5", sort="episode", order="asc")
    assert any(r["episode"] == 5 and r["has_trace"] for r in traced["rows"])


def test_compare_colours_stable_and_distinct(local_url, seeded):
    ids = seeded["ids"]
    a = [ids["big"], ids["live"], ids["failed"], ids["stale"]]
    c1 = get(local_url, "/compare", ids=",".join(a))
    c2 = get(local_url, "/compare", ids=",".join(reversed(a)))
    col1 = {r["id"]: r["colour"] for r in c1["runs"]}
    col2 = {r["id"]: r["colour"] for r in c2["runs"]}
    assert col1 == col2 == run_colours(a)
    assert len(set(col1.values())) == 4 and set(col1.values()) <= set(PALETTE)
    for r in c1["runs"]:
        assert len(r["series"]["x"]) <= MAX_POINTS
    assert [r["id"] for r in c1["runs"]] == a


def test_run_colours_depend_only_on_the_set():
    ids = [f"run-{i}" for i in range(12)]
    c = run_colours(ids)
    assert c == run_colours(list(reversed(ids)))
    assert len(set(list(c.values())[: len(PALETTE)])) == len(PALETTE)
    assert len(set(c.values())) == 12
    one = run_colours(["solo"])
    assert one == {"solo": colour_of("solo")}


def test_replay_candles_from_real_cache_and_fills(local_url, seeded, btc_1h):
    rid = seeded["ids"]["big"]
    r = get(local_url, f"/runs/{rid}/episodes/5/replay")
    tr = seeded["trace"]
    assert r["bars"] == 201 and len(r["time"]) == 201 and not r["merged"]
    assert r["ohlc_source"] == "cache"
    assert r["close"] == pytest.approx(tr["closes"][:, 0].tolist())
    # the candles are the real bars that close at the decision times
    i0 = int(np.searchsorted(btc_1h.close_time, tr["times"][0]))
    assert r["open"] == pytest.approx(btc_1h.open[i0 : i0 + 201, 0].tolist())
    assert r["high"] == pytest.approx(btc_1h.high[i0 : i0 + 201, 0].tolist())
    assert r["low"] == pytest.approx(btc_1h.low[i0 : i0 + 201, 0].tolist())
    assert len(r["fills"]) == len(tr["fills"]) > 0
    # each fill sits on the candle it executed in: the bar after its decision, opening at the fill price
    for f in r["fills"]:
        k = r["time"].index(f["time"])
        assert r["time"][k - 1] == pytest.approx(dt.datetime.fromisoformat(f["fill_time"]).timestamp())
        assert r["open"][k] == pytest.approx(f["price"])
        assert r["position"][k] != r["position"][k - 1]
    assert r["equity"] == pytest.approx(tr["equity"].tolist())
    assert r["buy_hold"][0] == pytest.approx(tr["equity"][0])
    assert r["buy_hold"][-1] == pytest.approx(tr["equity"][0] * tr["closes"][-1, 0] / tr["closes"][0, 0])
    assert r["position"] == pytest.approx(tr["position"][:, 0].tolist())


def test_long_replay_is_merged_to_the_cap(local_url, seeded):
    rid = seeded["ids"]["big"]
    r = get(local_url, f"/runs/{rid}/episodes/7/replay")
    tr = seeded["long_trace"]
    assert r["bars"] == 2601 and r["merged"] and len(r["time"]) == MAX_POINTS
    assert r["close"][-1] == pytest.approx(tr["closes"][-1, 0])
    assert max(r["high"]) == pytest.approx(max(r["high"]))
    assert len(r["fills"]) == len(tr["fills"])
    assert all(f["time"] in set(r["time"]) for f in r["fills"])


@pytest.mark.parametrize(
    ("path", "params", "status", "needle"),
    [
        ("/runs/no-such-run", {}, 404, "no-such-run"),
        ("/runs/{big}/curves", {"metrics": "alpha"}, 400, "metric='alpha'"),
        ("/runs/{big}/curves", {"x": "bars"}, 400, "x='bars'"),
        ("/runs/{big}/curves", {"max_points": 5000}, 400, "max_points=5000"),
        ("/runs/{big}/episodes", {"sort": "colour"}, 400, "sort='colour'"),
        ("/runs/{big}/episodes", {"page_size": 0}, 400, "page_size=0"),
        ("/runs/{big}/episodes/6/replay", {}, 404, "episode=6"),
        ("/runs/{big}/episodes/5/replay", {"symbol": "DOGEUSDT"}, 400, "symbol='DOGEUSDT'"),
        ("/compare", {"ids": ""}, 400, "ids"),
        ("/compare", {"ids": "{big},nope"}, 404, "nope"),
        ("/runs", {"since": "yesterday"}, 400, "since='yesterday'"),
    ],
)
def test_bad_input_answers_the_envelope(local_url, seeded, path, params, status, needle):
    big = seeded["ids"]["big"]
    params = {k: v.replace("{big}", big) if isinstance(v, str) else v for k, v in params.items()}
    r = httpx.get(local_url + API + path.replace("{big}", big), params=params, timeout=30)
    assert r.status_code == status, r.text
    err = r.json()["error"]
    assert needle in err["message"]
    assert err["code"] == ("NOT_FOUND" if status == 404 else "VALIDATION_ERROR")


def test_local_app_refuses_a_foreign_host_header(local_url):
    r = httpx.get(local_url + API + "/runs", headers={"Host": "evil.example"}, timeout=10)
    assert r.status_code == 403
    assert r.json()["error"]["code"] == "PERMISSION_DENIED"
    assert httpx.get(local_url + API + "/runs", headers={"Host": "localhost"}, timeout=10).status_code == 200


def test_pages_and_static_files(local_url, seeded):
    rid = seeded["ids"]["big"]
    for path in ("/training", f"/training/runs/{rid}", f"/training/compare?ids={rid}",
                 f"/training/runs/{rid}/episodes/5"):
        r = httpx.get(local_url + path, timeout=10)
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
        assert "default-src 'self'" in r.headers["content-security-policy"]
        assert 'data-auth="none"' in r.text and "{{" not in r.text
    js = httpx.get(local_url + "/training/static/vendor/uplot/uPlot.iife.min.js", timeout=10)
    assert js.status_code == 200 and js.headers["content-type"].startswith("text/javascript")
    assert httpx.get(local_url + "/training/static/../router.py", timeout=10).status_code == 404
    assert httpx.get(local_url + "/training/static/%2e%2e/router.py", timeout=10).status_code == 404
    assert httpx.get(local_url + "/", timeout=10, follow_redirects=False).headers["location"] == "/training"


def test_curves_are_json_safe_with_missing_values(local_url, seeded):
    rid = seeded["ids"]["big"]
    c = get(local_url, f"/runs/{rid}/curves", metrics="sharpe", x="episode", max_points=2000)
    assert all(v is None or math.isfinite(v) for v in c["series"]["sharpe"]["y"])


def test_scalar_wildcard_expands_to_the_runs_scalars(local_url, seeded):
    rid = seeded["ids"]["big"]
    c = get(local_url, f"/runs/{rid}/curves", metrics="roi_pct,scalar:*")
    assert set(c["series"]) == {"roi_pct", "scalar:train/entropy_loss", "scalar:train/loss"}
    r = httpx.get(local_url + API + "/compare", params={"ids": rid, "metric": "scalar:*"}, timeout=30)
    assert r.status_code == 400 and "metric='scalar:*'" in r.json()["error"]["message"]


def test_static_files_are_revalidated_by_etag(local_url):
    url = local_url + "/training/static/run.js"
    first = httpx.get(url, timeout=10)
    assert first.status_code == 200 and first.headers["cache-control"] == "no-cache"
    etag = first.headers["etag"]
    again = httpx.get(url, headers={"If-None-Match": etag}, timeout=10)
    assert again.status_code == 304 and again.content == b""
    assert httpx.get(local_url + "/training/static/nope.js", timeout=10).status_code == 404

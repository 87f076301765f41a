"""Training runs (§2.3 plus list, get, learning curve, compare) and market data."""

from __future__ import annotations

import uuid

import pytest
from platform_support import LiveServer

pytest_plugins = ["platform_support"]


def _run(api, **extra) -> str:
    rid = str(uuid.uuid4())
    r = api.post("/api/v1/training/runs", json={"run_id": rid, "config": {"strategy_label": "ppo", "api_key": "x"},
                                                **extra})
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["run_id"] == rid and body["status"] == "running" and body["episodes_total"] is None
    assert body["episodes_completed"] == 0 and body["completed_at"] is None and body["started_at"]
    assert "api_key" not in body["config"]
    return rid


def test_register_is_idempotent_and_episodes_upsert(api) -> None:
    rid = _run(api)
    again = api.post("/api/v1/training/runs", json={"run_id": rid, "config": {"strategy_label": "other"}})
    assert again.status_code == 200 and again.json()["config"]["strategy_label"] == "ppo"
    for n, roi in [(1, 1.5), (2, "-0.5"), (2, -0.25), (3, None)]:
        r = api.post(f"/api/v1/training/runs/{rid}/episodes",
                     json={"episode_number": n, "session_id": str(uuid.uuid4()), "roi_pct": roi,
                           "sharpe_ratio": 0.1 * n, "max_drawdown_pct": -1.0, "total_trades": n, "reward_sum": None})
        assert r.status_code == 200, r.text
    run = api.get(f"/api/v1/training/runs/{rid}").json()
    assert run["episodes_completed"] == 3  # the repeated episode 2 overwrote itself
    assert [e["roi_pct"] for e in run["episodes"]] == [1.5, -0.25, None]
    assert [e["total_trades"] for e in run["episodes"]] == [1, 2, 3]
    done = api.post(f"/api/v1/training/runs/{rid}/complete").json()
    assert done["status"] == "finished" and done["completed_at"]
    assert done["aggregate_stats"]["roi_pct"]["best"] == 1.5 and done["aggregate_stats"]["episodes"] == 3
    assert done["learning_curve"]["raw_values"] == [1.5, -0.25]
    listed = api.get("/api/v1/training/runs").json()
    assert [r["run_id"] for r in listed["runs"]] == [rid] and listed["runs"][0]["status"] == "finished"


def test_unknown_run_and_bad_bodies(api) -> None:
    rid = str(uuid.uuid4())
    r = api.post(f"/api/v1/training/runs/{rid}/episodes", json={"episode_number": 1, "session_id": "not-a-uuid"})
    assert r.status_code == 404 and r.json()["error"]["code"] == "TRAINING_RUN_NOT_FOUND"
    assert api.post(f"/api/v1/training/runs/{rid}/complete").status_code == 404
    real = _run(api)
    assert api.post(f"/api/v1/training/runs/{real}/episodes", json={"episode_number": "x"}).status_code == 422
    assert api.post(f"/api/v1/training/runs/{real}/episodes",
                    json={"episode_number": 1, "roi_pct": "nan"}).status_code == 422
    r = api.post(f"/api/v1/training/runs/{real}/episodes", json={"episode_number": 1, "session_id": "not-a-uuid"})
    assert r.status_code == 200  # any session id string is stored, never a 500


def test_learning_curve_and_compare(api) -> None:
    a, b = _run(api), _run(api)
    for i in range(1, 13):
        api.post(f"/api/v1/training/runs/{a}/episodes", json={"episode_number": i, "roi_pct": float(i)})
        api.post(f"/api/v1/training/runs/{b}/episodes", json={"episode_number": i, "roi_pct": -float(i),
                                                             "sharpe_ratio": 1.0})
    c = api.get(f"/api/v1/training/runs/{a}/learning-curve", params={"metric": "roi_pct", "window": 4}).json()
    assert c["episode_numbers"] == list(range(1, 13)) and c["raw_values"] == [float(i) for i in range(1, 13)]
    assert c["smoothed"][:4] == [1.0, 1.5, 2.0, 2.5] and c["smoothed"][-1] == pytest.approx((9 + 10 + 11 + 12) / 4)
    s = api.get(f"/api/v1/training/runs/{b}/learning-curve", params={"metric": "sharpe_ratio"}).json()
    assert s["raw_values"] == [1.0] * 12
    assert api.get(f"/api/v1/training/runs/{a}/learning-curve", params={"metric": "bogus"}).status_code == 422
    cmp = api.get("/api/v1/training/compare", params={"run_ids": f"{a},{b}"}).json()
    assert [r["run_id"] for r in cmp["runs"]] == [a, b] and cmp["best_run_id_by_mean_roi_pct"] == a
    assert cmp["runs"][0]["aggregate_stats"]["roi_pct"]["mean"] == pytest.approx(6.5)


def test_scalars_traces_heartbeat(api) -> None:
    import base64

    rid = _run(api)
    r = api.post(f"/api/v1/training/runs/{rid}/scalars", json=[{"key": "train/loss", "step": 10, "value": 0.5},
                                                               {"key": "train/loss", "step": 10, "value": 0.4}])
    assert r.status_code == 200 and r.json()["stored"] == 2
    r = api.put(f"/api/v1/training/runs/{rid}/traces/1", json={"data_b64": base64.b64encode(b"xyz").decode(),
                                                              "reasons": "first"})
    assert r.status_code == 200 and r.json()["bytes"] == 3
    assert api.put(f"/api/v1/training/runs/{rid}/traces/1", json={"data_b64": "!!"}).status_code == 400
    assert api.post(f"/api/v1/training/runs/{rid}/heartbeat").json()["status"] == "running"


def test_market_data_is_public(server: LiveServer) -> None:
    with server.client() as c:
        r = c.get("/api/v1/market/candles/BTCUSDT", params={"interval": "1h", "limit": 5,
                                                           "end_time": "2024-03-01T00:00:00Z"})
        assert r.status_code == 200
        cs = r.json()["candles"]
        assert [k["bucket"] for k in cs][-1] == "2024-02-29T23:00:00Z" and len(cs) == 5
        assert all(isinstance(k[f], str) for k in cs for f in ("open", "high", "low", "close", "volume"))
        assert c.get("/api/v1/market/candles/BTCUSDT", params={"interval": "15x"}).status_code == 422
        assert c.get("/api/v1/market/candles/btc", params={"interval": "1h"}).json()["error"]["code"] == "INVALID_SYMBOL"
        p = c.get("/api/v1/market/price/ETHUSDT", params={"interval": "1h"}).json()
        assert float(p["price"]) > 0 and p["symbol"] == "ETHUSDT"
        ps = c.get("/api/v1/market/prices", params={"symbols": "BTCUSDT,SOLUSDT", "interval": "1d"}).json()
        assert set(ps["prices"]) == {"BTCUSDT", "SOLUSDT"}
        dr = c.get("/api/v1/market/data-range").json()["entries"]
        assert {(e["symbol"], e["timeframe"]) for e in dr} >= {("BTCUSDT", "1h"), ("SOLUSDT", "4h"), ("ETHUSDT", "1d")}
        assert c.get("/health").json()["status"] == "ok"


def test_complete_body_of_remote_mode_and_tracker_interop(server: LiveServer, key: str, tmp_path) -> None:
    """The tracking library's remote mode (TrainingTracker with api_key + base_url) delivers to this server."""
    from tradeready_gym.tracking import TrainingTracker

    tr = TrainingTracker(api_key=key, base_url=server.url, strategy_label="remote", store=tmp_path / "t.sqlite",
                         algorithm="PPO", flush_interval_s=0.05)
    run_id = tr.register_run()
    for n in (1, 2, 3):
        tr.report_episode(n, {"roi_pct": float(n), "sharpe": 0.5, "trades": n, "length": 10})
    tr.log_scalars([{"key": "train/loss", "step": 5, "value": 0.25}])
    tr.complete_run("finished")
    import time

    with server.client(key) as c:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            r = c.get(f"/api/v1/training/runs/{run_id}")
            if r.status_code == 200 and r.json()["status"] == "finished" and r.json()["episodes_completed"] == 3:
                break
            time.sleep(0.2)
        run = r.json()
        assert run["status"] == "finished" and run["algorithm"] == "PPO" and run["strategy_label"] == "remote"
        assert [e["roi_pct"] for e in run["episodes"]] == [1.0, 2.0, 3.0]
        rid = _run(c)
        done = c.post(f"/api/v1/training/runs/{rid}/complete", json={"status": "failed", "summary": {"error": "x"},
                                                                   "total_steps": 7}).json()
        assert done["status"] == "failed" and done["total_steps"] == 7


def test_concurrent_reports_of_one_episode_are_harmless(server: LiveServer, key: str) -> None:
    """Retries of one report racing each other (same run, same episode) all succeed and store one row."""
    from concurrent.futures import ThreadPoolExecutor

    import httpx

    with server.client(key) as c:
        rid = _run(c)

    def post(i: int) -> int:
        with httpx.Client(base_url=server.url, headers={"X-API-Key": key}, timeout=60) as c:
            body = {"episode_number": 1 + i % 3, "roi_pct": 1.0}
            return c.post(f"/api/v1/training/runs/{rid}/episodes", json=body).status_code

    with ThreadPoolExecutor(12) as pool:
        codes = list(pool.map(post, range(36)))
    assert codes == [200] * 36
    with server.client(key) as c:
        run = c.get(f"/api/v1/training/runs/{rid}").json()
    assert run["episodes_completed"] == 3 and [e["episode_number"] for e in run["episodes"]] == [1, 2, 3]


def test_complete_honours_the_body_and_the_empty_body_finishes(api) -> None:
    """``POST .../complete``: no body or ``{}`` -> finished; ``{status: failed, summary, total_steps}`` is stored;
    a status other than finished / failed is a 422."""
    rid = _run(api)
    assert api.post(f"/api/v1/training/runs/{rid}/complete").json()["status"] == "finished"
    rid = _run(api)
    assert api.post(f"/api/v1/training/runs/{rid}/complete", json={}).json()["status"] == "finished"
    rid = _run(api)
    r = api.post(f"/api/v1/training/runs/{rid}/complete", json={"status": "running"})
    assert r.status_code == 422, r.text
    assert api.get(f"/api/v1/training/runs/{rid}").json()["status"] == "running"
    done = api.post(f"/api/v1/training/runs/{rid}/complete",
                    json={"status": "failed", "summary": {"error": "RuntimeError('boom')", "api_key": "k"},
                          "total_steps": 1440}).json()
    assert done["status"] == "failed" and done["total_steps"] == 1440 and done["completed_at"]
    run = api.get(f"/api/v1/training/runs/{rid}").json()
    assert run["status"] == "failed" and run["total_steps"] == 1440
    assert "RuntimeError('boom')" in str(run) and "'k'" not in str(run)


def test_a_run_failed_locally_reads_failed_on_the_server(server: LiveServer, key: str, tmp_path) -> None:
    """A remote-mode run completed with ``fail()`` arrives as ``failed`` with its error and total steps."""
    import time

    from tradeready_gym.tracking import TrainingTracker

    tr = TrainingTracker(api_key=key, base_url=server.url, store=tmp_path / "t.sqlite", flush_interval_s=0.05)
    run_id = tr.register_run()
    tr.report_episode(1, {"roi_pct": -2.0, "length": 24})
    tr.fail(RuntimeError("diverged"))
    with server.client(key) as c:
        deadline = time.monotonic() + 30
        run: dict = {}
        while time.monotonic() < deadline:
            r = c.get(f"/api/v1/training/runs/{run_id}")
            if r.status_code == 200 and r.json()["status"] != "running":
                run = r.json()
                break
            time.sleep(0.2)
    assert run.get("status") == "failed", run
    assert run["total_steps"] == 24 and "diverged" in str(run)

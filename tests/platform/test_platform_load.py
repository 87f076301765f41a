"""Load: 20 concurrent clients x 500 steps against a real server process; zero 5xx, nothing lost, and the
p50/p95 step latencies printed as JSON."""

from __future__ import annotations

import json
import statistics
import threading
import time
from pathlib import Path

import httpx
import pytest
from platform_support import ServerProcess, database_url

pytest_plugins = ["platform_support"]

CLIENTS, STEPS = 20, 500


@pytest.mark.slow
def test_20_clients_500_steps(db_kind: str, real_cache: Path, tmp_path: Path) -> None:
    with database_url(db_kind, tmp_path) as url:
        srv = ServerProcess(url, real_cache, tmp_path).start()
        try:
            keys = [srv.register() for _ in range(CLIENTS)]
            latencies: list[float] = []
            errors: list[str] = []
            results: dict[int, dict] = {}
            lock = threading.Lock()

            def client(i: int) -> None:
                lat: list[float] = []
                with httpx.Client(base_url=srv.url, headers={"X-API-Key": keys[i]}, timeout=60) as c:
                    r = c.post("/api/v1/backtest/create", json={
                        "start_time": "2024-01-01T00:00:00Z", "end_time": "2024-02-01T00:00:00Z",
                        "candle_interval": 3600, "pairs": ["BTCUSDT", "ETHUSDT"], "strategy_label": f"c{i}"})
                    if r.status_code != 200:
                        errors.append(f"create {r.status_code} {r.text}")
                        return
                    sid = r.json()["session_id"]
                    c.post(f"/api/v1/backtest/{sid}/start")
                    fills = 0
                    steps_seen = []
                    orders = 0
                    for k in range(STEPS):
                        if k % 10 == 0:
                            r = c.post(f"/api/v1/backtest/{sid}/trade/order",
                                       json={"symbol": "ETHUSDT", "side": "buy", "quantity": "0.01"})
                            if r.status_code >= 500:
                                errors.append(f"order {r.status_code}")
                            orders += r.status_code == 200
                        t0 = time.perf_counter()
                        r = c.post(f"/api/v1/backtest/{sid}/step")
                        lat.append(time.perf_counter() - t0)
                        if r.status_code != 200:
                            errors.append(f"step {r.status_code} {r.text[:200]}")
                            return
                        body = r.json()
                        steps_seen.append(body["step"])
                        fills += len(body["filled_orders"])
                    trades = c.get(f"/api/v1/backtest/{sid}/trade/history").json()["count"]
                    status = c.get(f"/api/v1/backtest/{sid}/status").json()
                with lock:
                    latencies.extend(lat)
                    results[i] = {"steps": steps_seen, "fills": fills, "trades": trades, "orders": orders,
                                  "status": status}

            t0 = time.perf_counter()
            threads = [threading.Thread(target=client, args=(i,)) for i in range(CLIENTS)]
            for t in threads:
                t.start()
            for t in threads:
                t.join(timeout=600)
            wall = time.perf_counter() - t0
            assert errors == []
            assert len(results) == CLIENTS
            for res in results.values():
                assert res["steps"] == list(range(1, STEPS + 1))  # no step lost or repeated
                assert res["status"]["step"] == STEPS and res["status"]["status"] == "running"
                assert res["orders"] == STEPS // 10 and res["fills"] == res["trades"] == res["orders"]
            q = statistics.quantiles(latencies, n=100)
            report = {"db": db_kind, "clients": CLIENTS, "steps_per_client": STEPS, "requests": len(latencies),
                      "p50_ms": round(q[49] * 1e3, 3), "p95_ms": round(q[94] * 1e3, 3),
                      "max_ms": round(max(latencies) * 1e3, 3), "wall_s": round(wall, 2),
                      "steps_per_s": round(len(latencies) / wall, 1)}
            print(json.dumps(report))
        finally:
            srv.stop()

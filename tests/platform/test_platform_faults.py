"""The server killed with SIGKILL during writes and restarted: every acknowledged write is there."""

from __future__ import annotations

import threading
import time
import uuid
from pathlib import Path

import httpx
from platform_support import ServerProcess, database_url

pytest_plugins = ["platform_support"]


def test_kill_9_during_writes_loses_no_acknowledged_write(db_kind: str, real_cache: Path, tmp_path: Path) -> None:
    with database_url(db_kind, tmp_path) as url:
        srv = ServerProcess(url, real_cache, tmp_path).start()
        key = srv.register()
        acked_runs: list[str] = []
        acked_eps: list[tuple[str, int]] = []
        acked_sessions: list[str] = []
        acked_keys: list[str] = []
        stop = threading.Event()

        def writer(i: int) -> None:
            with httpx.Client(base_url=srv.url, headers={"X-API-Key": key}, timeout=10) as c:
                n = 0
                while not stop.is_set() and n < 2000:
                    n += 1
                    try:
                        rid = str(uuid.uuid4())
                        if c.post("/api/v1/training/runs", json={"run_id": rid, "config": {}}).status_code == 201:
                            acked_runs.append(rid)
                        for ep in (1, 2):
                            r = c.post(f"/api/v1/training/runs/{rid}/episodes",
                                       json={"episode_number": ep, "roi_pct": float(n), "total_trades": ep})
                            if r.status_code == 200:
                                acked_eps.append((rid, ep))
                        if i == 0 and n % 5 == 1:
                            r = c.post("/api/v1/backtest/create", json={
                                "start_time": "2024-03-01T00:00:00Z", "end_time": "2024-03-02T00:00:00Z",
                                "candle_interval": 3600, "pairs": ["BTCUSDT"]})
                            if r.status_code == 200:
                                acked_sessions.append(r.json()["session_id"])
                        if i == 1 and n % 5 == 1:
                            r = c.post("/api/v1/auth/register", json={"display_name": f"k{n}"})
                            if r.status_code == 201:
                                acked_keys.append(r.json()["api_key"])
                    except httpx.HTTPError:
                        return  # the server is gone

        threads = [threading.Thread(target=writer, args=(i,)) for i in range(4)]
        for t in threads:
            t.start()
        deadline = time.monotonic() + 60  # until every kind of write was acknowledged at least twice
        while time.monotonic() < deadline and (len(acked_sessions) < 2 or len(acked_keys) < 2 or len(acked_eps) < 40):
            time.sleep(0.2)
        srv.kill()  # SIGKILL in the middle of the writes
        stop.set()
        for t in threads:
            t.join(timeout=30)
        assert len(acked_runs) > 20 and len(acked_eps) > 20 and acked_sessions and acked_keys

        srv2 = ServerProcess(url, real_cache, tmp_path).start()
        try:
            with httpx.Client(base_url=srv2.url, headers={"X-API-Key": key}, timeout=30) as c:
                runs = {r["run_id"]: r for r in c.get("/api/v1/training/runs", params={"limit": 1000}).json()["runs"]}
                total = c.get("/api/v1/training/runs", params={"limit": 1}).json()["total"]
                assert total >= len(acked_runs)
                for rid in acked_runs[:200]:
                    assert rid in runs or c.get(f"/api/v1/training/runs/{rid}").status_code == 200
                by_run: dict[str, set[int]] = {}
                for rid, ep in acked_eps:
                    by_run.setdefault(rid, set()).add(ep)
                for rid, eps in by_run.items():
                    got = {e["episode_number"] for e in c.get(f"/api/v1/training/runs/{rid}").json()["episodes"]}
                    assert eps <= got, rid
                for sid in acked_sessions:
                    st = c.get(f"/api/v1/backtest/{sid}/status").json()
                    assert st["session_id"] == sid and st["status"] == "failed"  # open when the server died
            for k in acked_keys:
                assert httpx.get(f"{srv2.url}/api/v1/account/info", headers={"X-API-Key": k}).status_code == 200
        finally:
            srv2.stop()

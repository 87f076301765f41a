"""Remote mode, local first: the outbox against real HTTP servers on 127.0.0.1.

* a small fault-injecting HTTP server (answers 503 to the first requests, counts every delivery);
* the real platform server (uvicorn, SQLite): down while training, back later, then
  ``sync_outbox`` (what ``tradeready runs sync`` runs) and the background sender deliver every row
  exactly once.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest

from tradeready_gym.envs.presets import make_historical_env
from tradeready_gym.tracking import Store, TrainingTracker
from tradeready_gym.tracking.remote import sync_outbox
from tradeready_gym.tracking.tracker import attach_tracker


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _train(env: Any, episodes: int) -> None:
    rng = np.random.default_rng(0)
    env.reset(seed=0)
    done = 0
    while done < episodes:
        _, _, te, tr, _ = env.step(int(rng.integers(3)))
        if te or tr:
            done += 1
            env.reset()


def _wait(cond: Any, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


# ----------------------------------------------------------------------------- a flaky recorder
class _Recorder(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, fail_first: int) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.fail_left = fail_first
        self.lock = threading.Lock()
        self.deliveries: dict[tuple[str, str], int] = {}
        self.keys: set[str] = set()


class _Handler(BaseHTTPRequestHandler):
    server: _Recorder

    def log_message(self, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"null")
        with self.server.lock:
            self.server.keys.add(self.headers.get("X-API-Key", ""))
            if self.server.fail_left > 0:
                self.server.fail_left -= 1
                self.send_response(503)
                self.end_headers()
                return
            ident = str(body.get("episode_number")) if isinstance(body, dict) and "episode_number" in body else ""
            key = (self.path, ident)
            self.server.deliveries[key] = self.server.deliveries.get(key, 0) + 1
        self.send_response(201 if self.path.endswith("/runs") else 200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b"{}")

    do_PUT = do_POST


def test_outbox_retries_until_delivered_once(home: Path, small_market) -> None:
    srv = _Recorder(fail_first=5)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{srv.server_address[1]}"
    try:
        env = make_historical_env(data=small_market, episode_length=10, track_training=False)
        t = attach_tracker(env, TrainingTracker(api_key="ak_live_test", base_url=base, flush_interval_s=0.05,
                                                remote_options={"poll_s": 0.05, "backoff_s": 0.05}))
        _train(env, 6)
        env.close()
        store = Store(home / "tracking.sqlite")
        _wait(lambda: store.outbox_counts()["pending"] == 0)
        d = srv.deliveries
        assert d[("/api/v1/training/runs", "")] == 1
        for n in range(1, 7):
            assert d[(f"/api/v1/training/runs/{t.run_id}/episodes", str(n))] == 1
        assert d[(f"/api/v1/training/runs/{t.run_id}/complete", "")] == 1
        assert srv.keys == {"ak_live_test"}
        assert srv.fail_left == 0
        failed = [r for r in store.pending(due_only=False)]
        assert failed == []
        # the api key never reaches the store
        raw = (home / "tracking.sqlite").read_bytes()
        assert b"ak_live_test" not in raw
    finally:
        srv.shutdown()
        srv.server_close()


# ----------------------------------------------------------------------------- the real platform
class _Platform:
    """The platform server (uvicorn in a thread) on a fixed port; can be stopped and started again."""

    def __init__(self, db_url: str, data_dir: Path, port: int) -> None:
        self.db_url, self.data_dir, self.port = db_url, data_dir, port
        self.url = f"http://127.0.0.1:{port}"
        self.server: Any = None
        self.thread: threading.Thread | None = None
        self.app: Any = None

    def start(self) -> _Platform:
        import uvicorn

        from tradeready_platform.main import create_app
        from tradeready_platform.settings import Settings

        self.app = create_app(Settings(database_url=self.db_url, data_dir=self.data_dir, register_limit=1000))
        cfg = uvicorn.Config(self.app, host="127.0.0.1", port=self.port, log_level="warning", access_log=False)
        self.server = uvicorn.Server(cfg)
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        _wait(lambda: self.server.started or not self.thread.is_alive(), 60)
        assert self.server.started
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        assert self.thread is not None
        self.thread.join(30)
        self.app.state.db.dispose()

    def register(self) -> str:
        r = httpx.post(f"{self.url}/api/v1/auth/register", json={"display_name": "trainer"}, timeout=30)
        assert r.status_code == 201, r.text
        return str(r.json()["api_key"])


@pytest.fixture
def platform(tmp_path: Path, real_cache: Path):
    p = _Platform(f"sqlite:///{tmp_path}/platform.sqlite", real_cache, _free_port())
    yield p.start()
    if p.server is not None and not p.server.should_exit:
        p.stop()


def test_platform_down_then_sync_delivers_everything_once(home: Path, small_market, platform: _Platform) -> None:
    key = platform.register()
    platform.stop()  # the platform goes down before training starts
    env = make_historical_env(data=small_market, episode_length=10, track_training=False)
    t = attach_tracker(env, TrainingTracker(api_key=key, base_url=platform.url, strategy_label="remote",
                                            flush_interval_s=0.05, remote_options={"poll_s": 0.05, "exit_timeout_s": 0.5}))
    start = time.monotonic()
    _train(env, 8)  # training goes on
    env.close()
    assert time.monotonic() - start < 60
    store = Store(home / "tracking.sqlite")
    run = store.get_run(t.run_id)
    assert run is not None and run["status"] == "finished" and run["episodes_completed"] == 8
    counts = store.outbox_counts()
    assert counts["delivered"] == 0 and counts["pending"] >= 1 + 8 + 1
    platform.start()  # back
    out = sync_outbox(store, platform.url, key)
    # the background sender may deliver some rows at the same time: together, every row once
    assert out["pending"] == 0
    assert store.outbox_counts() == {"pending": 0, "delivered": counts["pending"]}
    again = sync_outbox(store, platform.url, key)
    assert again["delivered"] == 0
    from typer.testing import CliRunner

    from tradeready_gym._cli_runs import app

    res = CliRunner().invoke(app, ["sync", "--api-key", key, "--base-url", platform.url])
    assert res.exit_code == 0 and "delivered 0" in res.output and "pending: 0" in res.output, res.output
    with httpx.Client(base_url=platform.url, headers={"X-API-Key": key}, timeout=30) as c:
        remote = c.get(f"/api/v1/training/runs/{t.run_id}").json()
    assert remote["episodes_completed"] == 8 and remote["status"] == "finished"
    assert remote["strategy_label"] == "remote"
    local = {e["episode"]: e for e in store.episodes(t.run_id)}
    assert [e["episode_number"] for e in remote["episodes"]] == list(range(1, 9))
    for e in remote["episodes"]:
        mine = local[e["episode_number"]]
        assert e["roi_pct"] == pytest.approx(mine["roi_pct"])
        assert e["reward_sum"] == pytest.approx(mine["reward_sum"])
        assert e["total_trades"] == mine["trades"]
    assert remote["config"].get("api_key") in (None, "***")


def test_background_sender_delivers_while_training(home: Path, small_market, platform: _Platform) -> None:
    key = platform.register()
    env = make_historical_env(data=small_market, episode_length=10, track_training=False)
    t = attach_tracker(env, TrainingTracker(api_key=key, base_url=platform.url, flush_interval_s=0.05,
                                            remote_options={"poll_s": 0.05}))
    _train(env, 5)
    store = Store(home / "tracking.sqlite")
    assert t.flush()
    _wait(lambda: store.outbox_counts()["pending"] == 0)  # before close: the background thread ships them
    with httpx.Client(base_url=platform.url, headers={"X-API-Key": key}, timeout=30) as c:
        assert c.get(f"/api/v1/training/runs/{t.run_id}").json()["episodes_completed"] == 5
        env.close()
        _wait(lambda: store.outbox_counts()["pending"] == 0)
        assert c.get(f"/api/v1/training/runs/{t.run_id}").json()["status"] == "finished"

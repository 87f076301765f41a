"""Fixtures of the dashboard tests: a real tracking store seeded with runs, and real uvicorn servers."""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from .seeding import seed_run, trace_bytes


@contextmanager
def serve(app: Any) -> Iterator[str]:
    """Run ``app`` with uvicorn on 127.0.0.1 (a free port) in a thread; yields the base URL."""
    import uvicorn

    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture(scope="session")
def seeded(tmp_path_factory: pytest.TempPathFactory, btc_1h: Any) -> dict[str, Any]:
    """A store with five runs: finished (traced, 3,000 episodes), running, failed, stale, other label."""
    from tradeready_gym.tracking.store import Store

    path = tmp_path_factory.mktemp("dash-store") / "tracking.sqlite"
    store = Store(path)
    tb, tr = trace_bytes(btc_1h, 100, 200)
    long_tb, long_tr = trace_bytes(btc_1h, 30, 2600)
    ids = {
        "big": seed_run(store, name="ppo-big", episodes=3000, seed=1, traces={5: tb, 7: long_tb}),
        "live": seed_run(store, name="ppo-live", episodes=120, seed=2, status="running"),
        "failed": seed_run(store, name="a2c-failed", label="a2c", episodes=80, seed=3, status="failed"),
        "stale": seed_run(store, name="ppo-stale", episodes=40, seed=4, status="running",
                          heartbeat=dt.datetime(2026, 1, 1, tzinfo=dt.UTC)),
        "empty": seed_run(store, name="dqn-empty", label="dqn", episodes=0, seed=5, scalars=False),
    }
    store.close()
    return {"path": path, "ids": ids, "trace": tr, "long_trace": long_tr}


@pytest.fixture(scope="session")
def local_url(seeded: dict[str, Any], real_cache: Any) -> Iterator[str]:
    """The local dashboard app (``create_local_app``) over the seeded store, served by uvicorn."""
    from tradeready_platform.dashboard import create_local_app

    app = create_local_app(seeded["path"], cache_dir=str(real_cache), refresh_s=0.5)
    with serve(app) as url:
        yield url

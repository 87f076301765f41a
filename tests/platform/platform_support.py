"""Fixtures and helpers of the platform suite (imported by the test modules: ``tests/platform`` is not a
package, since its name would shadow the standard library's ``platform``): every test runs on SQLite and on PostgreSQL.

PostgreSQL comes from ``TRADEREADY_TEST_POSTGRES_URL`` (a role allowed to create databases); each
server gets a fresh database. Without the variable the PostgreSQL variants are skipped, except in CI
(``CI=true``), where they fail.
"""

from __future__ import annotations

import contextlib
import os
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from pg_support import postgres_database

DBS = ("sqlite", "postgresql")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def database_url(kind: str, tmp_path: Any) -> Iterator[str]:
    """A fresh, empty database of ``kind`` ("sqlite" or "postgresql"), dropped afterwards."""
    if kind == "sqlite":
        yield f"sqlite:///{tmp_path}/platform-{uuid.uuid4().hex[:8]}.sqlite"
        return
    with postgres_database("tr_test") as url:
        yield url


class LiveServer:
    """A uvicorn server in a thread on 127.0.0.1 (a real HTTP server)."""

    def __init__(self, settings: Any) -> None:
        import uvicorn

        from tradeready_platform.main import create_app

        self.settings = settings
        self.app = create_app(settings)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        cfg = uvicorn.Config(self.app, host="127.0.0.1", port=self.port, log_level="warning", access_log=False)
        self.server = uvicorn.Server(cfg)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("server did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: Any) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=30)
        self.app.state.db.dispose()

    def client(self, key: str | None = None, **kw: Any) -> httpx.Client:
        headers = {} if key is None else {"X-API-Key": key}
        return httpx.Client(base_url=self.url, headers=headers, timeout=30, **kw)

    def register(self, name: str = "trader") -> str:
        with self.client() as c:
            r = c.post("/api/v1/auth/register", json={"display_name": name})
            assert r.status_code == 201, r.text
            return str(r.json()["api_key"])


def make_settings(db_url: str, data_dir: Any, **kw: Any) -> Any:
    from tradeready_platform.settings import Settings

    base: dict[str, Any] = {"database_url": db_url, "data_dir": data_dir, "register_limit": 10_000}
    base.update(kw)
    return Settings(**base)


@pytest.fixture(params=DBS)
def db_kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="module", params=DBS)
def server(request: pytest.FixtureRequest, real_cache: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """One server per module and database; tests isolate themselves by registering accounts."""
    tmp = tmp_path_factory.mktemp("platform")
    with database_url(request.param, tmp) as url, LiveServer(make_settings(url, real_cache)) as srv:
        yield srv


@pytest.fixture
def key(server: LiveServer) -> str:
    """A fresh account's API key."""
    return server.register()


@pytest.fixture
def api(server: LiveServer, key: str) -> Iterator[httpx.Client]:
    """A client of a fresh account (the original client's transport: X-API-Key header)."""
    with server.client(key) as c:
        yield c


BTC_WINDOW = {"start_time": "2024-03-01T00:00:00Z", "end_time": "2024-03-03T00:00:00Z"}


def create_session(c: httpx.Client, *, pairs: list[str] | None = None, interval: int = 3600, **kw: Any) -> str:
    body = {
        **BTC_WINDOW,
        "starting_balance": "10000.0",
        "candle_interval": interval,
        "pairs": pairs or ["BTCUSDT"],
        "strategy_label": "test",
        **kw,
    }
    r = c.post("/api/v1/backtest/create", json=body)
    assert r.status_code == 200, r.text
    sid = str(r.json()["session_id"])
    r = c.post(f"/api/v1/backtest/{sid}/start")
    assert r.status_code == 200, r.text
    return sid


class ServerProcess:
    """``tradeready serve`` in a subprocess on 127.0.0.1 (for kill -9 and load tests)."""

    def __init__(self, db_url: str, data_dir: Any, home: Any, **env: str) -> None:
        import sys
        from pathlib import Path

        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.cmd = [str(Path(sys.executable).parent / "tradeready"), "serve", "--port", str(self.port),
                    "--database-url", db_url, "--data-dir", str(data_dir), "--log-level", "warning"]
        self.env = {**os.environ, "TRADEREADY_HOME": str(home), "TRADEREADY_REGISTER_LIMIT": "100000", **env}
        self.proc: Any = None

    def start(self) -> ServerProcess:
        import subprocess

        self.proc = subprocess.Popen(self.cmd, env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited: {self.proc.stderr.read().decode()[-2000:]}")
            try:
                if httpx.get(f"{self.url}/health", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        self.kill()
        raise RuntimeError("server did not start in 120 s")

    def kill(self) -> None:
        """SIGKILL (kill -9) and wait."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=30)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except Exception:
                self.kill()

    def register(self) -> str:
        r = httpx.post(f"{self.url}/api/v1/auth/register", json={"display_name": "p"}, timeout=30)
        assert r.status_code == 201, r.text
        return str(r.json()["api_key"])

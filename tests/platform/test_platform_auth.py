"""Accounts and keys: registration, hashed storage, 401 envelope, account scoping (404), rate limits."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import uuid
from pathlib import Path

import httpx
import pytest
from platform_support import LiveServer, create_session, database_url, make_settings
from sqlalchemy import create_engine, text

pytest_plugins = ["platform_support"]


def test_register_shows_key_once_and_stores_only_its_hash(server: LiveServer) -> None:
    with server.client() as c:
        r = c.post("/api/v1/auth/register", json={"display_name": "alice", "email": "a@example.com"})
    assert r.status_code == 201
    body = r.json()
    key = body["api_key"]
    assert key.startswith("ak_live_") and len(key) >= 40 and body["key_prefix"] == key[:16]
    eng = create_engine(server.app.state.db.url)
    with eng.connect() as conn:
        rows = conn.execute(text("SELECT prefix, key_hash FROM api_keys WHERE account_id = :a"),
                            {"a": body["account_id"]}).all()
    eng.dispose()
    assert rows == [(key[:16], hashlib.sha256(key.encode()).hexdigest())]
    with server.client(key) as c:
        keys = c.get("/api/v1/account/keys").json()["keys"]
        assert len(keys) == 1 and "api_key" not in keys[0]
        assert c.get("/api/v1/account/info").json()["display_name"] == "alice"


@pytest.mark.parametrize("headers", [{}, {"X-API-Key": ""}, {"X-API-Key": "ak_live_wrong"},
                                     {"X-API-Key": "nonsense"}, {"Authorization": "Bearer ak_live_x"}])
def test_missing_or_bad_key_is_401_envelope(server: LiveServer, headers: dict[str, str]) -> None:
    with httpx.Client(base_url=server.url, headers=headers) as c:
        for method, path in [("get", "/api/v1/training/runs"), ("post", "/api/v1/backtest/create"),
                             ("get", "/api/v1/backtest/list"), ("get", "/api/v1/account/info")]:
            r = getattr(c, method)(path)
            assert r.status_code == 401
            err = r.json()["error"]
            assert err["code"] == "INVALID_API_KEY" and err["message"] and "details" in err
            assert "x-ratelimit-limit" not in r.headers


def test_bearer_key_and_revoked_key(server: LiveServer, key: str) -> None:
    with httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {key}"}) as c:
        assert c.get("/api/v1/training/runs").status_code == 200
        new = c.post("/api/v1/account/keys", json={"name": "second"}).json()
        assert new["api_key"].startswith("ak_live_")
    with server.client(new["api_key"]) as c2:
        assert c2.get("/api/v1/training/runs").status_code == 200
        assert c2.post(f"/api/v1/account/keys/{new['key_id']}/revoke").status_code == 200
        assert c2.get("/api/v1/training/runs").status_code == 401


def test_other_accounts_objects_are_404(server: LiveServer) -> None:
    a, b = server.register("a"), server.register("b")
    with server.client(a) as ca, server.client(b) as cb:
        sid = create_session(ca)
        run_id = str(uuid.uuid4())
        assert ca.post("/api/v1/training/runs", json={"run_id": run_id, "config": {}}).status_code == 201
        for method, path in [("post", f"/api/v1/backtest/{sid}/step"), ("get", f"/api/v1/backtest/{sid}/status"),
                             ("post", f"/api/v1/backtest/{sid}/cancel"), ("get", f"/api/v1/backtest/{sid}/results"),
                             ("get", f"/api/v1/backtest/{sid}/market/candles/BTCUSDT"),
                             ("get", f"/api/v1/backtest/{sid}/trade/orders")]:
            r = getattr(cb, method)(path)
            assert r.status_code == 404 and r.json()["error"]["code"] == "BACKTEST_NOT_FOUND", path
        r = cb.post(f"/api/v1/backtest/{sid}/trade/order", json={"symbol": "BTCUSDT", "side": "buy", "quantity": "1"})
        assert r.status_code == 404
        for method, path, body in [
            ("get", f"/api/v1/training/runs/{run_id}", None),
            ("post", f"/api/v1/training/runs/{run_id}/episodes", {"episode_number": 1}),
            ("post", f"/api/v1/training/runs/{run_id}/complete", None),
            ("get", f"/api/v1/training/runs/{run_id}/learning-curve", None),
            ("get", f"/api/v1/training/compare?run_ids={run_id}", None),
            ("post", "/api/v1/training/runs", {"run_id": run_id, "config": {}}),
        ]:
            r = cb.request(method, path, json=body)
            assert r.status_code == 404 and r.json()["error"]["code"] == "TRAINING_RUN_NOT_FOUND", path
        assert cb.get("/api/v1/backtest/list").json()["sessions"] == []
        assert cb.get("/api/v1/training/runs").json()["runs"] == []
        # nothing of a's changed
        assert ca.get(f"/api/v1/backtest/{sid}/status").json()["status"] == "running"
        assert ca.get(f"/api/v1/training/runs/{run_id}").json()["episodes_completed"] == 0


def test_rate_limits_per_key_and_tier(db_kind: str, real_cache: Path, tmp_path: Path) -> None:
    limits = {"/api/v1/backtest/": 5, "/api/v1/training/": 3, "/api/v1/": 2}
    with database_url(db_kind, tmp_path) as url, \
            LiveServer(make_settings(url, real_cache, rate_limits=limits, register_limit=2)) as srv:
        k1, k2 = srv.register(), srv.register()
        with httpx.Client(base_url=srv.url) as anon:  # per-IP limit on register
            r = anon.post("/api/v1/auth/register", json={})
            assert r.status_code == 429 and "retry-after" in r.headers
        with srv.client(k1) as c1, srv.client(k2) as c2:
            seen = []
            for _ in range(3):
                r = c1.get("/api/v1/training/runs")
                assert r.status_code == 200
                seen.append(int(r.headers["x-ratelimit-remaining"]))
                assert r.headers["x-ratelimit-limit"] == "3" and int(r.headers["x-ratelimit-reset"]) > 0
            assert seen == [2, 1, 0]
            r = c1.get("/api/v1/training/runs")
            assert r.status_code == 429
            err = r.json()["error"]
            assert err["code"] == "RATE_LIMIT_EXCEEDED"
            assert err["details"]["limit"] == 3 and err["details"]["window_seconds"] == 60
            assert 1 <= int(r.headers["retry-after"]) <= 60 == err["details"]["window_seconds"]
            assert err["details"]["retry_after_seconds"] == int(r.headers["retry-after"])
            assert r.headers["x-ratelimit-remaining"] == "0"
            # another tier of the same key, and the same tier of another key, are counted apart
            r = c1.get("/api/v1/backtest/list")
            assert r.status_code == 200 and r.headers["x-ratelimit-limit"] == "5"
            assert c2.get("/api/v1/training/runs").status_code == 200
            assert c1.get("/api/v1/account/info").headers["x-ratelimit-limit"] == "2"
            # public market data: no key, no limit, no headers
            with httpx.Client(base_url=srv.url) as anon:
                for _ in range(5):
                    r = anon.get("/api/v1/market/candles/BTCUSDT", params={"interval": "1d", "limit": 2})
                    assert r.status_code == 200 and "x-ratelimit-limit" not in r.headers


def test_keys_create_cli(db_kind: str, tmp_path: Path) -> None:
    with database_url(db_kind, tmp_path) as url:
        _keys_cli(url, tmp_path)


def _keys_cli(url: str, tmp_path: Path) -> None:
    env = {**os.environ, "TRADEREADY_DATABASE_URL": url, "TRADEREADY_HOME": str(tmp_path)}
    exe = str(Path(sys.executable).parent / "tradeready")
    out = subprocess.run([exe, "keys", "create", "--display-name", "cli"],
                         capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    lines = dict(line.split(": ", 1) for line in out.stdout.strip().splitlines())
    key = lines["api_key"]
    assert key.startswith("ak_live_") and "shown once" in out.stderr
    from tradeready_platform.db import Database
    from tradeready_platform.services.accounts import AccountService

    db = Database(url)
    try:
        assert AccountService(db).authenticate(key) == (int(lines["account_id"]), int(lines["key_id"]))
        assert AccountService(db).authenticate(key[:-1] + ("A" if key[-1] != "A" else "B")) is None
    finally:
        db.dispose()
    bad = subprocess.run([exe, "keys", "create", "--account-id", "999"], capture_output=True, text=True, env=env,
                         timeout=120)
    assert bad.returncode != 0 and "account 999 not found" in bad.stderr


def test_settings_from_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from pydantic import ValidationError

    from tradeready_platform.settings import DEFAULT_RATE_LIMITS, Settings

    monkeypatch.setenv("TRADEREADY_HOME", str(tmp_path))
    monkeypatch.delenv("TRADEREADY_DATABASE_URL", raising=False)
    s = Settings()
    assert s.resolved_database_url == f"sqlite:///{tmp_path}/platform.sqlite"
    assert s.rate_limits == DEFAULT_RATE_LIMITS and s.rate_window_s == 60
    monkeypatch.setenv("TRADEREADY_DATABASE_URL", "postgresql://u:p@127.0.0.1/db")
    monkeypatch.setenv("TRADEREADY_RATE_LIMITS", '{"/api/v1/backtest/": 7}')
    monkeypatch.setenv("TRADEREADY_MAX_SESSIONS_PER_KEY", "4")
    s = Settings()
    assert s.resolved_database_url == "postgresql://u:p@127.0.0.1/db"
    assert s.rate_limits == {"/api/v1/backtest/": 7} and s.max_sessions_per_key == 4
    with pytest.raises(ValidationError, match="rate_limits"):
        Settings(rate_limits={"/api/v1/": 0})


def test_rate_limit_reset_is_the_window_end() -> None:
    from tradeready_platform.ratelimit import RateLimiter

    rl = RateLimiter(60)
    assert rl.hit("k", "/p", 2, now=120.5) == (True, 1, 180, 0)
    assert rl.hit("k", "/p", 2, now=150.0) == (True, 0, 180, 0)
    assert rl.hit("k", "/p", 2, now=170.2) == (False, 0, 180, 10)
    assert rl.hit("k", "/q", 2, now=170.2)[0] is True  # another tier
    assert rl.hit("k", "/p", 2, now=180.0) == (True, 1, 240, 0)  # a new window

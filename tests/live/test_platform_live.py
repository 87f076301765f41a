"""The platform's live endpoints (PLATFORM-API §2.4) on a real uvicorn server: a paper account per key."""

from __future__ import annotations

import socket
import threading
import time

import httpx
import pytest


@pytest.fixture(scope="module")
def platform(real_cache, tmp_path_factory):
    import uvicorn

    from tradeready_platform.main import create_app
    from tradeready_platform.settings import Settings

    tmp = tmp_path_factory.mktemp("platform-live")
    settings = Settings(database_url=f"sqlite:///{tmp}/p.sqlite", data_dir=real_cache, home=tmp, register_limit=10_000)
    app = create_app(settings)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", access_log=False))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "server did not start"
        time.sleep(0.02)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(30)
    app.state.db.dispose()


def _key(url: str) -> str:
    r = httpx.post(url + "/api/v1/auth/register", json={"display_name": "live"})
    assert r.status_code == 201, r.text
    return str(r.json()["api_key"])


def test_portfolio_and_orders_per_key(platform):
    a, b = _key(platform), _key(platform)
    with httpx.Client(base_url=platform, headers={"X-API-Key": a}) as c:
        p = c.get("/api/v1/account/portfolio").json()
        assert p["total_equity"] == "10000.00000000" and p["positions"] == [] and p["starting_balance"] == "10000.00000000"
        price = float(httpx.get(platform + "/api/v1/market/price/BTCUSDT", params={"interval": "1h"}).json()["price"])
        r = c.post("/api/v1/trade/order", json={"symbol": "BTCUSDT", "side": "buy", "type": "market", "quantity": "0.05"})
        assert r.status_code == 201, r.text
        order = r.json()
        assert float(order["executed_price"]) == price and float(order["fee"]) == pytest.approx(0.05 * price * 0.001)
        p = c.get("/api/v1/account/portfolio").json()
        assert float(p["available_cash"]) == pytest.approx(10_000 - 0.05 * price * 1.001)
        (pos,) = p["positions"]
        assert pos["symbol"] == "BTCUSDT" and float(pos["quantity"]) == 0.05 and pos["asset"] == "BTC"
        # never a naked sell; the account is unchanged by a refused order
        r = c.post("/api/v1/trade/order", json={"symbol": "ETHUSDT", "side": "sell", "type": "market", "quantity": 1})
        assert r.status_code == 400 and r.json()["error"]["code"] == "INSUFFICIENT_BALANCE"
        r = c.post("/api/v1/trade/order", json={"symbol": "BTCUSDT", "side": "buy", "type": "market", "quantity": 1000})
        assert r.status_code == 400 and r.json()["error"]["code"] == "INSUFFICIENT_BALANCE"
        assert c.get("/api/v1/account/portfolio").json()["available_cash"] == p["available_cash"]
        r = c.post("/api/v1/trade/order", json={"symbol": "BTCUSDT", "side": "sell", "type": "market", "quantity": "0.05"})
        assert r.status_code == 201
        p = c.get("/api/v1/account/portfolio").json()
        assert p["positions"] == [] and float(p["total_equity"]) == pytest.approx(10_000 - 2 * 0.05 * price * 0.001)
        bad = c.post("/api/v1/trade/order", json={"symbol": "BTCUSDT", "side": "buy", "type": "market", "quantity": "-1"})
        assert bad.status_code == 400 and bad.json()["error"]["code"] == "INVALID_QUANTITY"
    with httpx.Client(base_url=platform, headers={"X-API-Key": b}) as c:
        assert c.get("/api/v1/account/portfolio").json()["total_equity"] == "10000.00000000"  # another key's account
    r = httpx.get(platform + "/api/v1/account/portfolio")
    assert r.status_code == 401 and r.json()["error"]["code"] == "INVALID_API_KEY"

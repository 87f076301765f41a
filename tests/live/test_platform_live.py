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
        traded = c.get("/api/v1/account/portfolio").json()["total_equity"]
        second = c.post("/api/v1/account/keys", json={"name": "agent-2"}).json()["api_key"]
    # a paper account per key: the account's second key starts fresh, the first keeps its account
    with httpx.Client(base_url=platform, headers={"X-API-Key": second}) as c2:
        assert c2.get("/api/v1/account/portfolio").json()["total_equity"] == "10000.00000000"
    with httpx.Client(base_url=platform, headers={"X-API-Key": a}) as c:
        assert c.get("/api/v1/account/portfolio").json()["total_equity"] == traded
    with httpx.Client(base_url=platform, headers={"X-API-Key": b}) as c:
        assert c.get("/api/v1/account/portfolio").json()["total_equity"] == "10000.00000000"  # another account
    r = httpx.get(platform + "/api/v1/account/portfolio")
    assert r.status_code == 401 and r.json()["error"]["code"] == "INVALID_API_KEY"


class OriginalLiveClient:
    """The original ``LiveTradingEnv``'s request pattern (PLATFORM-API §2.4), written from the spec:
    portfolio twice at reset and per step (equity and sizing, then the observation), candles for the
    observation, market orders with decimal-string quantities; HTTP errors on orders are swallowed."""

    def __init__(self, base_url: str, api_key: str, symbol: str = "BTCUSDT", interval: str = "1h") -> None:
        self.http = httpx.Client(base_url=base_url, headers={"X-API-Key": api_key}, timeout=30)
        self.symbol = symbol
        self.interval = interval

    def _portfolio(self) -> dict:
        r = self.http.get("/api/v1/account/portfolio")
        r.raise_for_status()
        return r.json()

    def _observe(self) -> list[float]:
        p = self._portfolio()
        r = self.http.get(f"/api/v1/market/candles/{self.symbol}", params={"interval": self.interval, "limit": 30})
        r.raise_for_status()
        closes = [float(c["close"]) for c in r.json()["candles"]]
        equity = float(p["total_equity"])
        return [*closes, float(p["available_cash"]) / float(p["starting_balance"]),
                float(p["total_position_value"]) / equity]

    def reset(self) -> tuple[list[float], dict]:
        self._portfolio()
        return self._observe(), {"session_id": "live"}

    def step(self, action: int) -> tuple[list[float], float, dict]:
        before = float(self._portfolio()["total_equity"])
        price = float(self.http.get(f"/api/v1/market/price/{self.symbol}", params={"interval": self.interval}).json()["price"])
        if action in (1, 2):
            qty = before * 0.1 / price
            side = "buy" if action == 1 else "sell"
            try:
                self.http.post("/api/v1/trade/order", json={"symbol": self.symbol, "side": side, "type": "market",
                                                           "quantity": f"{qty:.8f}"}).raise_for_status()
            except httpx.HTTPStatusError:
                pass  # the original swallows order errors
        obs = self._observe()
        after = float(self._portfolio()["total_equity"])
        return obs, after - before, {"session_id": "live"}


def test_original_live_client_pattern(platform):
    client = OriginalLiveClient(platform, _key(platform))
    obs, info = client.reset()
    assert len(obs) == 32 and obs[-2] == 1.0 and obs[-1] == 0.0 and info["session_id"] == "live"
    obs, reward, _ = client.step(1)  # buy 10% of equity
    assert 0.09 < obs[-1] < 0.11 and reward < 0  # the fee
    obs, _, _ = client.step(2)  # sell the same notional
    obs, _, _ = client.step(2)  # a sell beyond the holding is refused (swallowed), nothing changes
    p = client._portfolio()
    assert float(p["total_equity"]) < 10_000 and float(p["total_position_value"]) >= 0

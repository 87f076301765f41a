"""The replay server speaks Binance's kline websocket and REST formats from the real candles."""

from __future__ import annotations

import asyncio
import json
import time

import httpx
import pytest
from websockets.asyncio.client import connect

from tradeready_gym.errors import ConfigError
from tradeready_gym.live.replay import ReplayFaults, ReplayServer

from .conftest import IV_MS, SPEED, bar_index

KLINE_KEYS = set("tTsifLochlvnxqVQB")


def test_rest_formats(market15):
    with ReplayServer(market15, start_index=100, speed=SPEED) as s:
        r = httpx.get(s.rest_url + "/api/v3/klines", params={"symbol": "ETHUSDT", "interval": "15m", "limit": 5})
        assert r.status_code == 200
        assert int(r.headers["x-mbx-used-weight-1m"]) >= 2
        rows = r.json()
        assert len(rows) == 5 and all(len(row) == 12 for row in rows)
        server_ms = httpx.get(s.rest_url + "/api/v3/time").json()["serverTime"]
        # the last row is the candle open now, unfinished (Binance includes it): close time in the future
        assert rows[-1][0] <= server_ms <= rows[-1][6]
        k = bar_index(market15, rows[-2][0])
        assert float(rows[-2][4]) == float(market15.close[k, 1])
        assert float(rows[-2][5]) == float(market15.volume[k, 1])
        assert rows[-2][6] == rows[-2][0] + IV_MS - 1
        start = rows[0][0]
        r2 = httpx.get(s.rest_url + "/api/v3/klines",
                       params={"symbol": "ETHUSDT", "interval": "15m", "startTime": start, "limit": 2}).json()
        assert [row[0] for row in r2] == [start, start + IV_MS]
        assert httpx.get(s.rest_url + "/api/v3/ping").json() == {}
        info = httpx.get(s.rest_url + "/api/v3/exchangeInfo").json()
        assert [x["symbol"] for x in info["symbols"]] == ["BTCUSDT", "ETHUSDT"]
        bad = httpx.get(s.rest_url + "/api/v3/klines", params={"symbol": "XRPUSDT", "interval": "15m"})
        assert bad.status_code == 400 and bad.json()["code"] == -1121
        bad = httpx.get(s.rest_url + "/api/v3/klines", params={"symbol": "BTCUSDT", "interval": "1h"})
        assert bad.status_code == 400 and bad.json()["code"] == -1120


def test_rate_limit_429_then_418(market15):
    faults = ReplayFaults(rest_errors={"/api/v3/time": [429]}, retry_after_s=0.3)
    with ReplayServer(market15, start_index=100, speed=SPEED, faults=faults) as s:
        r = httpx.get(s.rest_url + "/api/v3/time")
        assert r.status_code == 429 and float(r.headers["retry-after"]) == 0.3
        r = httpx.get(s.rest_url + "/api/v3/time")  # ignoring Retry-After earns a ban
        assert r.status_code == 418
        time.sleep(0.35)
        assert httpx.get(s.rest_url + "/api/v3/time").status_code == 200


def test_weight_limit(market15):
    faults = ReplayFaults(weight_limit=5)
    with ReplayServer(market15, start_index=100, speed=SPEED, faults=faults) as s:
        codes = [httpx.get(s.rest_url + "/api/v3/klines", params={"symbol": "BTCUSDT", "interval": "15m"}).status_code
                 for _ in range(3)]
        assert codes == [200, 200, 429]


async def _collect(url: str, n: int, timeout: float = 5.0) -> list[dict]:
    """Up to ``n`` messages (fewer when the server closes the connection)."""
    from websockets.exceptions import ConnectionClosed

    out = []
    async with connect(url) as ws:
        try:
            while len(out) < n:
                out.append(json.loads(await asyncio.wait_for(ws.recv(), timeout)))
        except ConnectionClosed:
            pass
    return out


def test_combined_and_raw_streams(market15):
    with ReplayServer(market15, start_index=100, speed=SPEED, updates_per_bar=3) as s:
        msgs = asyncio.run(_collect(s.ws_url + "/stream?streams=btcusdt@kline_15m/ethusdt@kline_15m", 12))
        assert {m["stream"] for m in msgs} == {"btcusdt@kline_15m", "ethusdt@kline_15m"}
        finals = [m["data"] for m in msgs if m["data"]["k"]["x"]]
        partial = [m["data"] for m in msgs if not m["data"]["k"]["x"]]
        assert finals and partial
        for d in finals:
            assert d["e"] == "kline" and set(d["k"]) == KLINE_KEYS and d["k"]["i"] == "15m"
            j = 0 if d["s"] == "BTCUSDT" else 1
            k = bar_index(market15, d["k"]["t"])
            assert float(d["k"]["c"]) == float(market15.close[k, j])
            assert float(d["k"]["h"]) == float(market15.high[k, j])
            assert d["E"] >= d["k"]["T"]
        for d in partial:
            j = 0 if d["s"] == "BTCUSDT" else 1
            k = bar_index(market15, d["k"]["t"])
            assert float(market15.low[k, j]) <= float(d["k"]["c"]) <= float(market15.high[k, j])
        raw = asyncio.run(_collect(s.ws_url + "/ws/btcusdt@kline_15m", 3))
        assert all(m["e"] == "kline" and m["s"] == "BTCUSDT" for m in raw)


def test_subscribe_method(market15):
    async def go(url: str) -> tuple[dict, dict]:
        async with connect(url + "/ws") as ws:
            await ws.send(json.dumps({"method": "SUBSCRIBE", "params": ["ethusdt@kline_15m"], "id": 7}))
            ack = json.loads(await asyncio.wait_for(ws.recv(), 5))
            msg = json.loads(await asyncio.wait_for(ws.recv(), 5))
            return ack, msg

    with ReplayServer(market15, start_index=100, speed=SPEED) as s:
        ack, msg = asyncio.run(go(s.ws_url))
    assert ack == {"result": None, "id": 7}
    assert msg["s"] == "ETHUSDT"


def test_server_shutdown_event(market15):
    faults = ReplayFaults(shutdown_before_final={101, 102, 103})
    with ReplayServer(market15, start_index=100, speed=SPEED, faults=faults) as s:
        msgs = asyncio.run(_collect(s.ws_url + "/ws/btcusdt@kline_15m", 20))
    # the event is the last message: the server closes the connection right after it
    assert msgs[-1]["e"] == "serverShutdown" and isinstance(msgs[-1]["E"], int)


def test_bad_arguments(market15):
    with pytest.raises(ConfigError, match="start_index"):
        ReplayServer(market15, start_index=10**6)
    with pytest.raises(ConfigError, match="speed"):
        ReplayServer(market15, speed=0)
    with pytest.raises(ConfigError, match="updates_per_bar"):
        ReplayServer(market15, updates_per_bar=0)

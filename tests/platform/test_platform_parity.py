"""One implementation: an action sequence sent over REST and the same sequence in the embedded env give
identical equity, cash, positions and fills at every step."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from platform_support import LiveServer

pytest_plugins = ["platform_support"]

START, END = "2024-03-01T00:00:00Z", "2024-03-11T00:00:00Z"
FRACTION = 0.1


def test_rest_session_equals_embedded_env(server: LiveServer, key: str, real_cache) -> None:
    import tradeready_gym  # noqa: F401  (registers the ids)

    env = gym.make("TradeReady-BTC-v0", timeframe="1h", start_time=START, end_time=END, track_training=False)
    _, info = env.reset(seed=0)
    rng = np.random.default_rng(7)
    actions = rng.choice(3, size=400, p=[0.5, 0.3, 0.2])
    with server.client(key) as c:
        sid = c.post("/api/v1/backtest/create", json={"start_time": START, "end_time": END, "candle_interval": 3600,
                                                      "starting_balance": "10000.0", "pairs": ["BTCUSDT"],
                                                      "fee_rate": "0.001"}).json()["session_id"]
        c.post(f"/api/v1/backtest/{sid}/start")
        st = c.get(f"/api/v1/backtest/{sid}/status").json()
        assert st["virtual_time"] == info["virtual_time"] and st["total_steps"] == info["total_steps"]
        equity = float(st["total_equity"])
        cash = equity
        price = float(c.get(f"/api/v1/backtest/{sid}/market/prices").json()["prices"]["BTCUSDT"])
        held = 0.0
        n_fills = 0
        steps = 0
        for a in actions:
            # the REST client sizes its order as the env's discrete scheme does, from the last response
            if a == 1 and min(FRACTION * equity, cash) > 0:
                qty = min(FRACTION * equity, cash) / price
                r = c.post(f"/api/v1/backtest/{sid}/trade/order",
                           json={"symbol": "BTCUSDT", "side": "buy", "type": "market", "quantity": repr(qty)})
                assert r.status_code == 200, r.text
            elif a == 2 and held > 0:
                r = c.post(f"/api/v1/backtest/{sid}/trade/order",
                           json={"symbol": "BTCUSDT", "side": "sell", "type": "market", "quantity": repr(held)})
                assert r.status_code == 200, r.text
            _, _, terminated, truncated, info = env.step(int(a))
            s = c.post(f"/api/v1/backtest/{sid}/step").json()
            steps += 1
            pf = s["portfolio"]
            equity, cash, price = float(pf["total_equity"]), float(pf["cash"]), float(s["prices"]["BTCUSDT"])
            held = float(pf["positions"][0]["quantity"]) if pf["positions"] else 0.0
            assert s["virtual_time"] == info["virtual_time"]
            assert equity == info["equity"] and cash == info["available_cash"]  # bit for bit
            assert held == info["positions"]["BTCUSDT"] and price == info["prices"]["BTCUSDT"]
            assert float(pf["realized_pnl"]) == info["realized_pnl"]
            rest_fills = [(f["side"], float(f["executed_qty"]), float(f["executed_price"]), float(f["fee"]))
                          for f in s["filled_orders"]]
            env_fills = [(f["side"], f["quantity"], f["price"], f["fee"]) for f in info["filled_orders"]]
            assert rest_fills == env_fills
            n_fills += len(env_fills)
            assert s["is_complete"] == (terminated or truncated)
            if terminated or truncated:
                break
    env.close()
    assert steps == 239 and n_fills > 20


@pytest.mark.parametrize("steps", [1, 7])
def test_batch_step_equals_single_steps(server: LiveServer, key: str, steps: int) -> None:
    with server.client(key) as c:
        ids = []
        for _ in range(2):
            sid = c.post("/api/v1/backtest/create", json={"start_time": START, "end_time": END, "candle_interval": 3600,
                                                          "pairs": ["BTCUSDT", "ETHUSDT"]}).json()["session_id"]
            c.post(f"/api/v1/backtest/{sid}/start")
            c.post(f"/api/v1/backtest/{sid}/trade/order", json={"symbol": "ETHUSDT", "side": "buy", "quantity": "1.5"})
            ids.append(sid)
        last = None
        for _ in range(steps):
            last = c.post(f"/api/v1/backtest/{ids[0]}/step").json()
        batch = c.post(f"/api/v1/backtest/{ids[1]}/step/batch", json={"steps": steps}).json()
        assert last is not None and batch["steps_executed"] == steps
        for k in ("virtual_time", "step", "prices", "portfolio"):
            assert batch[k] == last[k]


def test_rest_portfolio_session_equals_embedded_portfolio_env(server: LiveServer, key: str, real_cache) -> None:
    """Three pairs, target weights rebalanced every step: sells and buys in one step, netted per symbol."""
    import tradeready_gym  # noqa: F401

    symbols = ["BTCUSDT", "ETHUSDT", "SOLUSDT"]
    end = "2024-03-06T00:00:00Z"
    env = gym.make("TradeReady-Portfolio-v0", timeframe="1h", start_time=START, end_time=end, track_training=False)
    env.reset(seed=0)
    band = 0.01
    rng = np.random.default_rng(3)
    with server.client(key) as c:
        sid = c.post("/api/v1/backtest/create", json={"start_time": START, "end_time": end, "candle_interval": 3600,
                                                      "pairs": symbols}).json()["session_id"]
        c.post(f"/api/v1/backtest/{sid}/start")
        equity = float(c.get(f"/api/v1/backtest/{sid}/status").json()["total_equity"])
        prices = np.array([float(c.get(f"/api/v1/backtest/{sid}/market/prices").json()["prices"][s]) for s in symbols])
        qty = np.zeros(3)
        trades = 0
        for _ in range(200):
            if rng.random() < 0.3:  # new target weights, else hold the current ones
                action = rng.dirichlet([1.0, 1.0, 1.0, 1.0])[:3].astype(np.float32)
            else:
                action = env.unwrapped.components["actions"].noop_action()
            # the REST client sizes its orders with the scheme's rule (target weights, 1% band)
            w = np.clip(action.astype(np.float64)[None, :], 0.0, 1.0)
            total = w.sum(axis=1, keepdims=True)
            w = np.where(total > 1.0, w / np.where(total > 0, total, 1.0), w)
            target = w * max(equity, 0.0)
            gap = target - qty[None, :] * prices[None, :]
            orders = np.where(np.abs(gap) > band * equity, gap / prices[None, :], 0.0)
            orders = np.maximum(orders, -np.maximum(qty[None, :], 0.0))[0]
            for j, sym in enumerate(symbols):
                if orders[j] != 0.0:
                    side = "buy" if orders[j] > 0 else "sell"
                    r = c.post(f"/api/v1/backtest/{sid}/trade/order",
                               json={"symbol": sym, "side": side, "quantity": repr(abs(float(orders[j])))})
                    assert r.status_code in (200, 400), r.text
            _, _, terminated, truncated, info = env.step(action)
            s = c.post(f"/api/v1/backtest/{sid}/step").json()
            pf = s["portfolio"]
            equity = float(pf["total_equity"])
            prices = np.array([float(s["prices"][sym]) for sym in symbols])
            held = {p["symbol"]: float(p["quantity"]) for p in pf["positions"]}
            qty = np.array([held.get(sym, 0.0) for sym in symbols])
            assert equity == info["equity"] and float(pf["cash"]) == info["available_cash"]
            assert [info["positions"][sym] for sym in symbols] == list(qty)
            rest_fills = sorted((f["symbol"], f["side"], float(f["executed_qty"]), float(f["executed_price"]),
                                 float(f["fee"])) for f in s["filled_orders"])
            env_fills = sorted((f["symbol"], f["side"], f["quantity"], f["price"], f["fee"])
                               for f in info["filled_orders"])
            assert rest_fills == env_fills
            trades += len(env_fills)
            if terminated or truncated:
                assert s["is_complete"]
                break
    env.close()
    assert trades > 10

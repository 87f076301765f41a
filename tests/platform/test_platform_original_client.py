"""The original client's traffic (PLATFORM-API §2.1-2.3), written from the spec: an HTTP env that
resets with create -> start -> step (+ candles), steps with orders -> step -> candles (-> results at
the end), and a tracker that registers, reports episodes and completes. Every field the original
client reads is checked, and the §3 fixes are what make the run come out right."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

import httpx
import pytest
from platform_support import LiveServer

pytest_plugins = ["platform_support"]

TIMEFRAME_SECONDS = {"1m": 60, "5m": 300, "15m": 900, "1h": 3600, "4h": 14400, "1d": 86400}


class Tracker:
    """The original TrainingTracker's calls: it never checks the status (but we record them)."""

    def __init__(self, base_url: str, api_key: str, strategy_label: str) -> None:
        self.http = httpx.Client(base_url=base_url, headers={"X-API-Key": api_key}, timeout=15)
        self.run_id = str(uuid.uuid4())
        self.label = strategy_label
        self.registered = False
        self.completed = False
        self.statuses: list[tuple[str, int]] = []

    def on_reset(self) -> None:
        if self.registered:
            return
        r = self.http.post("/api/v1/training/runs", json={"run_id": self.run_id, "config": {"strategy_label": self.label}})
        self.statuses.append(("register", r.status_code))
        self.registered = True  # the original marks it registered whatever the status

    def on_episode(self, episode: int, session_id: str, results: dict[str, Any]) -> None:
        body: dict[str, Any] = {"episode_number": episode, "session_id": session_id}
        if results:
            for k in ("roi_pct", "sharpe_ratio", "max_drawdown_pct", "total_trades", "reward_sum"):
                body[k] = results.get(k)
        r = self.http.post(f"/api/v1/training/runs/{self.run_id}/episodes", json=body)
        self.statuses.append(("episode", r.status_code))

    def close(self) -> None:
        if self.registered and not self.completed:
            r = self.http.post(f"/api/v1/training/runs/{self.run_id}/complete")
            self.statuses.append(("complete", r.status_code))
            self.completed = True
        self.http.close()


class OriginalHttpEnv:
    """The original discrete HTTP env's request pattern (0 hold, 1 buy, 2 sell/close)."""

    def __init__(self, base_url: str, api_key: str, *, pairs: list[str], timeframe: str, lookback: int,
                 start: str, end: str, position_size_pct: float = 0.1) -> None:
        self.http = httpx.Client(base_url=base_url, headers={"X-API-Key": api_key}, timeout=30)
        self.pairs, self.timeframe, self.lookback = pairs, timeframe, lookback
        self.start, self.end, self.pct = start, end, position_size_pct
        self.tracker = Tracker(base_url, api_key, "original-client")
        self.resets = 0
        self.session_id = ""
        self.last: dict[str, Any] = {}
        self.swallowed: list[int] = []

    def _json(self, r: httpx.Response) -> Any:
        r.raise_for_status()
        return None if r.status_code == 204 or not r.content else r.json()

    def _observe(self) -> dict[str, list[dict[str, Any]]]:
        out = {}
        for sym in self.pairs:
            body = self._json(self.http.get(f"/api/v1/backtest/{self.session_id}/market/candles/{sym}",
                                            params={"interval": self.timeframe, "limit": self.lookback}))
            for c in body["candles"]:
                for k in ("open", "high", "low", "close", "volume"):
                    float(c[k])  # the client reads these as numbers from decimal strings
            out[sym] = body["candles"]
        return out

    def _read_step(self, step: dict[str, Any]) -> dict[str, Any]:
        pf = step["portfolio"]
        # every field the client reads (§2.2 "The client reads")
        info = {
            "prices": {s: float(step["prices"][s]) for s in self.pairs},
            "equity": float(pf["total_equity"]),
            "balance": float(pf["available_cash"]),
            "position": float(pf["total_position_value"]),
            "starting_balance": float(pf["starting_balance"]),
            "unrealized_pnl": float(pf["unrealized_pnl"]),
            "positions": {p["symbol"]: (float(p["quantity"]), float(p["market_value"])) for p in pf["positions"]},
            "terminated": bool(step["is_complete"]),
            "step": int(step["step"]),
            "total_steps": int(step["total_steps"]),
            "filled_orders": step["filled_orders"],
        }
        return info

    def reset(self) -> tuple[dict[str, Any], dict[str, Any]]:
        self.resets += 1
        self.tracker.on_reset()
        body = {
            "start_time": self.start,
            "end_time": self.end,
            "starting_balance": str(Decimal("10000.0")),
            "candle_interval": TIMEFRAME_SECONDS.get(self.timeframe, 60),
            "pairs": self.pairs,
            "strategy_label": "original-client",
        }
        created = self._json(self.http.post("/api/v1/backtest/create", json=body))
        self.session_id = created["session_id"]
        self._json(self.http.post(f"/api/v1/backtest/{self.session_id}/start"))
        step = self._json(self.http.post(f"/api/v1/backtest/{self.session_id}/step"))
        self.last = self._read_step(step)
        return self._observe(), self.last

    def step(self, action: int) -> tuple[dict[str, Any], bool, dict[str, Any]]:
        sym = self.pairs[0]
        order = None
        if action == 1:
            qty = self.last["equity"] * self.pct / self.last["prices"][sym]
            order = {"symbol": sym, "side": "buy", "type": "market", "quantity": str(Decimal(str(qty)))}
        elif action == 2 and sym in self.last["positions"]:
            order = {"symbol": sym, "side": "sell", "type": "market",
                     "quantity": str(Decimal(str(self.last["positions"][sym][0])))}
        elif action == 2:  # the original sends a sell it does not hold only in its naked-sell bug; we probe it
            order = {"symbol": sym, "side": "sell", "type": "market", "quantity": "0.01"}
        if order is not None:
            try:
                self._json(self.http.post(f"/api/v1/backtest/{self.session_id}/trade/order", json=order))
            except httpx.HTTPStatusError as exc:  # swallowed, as the original does
                self.swallowed.append(exc.response.status_code)
        step = self._json(self.http.post(f"/api/v1/backtest/{self.session_id}/step"))
        info = self._read_step(step)
        obs = self._observe()  # §3 #4: must work after the final step too
        if info["terminated"]:
            try:
                results = self._json(self.http.get(f"/api/v1/backtest/{self.session_id}/results"))
            except httpx.HTTPStatusError:
                results = {}
            info["results"] = results
            self.tracker.on_episode(self.resets, self.session_id, results)
        self.last = info
        return obs, info["terminated"], info

    def close(self) -> None:
        self.tracker.close()
        self.http.close()


def test_original_client_runs_episodes_and_tracker(server: LiveServer, key: str) -> None:
    env = OriginalHttpEnv(server.url, key, pairs=["BTCUSDT"], timeframe="1h", lookback=30,
                          start="2024-03-01T00:00:00Z", end="2024-03-03T00:00:00Z")
    actions = [1, 0, 1, 0, 0, 2, 2, 1, 0, 2] * 10
    episodes = []
    for _ in range(2):
        obs, info = env.reset()
        assert len(obs["BTCUSDT"]) == 30 and info["step"] == 1 and info["total_steps"] == 47
        assert info["starting_balance"] == 10000.0 and info["position"] == 0.0
        fills_seen = 0
        for i, a in enumerate(actions):
            obs, done, info = env.step(a)
            assert len(obs["BTCUSDT"]) == 30
            fills_seen += len(info["filled_orders"])
            if info["positions"]:
                q, mv = info["positions"]["BTCUSDT"]
                assert info["position"] == pytest.approx(mv) and mv == pytest.approx(q * info["prices"]["BTCUSDT"])
                assert info["balance"] < info["equity"]  # cash, not equity, and the position value is separate
            if done:
                assert i == 45 and info["step"] == 47  # reset took step 1
                break
        assert fills_seen > 0  # §3 #1: filled_orders is populated
        res = info["results"]
        for k in ("roi_pct", "sharpe_ratio", "max_drawdown_pct", "total_trades"):
            assert res[k] is not None, k  # §3 #3: top-level metrics
        assert res["total_trades"] == fills_seen
        episodes.append(res)
    assert 400 in env.swallowed  # §3 #9: the naked sell was refused (and swallowed by the client)
    env.close()
    assert [s for s in env.tracker.statuses] == [("register", 201), ("episode", 200), ("episode", 200),
                                                 ("complete", 200)]
    with server.client(key) as c:
        run = c.get(f"/api/v1/training/runs/{env.tracker.run_id}").json()
        assert run["status"] == "finished" and run["episodes_completed"] == 2
        assert [e["roi_pct"] for e in run["episodes"]] == [r["roi_pct"] for r in episodes]
        assert [e["session_id"] for e in run["episodes"]] == [r["session_id"] for r in episodes]
        curve = c.get(f"/api/v1/training/runs/{env.tracker.run_id}/learning-curve").json()
        assert curve["episode_numbers"] == [1, 2] and len(curve["raw_values"]) == 2


def test_client_with_empty_key_gets_401_envelope(server: LiveServer) -> None:
    with httpx.Client(base_url=server.url, headers={"X-API-Key": ""}) as c:
        r = c.post("/api/v1/backtest/create", json={})
        assert r.status_code == 401
        assert r.json()["error"]["code"] == "INVALID_API_KEY" and r.json()["error"]["message"]


def test_four_hour_and_multi_pair_reset(server: LiveServer, key: str) -> None:
    env = OriginalHttpEnv(server.url, key, pairs=["BTCUSDT", "ETHUSDT", "SOLUSDT"], timeframe="4h", lookback=50,
                          start="2024-03-01T00:00:00Z", end="2024-03-08T00:00:00Z")
    obs, info = env.reset()  # §3 #5: 14400 is accepted
    assert set(obs) == {"BTCUSDT", "ETHUSDT", "SOLUSDT"} and all(len(v) == 50 for v in obs.values())
    assert set(info["prices"]) == {"BTCUSDT", "ETHUSDT", "SOLUSDT"}
    env.close()

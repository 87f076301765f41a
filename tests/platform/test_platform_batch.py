"""REST batch steps equal single steps when pending orders trigger inside the batch (the real SOL
wick of 2024-01-03 12:00, low 85.00): state, fills, orders, trades and the equity curve."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from platform_support import LiveServer, create_session

pytest_plugins = ["platform_support"]

WINDOW = {"start_time": "2024-01-02T00:00:00Z", "end_time": "2024-01-05T00:00:00Z"}


def _session(c: httpx.Client) -> str:
    """A running SOL session long 10 SOL with a stop-loss and a limit buy that fill in the wick bar,
    and a take-profit that never fills."""
    sid = create_session(c, pairs=["SOLUSDT"], fee_rate="0.001", **WINDOW)
    r = c.post(f"/api/v1/backtest/{sid}/trade/order", json={"symbol": "SOLUSDT", "side": "buy", "quantity": "10"})
    assert r.status_code == 200, r.text
    assert c.post(f"/api/v1/backtest/{sid}/step").status_code == 200
    for side, kind, qty, price in (("sell", "stop_loss", "4", "90"), ("buy", "limit", "3", "86"),
                                   ("sell", "take_profit", "2", "200")):
        r = c.post(f"/api/v1/backtest/{sid}/trade/order",
                   json={"symbol": "SOLUSDT", "side": side, "type": kind, "quantity": qty, "price": price})
        assert r.status_code == 200, r.text
    return sid


def _no_ids(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: v for k, v in it.items() if k != "order_id"} for it in items]


@pytest.mark.parametrize("chunk", [1000, 5])
def test_batch_steps_with_triggered_orders_equal_single_steps(server: LiveServer, key: str, chunk: int) -> None:
    with server.client(key) as c:
        single, batch = _session(c), _session(c)
        singles: list[dict[str, Any]] = []
        while True:
            s = c.post(f"/api/v1/backtest/{single}/step").json()
            singles.append(s)
            if s["is_complete"]:
                break
        batches: list[dict[str, Any]] = []
        while not (batches and batches[-1]["is_complete"]):
            r = c.post(f"/api/v1/backtest/{batch}/step/batch", json={"steps": chunk})
            assert r.status_code == 200, r.text
            batches.append(r.json())
        last, b = singles[-1], batches[-1]
        assert sum(x["steps_executed"] for x in batches) == len(singles)
        for k in ("virtual_time", "step", "total_steps", "prices", "portfolio", "is_complete", "status"):
            assert b[k] == last[k]
        fills_single = [f for s in singles for f in s["filled_orders"]]
        fills_batch = [f for x in batches for f in x["filled_orders"]]
        assert sorted(f["type"] for f in fills_single) == ["limit", "stop_loss"]
        assert _no_ids(fills_batch) == _no_ids(fills_single)
        assert {f["time"] for f in fills_single} == {"2024-01-03T12:00:00Z"}
        # the batch that holds the wick reports its portfolio after the fills, like the single step did
        for route in ("trade/orders", "trade/history"):
            a_items = c.get(f"/api/v1/backtest/{single}/{route}").json()
            b_items = c.get(f"/api/v1/backtest/{batch}/{route}").json()
            key_name = "orders" if route == "trade/orders" else "trades"
            assert _no_ids(b_items[key_name]) == _no_ids(a_items[key_name])
        statuses = [o["status"] for o in c.get(f"/api/v1/backtest/{batch}/trade/orders").json()["orders"]]
        assert statuses == ["filled", "filled", "filled", "pending"]
        ca = c.get(f"/api/v1/backtest/{single}/results/equity-curve").json()
        cb = c.get(f"/api/v1/backtest/{batch}/results/equity-curve").json()
        assert {k: v for k, v in cb.items() if k != "session_id"} == {
            k: v for k, v in ca.items() if k != "session_id"
        }
        ra = c.get(f"/api/v1/backtest/{single}/results").json()
        rb = c.get(f"/api/v1/backtest/{batch}/results").json()
        assert rb["metrics"] == ra["metrics"] and rb["by_pair"] == ra["by_pair"]
        assert rb["summary"]["final_equity"] == ra["summary"]["final_equity"]

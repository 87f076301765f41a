"""REST backtests: the §2.2 flow with every fix of §3, plus batch step, cancel, status, orders, trades,
equity curve and list."""

from __future__ import annotations

import uuid

import pytest
from platform_support import BTC_WINDOW, create_session

pytest_plugins = ["platform_support"]


def test_flow_create_start_step_order_results(api) -> None:
    r = api.post("/api/v1/backtest/create", json={**BTC_WINDOW, "starting_balance": "10000.0",
                                                  "candle_interval": 3600, "pairs": ["BTCUSDT"],
                                                  "strategy_label": "flow", "fee_rate": "0.001"})
    assert r.status_code == 200
    body = r.json()
    uuid.UUID(body["session_id"])
    assert body["status"] == "created" and body["total_steps"] == 47 and body["estimated_pairs"] == 1
    sid = body["session_id"]
    assert api.post(f"/api/v1/backtest/{sid}/step").status_code == 409  # not started
    assert api.post(f"/api/v1/backtest/{sid}/start").json() == {"status": "running", "session_id": sid}
    assert api.post(f"/api/v1/backtest/{sid}/start").status_code == 409

    s1 = api.post(f"/api/v1/backtest/{sid}/step").json()
    assert s1["step"] == 1 and s1["total_steps"] == 47 and s1["remaining_steps"] == 46
    assert s1["virtual_time"] == "2024-03-01T02:00:00Z"
    price = float(s1["prices"]["BTCUSDT"])
    pf = s1["portfolio"]
    assert pf["total_equity"] == "10000.0" and pf["starting_balance"] == "10000.0"
    assert pf["total_position_value"] == pf["position_value"] == "0.0" and pf["positions"] == []

    qty = 1000.0 / price
    o = api.post(f"/api/v1/backtest/{sid}/trade/order",
                 json={"symbol": "BTCUSDT", "side": "buy", "type": "market", "quantity": str(qty)})
    assert o.status_code == 200 and o.json()["status"] == "pending"
    s2 = api.post(f"/api/v1/backtest/{sid}/step").json()
    assert s2["filled_orders"] == s2["orders_filled"] and len(s2["filled_orders"]) == 1
    fill = s2["filled_orders"][0]
    assert fill["order_id"] == o.json()["order_id"] and fill["side"] == "buy" and fill["symbol"] == "BTCUSDT"
    assert float(fill["executed_qty"]) == pytest.approx(qty)
    pos = s2["portfolio"]["positions"]
    assert [p["symbol"] for p in pos] == ["BTCUSDT"] and float(pos[0]["quantity"]) == pytest.approx(qty)
    pv = float(s2["portfolio"]["total_position_value"])
    assert pv == pytest.approx(qty * float(s2["prices"]["BTCUSDT"]))
    assert float(s2["portfolio"]["available_cash"]) + pv == pytest.approx(float(s2["portfolio"]["total_equity"]))
    s3 = api.post(f"/api/v1/backtest/{sid}/step").json()
    assert s3["filled_orders"] == []  # only fills since the previous step

    orders = api.get(f"/api/v1/backtest/{sid}/trade/orders").json()
    assert orders["count"] == 1 and orders["orders"][0]["status"] == "filled"
    st = api.get(f"/api/v1/backtest/{sid}/status").json()
    assert st["status"] == "running" and st["step"] == 3
    assert api.get(f"/api/v1/backtest/{sid}/results").status_code == 409  # not finished yet

    last = api.post(f"/api/v1/backtest/{sid}/step/batch", json={"steps": 1000}).json()
    assert last["is_complete"] is True and last["step"] == 47 and last["steps_executed"] == 44
    assert last["remaining_steps"] == 0
    # §3 #4: a completed session stays readable; only a further step is refused
    c = api.get(f"/api/v1/backtest/{sid}/market/candles/BTCUSDT", params={"interval": "1h", "limit": 30})
    assert c.status_code == 200 and c.json()["count"] == 30
    assert c.json()["candles"][-1]["bucket"] == "2024-03-02T23:00:00Z"  # the last closed bar
    assert api.post(f"/api/v1/backtest/{sid}/step").status_code == 409
    res = api.get(f"/api/v1/backtest/{sid}/results").json()
    assert res["status"] == "completed"
    assert res["total_trades"] == 1 and res["summary"]["total_trades"] == 1
    assert isinstance(res["roi_pct"], float) and res["summary"]["roi_pct"] == f"{res['roi_pct']:.2f}"
    assert res["sharpe_ratio"] is not None and res["max_drawdown_pct"] is not None
    assert "reward_sum" in res and res["reward_sum"] is None
    assert float(res["summary"]["final_equity"]) == pytest.approx(float(last["portfolio"]["total_equity"]))
    curve = api.get(f"/api/v1/backtest/{sid}/results/equity-curve").json()
    assert curve["count"] == 48 and curve["points"][-1]["equity"] == last["portfolio"]["total_equity"]
    trades = api.get(f"/api/v1/backtest/{sid}/results/trades").json()
    assert trades["count"] == 1
    listed = api.get("/api/v1/backtest/list").json()
    assert [s["session_id"] for s in listed["sessions"]] == [sid]
    assert listed["sessions"][0]["status"] == "completed"


def test_naked_sell_refused_and_sell_closes(api) -> None:
    sid = create_session(api)
    api.post(f"/api/v1/backtest/{sid}/step")
    r = api.post(f"/api/v1/backtest/{sid}/trade/order",
                 json={"symbol": "BTCUSDT", "side": "sell", "type": "market", "quantity": "0.5"})
    assert r.status_code == 400 and r.json()["error"]["code"] == "INSUFFICIENT_BALANCE"
    api.post(f"/api/v1/backtest/{sid}/trade/order",
             json={"symbol": "BTCUSDT", "side": "buy", "type": "market", "quantity": "0.01"})
    s = api.post(f"/api/v1/backtest/{sid}/step").json()
    held = s["portfolio"]["positions"][0]["quantity"]
    assert api.post(f"/api/v1/backtest/{sid}/trade/order",
                    json={"symbol": "BTCUSDT", "side": "sell", "type": "market", "quantity": held}).status_code == 200
    s = api.post(f"/api/v1/backtest/{sid}/step").json()
    assert s["portfolio"]["positions"] == [] and s["filled_orders"][0]["side"] == "sell"
    r = api.post(f"/api/v1/backtest/{sid}/trade/order",
                 json={"symbol": "ETHUSDT", "side": "buy", "type": "market", "quantity": "1"})
    assert r.status_code == 400 and r.json()["error"]["code"] == "INVALID_SYMBOL"


@pytest.mark.parametrize("interval", [3600, 14400, 86400])
def test_every_cached_interval_is_accepted(api, interval) -> None:
    r = api.post("/api/v1/backtest/create", json={"start_time": "2024-03-01T00:00:00Z",
                                                  "end_time": "2024-04-01T00:00:00Z", "starting_balance": "1000",
                                                  "candle_interval": interval, "pairs": ["BTCUSDT", "ETHUSDT"]})
    assert r.status_code == 200, r.text
    assert r.json()["total_steps"] == 31 * 86400 // interval - 1


@pytest.mark.parametrize("interval", [900, 1800, 300, 60])
def test_finer_intervals_validate_then_need_data(api, interval) -> None:
    # accepted by validation (§3 #5); the test cache holds 1h/4h/1d only, so the answer is BACKTEST_NO_DATA
    r = api.post("/api/v1/backtest/create", json={**BTC_WINDOW, "candle_interval": interval, "pairs": ["BTCUSDT"]})
    assert r.status_code == 400 and r.json()["error"]["code"] == "BACKTEST_NO_DATA"


@pytest.mark.parametrize(
    "patch",
    [
        {"candle_interval": 120},
        {"starting_balance": "0"},
        {"starting_balance": "1e8"},
        {"pairs": ["btcusdt"]},
        {"end_time": "2024-02-01T00:00:00Z"},
        {"fee_rate": "0.5"},
        {"strategy_label": "x" * 101},
    ],
)
def test_create_validation_is_422(api, patch) -> None:
    body = {**BTC_WINDOW, "candle_interval": 3600, "pairs": ["BTCUSDT"], **patch}
    r = api.post("/api/v1/backtest/create", json=body)
    assert r.status_code == 422 and "detail" in r.json()


def test_no_data_cases(api) -> None:
    r = api.post("/api/v1/backtest/create", json={"start_time": "2010-01-01T00:00:00Z",
                                                  "end_time": "2010-02-01T00:00:00Z", "candle_interval": 3600,
                                                  "pairs": ["BTCUSDT"]})
    assert r.status_code == 400 and r.json()["error"]["code"] == "BACKTEST_NO_DATA"
    r = api.post("/api/v1/backtest/create", json={**BTC_WINDOW, "candle_interval": 3600, "pairs": ["1000SATSUSDT"]})
    assert r.status_code == 400 and r.json()["error"]["code"] == "BACKTEST_NO_DATA"


def test_unknown_session_is_404_and_candle_params_checked(api) -> None:
    sid = str(uuid.uuid4())
    for method, path in [("post", "step"), ("post", "start"), ("get", "results"), ("get", "status"),
                         ("get", "market/candles/BTCUSDT")]:
        r = getattr(api, method)(f"/api/v1/backtest/{sid}/{path}")
        assert r.status_code == 404 and r.json()["error"]["code"] == "BACKTEST_NOT_FOUND", path
    sid = create_session(api)
    assert api.get(f"/api/v1/backtest/{sid}/market/candles/BTCUSDT", params={"interval": "7m"}).status_code == 422
    assert api.get(f"/api/v1/backtest/{sid}/market/candles/BTCUSDT", params={"limit": 1001}).status_code == 422
    c = api.get(f"/api/v1/backtest/{sid}/market/candles/BTCUSDT", params={"interval": "3600", "limit": 1000}).json()
    assert c["count"] == 1000 and c["candles"][-1]["bucket"] == "2024-03-01T00:00:00Z"  # history before start
    c4 = api.get(f"/api/v1/backtest/{sid}/market/candles/BTCUSDT", params={"interval": "4h", "limit": 2}).json()
    assert [k["bucket"] for k in c4["candles"]] == ["2024-02-29T16:00:00Z", "2024-02-29T20:00:00Z"]


def test_cancel_and_limit_orders(api) -> None:
    sid = create_session(api)
    s = api.post(f"/api/v1/backtest/{sid}/step").json()
    px = float(s["prices"]["BTCUSDT"])
    o = api.post(f"/api/v1/backtest/{sid}/trade/order",
                 json={"symbol": "BTCUSDT", "side": "buy", "type": "limit", "quantity": "0.01", "price": str(px * 0.5)})
    assert o.status_code == 200
    oid = o.json()["order_id"]
    r = api.delete(f"/api/v1/backtest/{sid}/trade/order/{oid}")
    assert r.status_code == 200 and r.json()["status"] == "cancelled"
    r = api.post(f"/api/v1/backtest/{sid}/cancel")
    assert r.status_code == 200 and r.json()["status"] == "cancelled"
    assert api.post(f"/api/v1/backtest/{sid}/step").status_code == 409
    assert api.get(f"/api/v1/backtest/{sid}/results").json()["status"] == "cancelled"


def test_idle_session_cap_per_key(server, real_cache, tmp_path) -> None:
    from platform_support import LiveServer, make_settings

    url = f"sqlite:///{tmp_path}/cap.sqlite"
    with LiveServer(make_settings(url, real_cache, max_sessions_per_key=3)) as srv:
        key = srv.register()
        with srv.client(key) as c:
            ids = [create_session(c) for _ in range(5)]
            statuses = [c.get(f"/api/v1/backtest/{i}/status").json()["status"] for i in ids]
            assert statuses == ["cancelled", "cancelled", "running", "running", "running"]
            assert c.post(f"/api/v1/backtest/{ids[0]}/step").status_code == 409
            assert c.post(f"/api/v1/backtest/{ids[4]}/step").status_code == 200

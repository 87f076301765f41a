"""Limit / stop-loss / take-profit orders, reservations, filters and margin mode on real bars."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tradeready_gym.data.market import MarketData
from tradeready_gym.engine import Engine, EngineConfig, FixedBpsSlippage, NoSlippage
from tradeready_gym.errors import InvalidOrderError

WICK = "2024-01-03T12:00:00Z"  # SOLUSDT 1h: open 103.42, high 103.47, low 85.00, close 100.31


def _long_sol(md: MarketData, cfg: EngineConfig, qty: float = 10.0) -> tuple[Engine, int]:
    """Buy ``qty`` SOL at the open of the bar before the wick; return the engine at decision t = wick - 1."""
    wick = md.index_of(WICK)
    eng = Engine(md, cfg)
    eng.reset(wick - 3)
    eng.step(np.array([[qty]]))  # fills at open[wick - 2]
    eng.step()
    assert int(eng.t[0]) == wick - 1
    assert eng.qty[0, 0] == qty
    return eng, wick


def test_wick_bar_is_the_real_one(sol_1h):
    w = sol_1h.index_of(WICK)
    assert (sol_1h.open[w, 0], sol_1h.high[w, 0], sol_1h.low[w, 0], sol_1h.close[w, 0]) == (103.42, 103.47, 85.0, 100.31)
    assert sol_1h.high[w, 0] / sol_1h.low[w, 0] - 1 > 0.18


def test_stop_loss_fills_at_level_inside_the_wick(sol_1h):
    eng, wick = _long_sol(sol_1h, EngineConfig(fee_rate=0.001))
    cash0 = float(eng.cash[0])
    oid = eng.place_order(0, "SOLUSDT", "sell", "stop_loss", 10.0, 90.0)
    eng.step()
    (f,) = eng.last_fills(0)
    assert (f.kind, f.side, f.quantity, f.price, f.order_id) == ("stop_loss", "sell", 10.0, 90.0, oid)
    assert f.time == sol_1h.open_time[wick]
    assert f.fee == 10.0 * 90.0 * 0.001
    assert eng.cash[0] == cash0 + 900.0 - 0.9
    assert eng.qty[0, 0] == 0.0 and eng.equity[0] == eng.cash[0]
    assert eng.open_orders(0) == []


def test_stop_loss_slippage_applies_to_the_triggered_fill(sol_1h):
    eng, _ = _long_sol(sol_1h, EngineConfig(fee_rate=0.0, slippage=FixedBpsSlippage(10)))
    eng.place_order(0, "SOLUSDT", "sell", "stop_loss", 10.0, 90.0)
    eng.step()
    (f,) = eng.last_fills(0)
    assert f.price == pytest.approx(90.0 * (1 - 0.001), rel=1e-15)
    assert f.slippage == pytest.approx(10 * 90.0 * 0.001, rel=1e-12)


def test_limit_buy_fills_at_level_in_the_wick_and_releases_the_reservation(sol_1h):
    w = sol_1h.index_of(WICK)
    eng = Engine(sol_1h, EngineConfig(starting_balance=1_000.0, fee_rate=0.001))
    eng.reset(w - 1)
    oid = eng.place_order(0, "SOLUSDT", "buy", "limit", 10.0, 88.0)
    far = eng.place_order(0, "SOLUSDT", "buy", "limit", 1.0, 84.99)  # one cent below the low: never fills
    assert eng.reserved_cash[0] == pytest.approx(880.0 * 1.001 + 84.99 * 1.001)
    eng.step()
    (f,) = eng.last_fills(0)
    assert (f.kind, f.side, f.quantity, f.price, f.order_id) == ("limit", "buy", 10.0, 88.0, oid)
    assert eng.cash[0] == pytest.approx(1_000.0 - 880.0 - 0.88, rel=1e-15)
    assert [o.order_id for o in eng.open_orders(0)] == [far]
    assert eng.reserved_cash[0] == pytest.approx(84.99 * 1.001)
    assert eng.equity[0] == pytest.approx(eng.cash[0] + 10 * 100.31, rel=1e-15)
    assert eng.cancel_order(0, far) and eng.reserved_cash[0] == 0.0
    assert not eng.cancel_order(0, far)


def test_limit_at_exactly_the_low_fills(sol_1h):
    w = sol_1h.index_of(WICK)
    eng = Engine(sol_1h, EngineConfig(fee_rate=0.0))
    eng.reset(w - 1)
    eng.place_order(0, 0, "buy", "limit", 1.0, 85.0)
    eng.step()
    assert [f.price for f in eng.last_fills(0)] == [85.0]


def test_take_profit_fills_at_level(sol_1h):
    eng, _ = _long_sol(sol_1h, EngineConfig(fee_rate=0.0))
    eng.place_order(0, "SOLUSDT", "sell", "take_profit", 4.0, 103.45)  # high is 103.47
    eng.step()
    (f,) = eng.last_fills(0)
    assert (f.kind, f.quantity, f.price) == ("take_profit", 4.0, 103.45)
    assert eng.qty[0, 0] == 6.0


def test_bar_touching_both_levels_fills_the_stop_first(sol_1h):
    """Stated rule: within one bar, stop-losses are checked before take-profits and limits (the worse
    outcome for the trader); a take-profit with nothing left to close is dropped."""
    eng, _ = _long_sol(sol_1h, EngineConfig(fee_rate=0.0))
    eng.place_order(0, "SOLUSDT", "sell", "take_profit", 10.0, 103.45)
    eng.place_order(0, "SOLUSDT", "sell", "stop_loss", 10.0, 90.0)
    eng.step()
    fills = eng.last_fills(0)
    assert [(f.kind, f.price, f.quantity) for f in fills] == [("stop_loss", 90.0, 10.0)]
    assert eng.open_orders(0) == [] and eng.qty[0, 0] == 0.0


def test_gap_through_fills_at_the_open(sol_1h):
    """SOLUSDT 2024-01-03 14:00 closes at 96.57 and the 15:00 bar opens at 96.55: a sell stop at 96.56
    is gapped through and fills at the (worse) open; a buy limit at 96.56 fills at the (better) open."""
    t = sol_1h.index_of("2024-01-03T14:00:00Z")
    assert sol_1h.close[t, 0] == 96.57 and sol_1h.open[t + 1, 0] == 96.55
    eng = Engine(sol_1h, EngineConfig(fee_rate=0.0), n_accounts=1)
    eng.reset(t - 1)
    eng.step(np.array([[5.0]]))
    eng.place_order(0, 0, "sell", "stop_loss", 5.0, 96.56)
    eng.place_order(0, 0, "buy", "limit", 2.0, 96.56)
    eng.step()
    fills = eng.last_fills(0)
    assert [(f.kind, f.side, f.price) for f in fills] == [("stop_loss", "sell", 96.55), ("limit", "buy", 96.55)]
    assert all(f.time == sol_1h.open_time[t + 1] for f in fills)


def test_stop_already_through_fills_at_next_open(sol_1h):
    w = sol_1h.index_of(WICK)
    eng, _ = _long_sol(sol_1h, EngineConfig(fee_rate=0.0))
    eng.step()  # now t = wick, close 100.31
    eng.place_order(0, 0, "sell", "stop_loss", 10.0, 101.0)  # above the current price
    eng.step()
    (f,) = eng.last_fills(0)
    assert f.price == sol_1h.open[w + 1, 0] == 100.31


def test_reserved_funds_limit_market_orders(sol_1h):
    eng = Engine(sol_1h, EngineConfig(starting_balance=1_000.0, fee_rate=0.0))
    eng.reset(10)
    eng.place_order(0, 0, "buy", "limit", 6.0, 50.0)  # reserves 300, never fills (SOL ~ 100)
    eng.step(np.array([[100.0]]))  # wants ~10,000: clipped to the 700 not reserved
    (f,) = eng.last_fills(0)
    assert f.quantity * f.price == pytest.approx(700.0, rel=1e-12)
    assert eng.cash[0] == pytest.approx(300.0, rel=1e-12) and eng.cash[0] >= eng.reserved_cash[0]
    q = float(eng.qty[0, 0])
    # a pending limit sell reserves quantity: a market sell of everything gets only the rest
    eng.place_order(0, 0, "sell", "limit", q / 2, 1_000.0)
    assert eng.reserved_qty[0, 0] == q / 2
    eng.step(np.array([[-q]]))
    (f,) = eng.last_fills(0)
    assert f.quantity == q - q / 2
    assert eng.qty[0, 0] == q / 2
    # a limit buy beyond the available cash is clipped (or refused under "reject")
    avail = float(eng.cash[0] - eng.reserved_cash[0])
    oid = eng.place_order(0, 0, "buy", "limit", 1e6, 40.0)
    (o,) = [o for o in eng.open_orders(0) if o.order_id == oid]
    assert o.reserved <= avail and o.quantity == pytest.approx(avail / 40.0, rel=1e-12)
    assert eng.place_order(0, 0, "buy", "limit", 1.0, 40.0) == -1  # nothing left to reserve


def test_reject_rule(sol_1h):
    eng = Engine(sol_1h, EngineConfig(starting_balance=1_000.0, fee_rate=0.001, on_insufficient="reject"))
    eng.reset(10)
    eng.step(np.array([[100.0]]))
    assert eng.last_fills(0) == [] and eng.cash[0] == 1_000.0
    assert eng.metrics(0).n_rejected == 1
    eng.step(np.array([[5.0]]))
    assert eng.qty[0, 0] == 5.0
    eng.step(np.array([[-6.0]]))  # more than the holding: rejected, not clipped
    assert eng.last_fills(0) == [] and eng.qty[0, 0] == 5.0
    assert eng.place_order(0, 0, "buy", "limit", 1e4, 50.0) == -1


def test_lot_step_and_min_notional(market3):
    cfg = EngineConfig(fee_rate=0.001, lot_step=(0.001, 0.01, 0.1), min_notional=(10.0, 10.0, 50.0))
    eng = Engine(market3, cfg)
    eng.reset(0)
    eng.step(np.array([[0.12345, 1.2345, 12.345]]))
    got = {f.symbol: f.quantity for f in eng.last_fills(0)}
    assert got == pytest.approx({"BTCUSDT": 0.123, "ETHUSDT": 1.23, "SOLUSDT": 12.3}, rel=1e-12)
    for f in eng.last_fills(0):
        step = {"BTCUSDT": 0.001, "ETHUSDT": 0.01, "SOLUSDT": 0.1}[f.symbol]
        assert abs(f.quantity / step - round(f.quantity / step)) < 1e-9
    before = eng.qty[0].copy()
    eng.step(np.array([[0.0005, 0.0, 0.05]]))  # both below their lot step: nothing at all
    assert eng.last_fills(0) == [] and eng.metrics(0).n_rejected == 0
    eng.step(np.array([[0.0, 0.0, 0.3]]))  # SOL 0.3 ~ 30 USDT < min_notional 50: rejected
    assert eng.last_fills(0) == [] and eng.metrics(0).n_rejected == 1
    np.testing.assert_array_equal(eng.qty[0], before)
    with pytest.raises(InvalidOrderError, match="min_notional"):
        eng.place_order(0, "BTCUSDT", "buy", "limit", 0.001, 5_000.0)


def test_margin_short_borrow_and_liquidation(sol_1h):
    """Short SOL at 5x before the 2024-01 rally: borrow cost accrues each bar, then the account is
    liquidated at a close when equity < maintenance margin x gross exposure."""
    cfg = EngineConfig(starting_balance=1_000.0, fee_rate=0.001, mode="margin", leverage=5.0,
                       maintenance_margin=0.15, borrow_rate=0.2)
    eng = Engine(sol_1h, cfg)
    eng.reset(0)
    px = float(eng.clock_close()[0, 0])
    eng.step(np.array([[-100.0]]))  # wants ~10x: clipped to 5x equity
    (f,) = eng.last_fills(0)
    assert f.side == "sell" and f.kind == "market"
    assert f.quantity * f.price <= 5.0 * 1_000.0 * (1 + 1e-12)
    assert f.quantity * px == pytest.approx(5.0 * 1_000.0, rel=1e-9)
    assert eng.qty[0, 0] < 0 and eng.cash[0] > 1_000.0
    borrow_per_bar = 0.2 / (365 * 24)
    liquidated = False
    while eng.bars_left()[0] > 0:
        t = int(eng.t[0])
        cash0, q0 = float(eng.cash[0]), float(eng.qty[0, 0])
        eng.step()
        c = sol_1h.close[t + 1, 0]
        fills = eng.last_fills(0)
        if fills:
            (lf,) = fills
            assert lf.kind == "liquidation" and lf.side == "buy" and lf.quantity == -q0 and lf.price == c
            assert eng.qty[0, 0] == 0.0 and eng.equity[0] == eng.cash[0]
            gross = -q0 * c
            assert cash0 - borrow_per_bar * gross + q0 * c < 0.15 * gross  # it was below maintenance
            liquidated = True
            break
        assert eng.cash[0] == pytest.approx(cash0 - borrow_per_bar * (-q0 * c), rel=1e-15)
        assert eng.equity[0] == pytest.approx(eng.cash[0] + q0 * c, rel=1e-12)
        assert eng.equity[0] >= 0.15 * (-q0 * c)
    assert liquidated
    m = eng.metrics(0)
    assert m.n_liquidations == 1 and m.borrow_paid > 0


def test_margin_long_and_flip(market3):
    cfg = EngineConfig(fee_rate=0.0, mode="margin", leverage=2.0, borrow_rate=0.0)
    eng = Engine(market3, cfg)
    eng.reset(0)
    eng.step(np.array([[0.2, 0.0, 0.0]]))  # ~8,500 USDT of BTC with 10,000 equity: cash stays positive
    p1 = eng.last_fills(0)[0].price
    eng.step(np.array([[-0.5, 0.0, 0.0]]))  # sells 0.2, opens a 0.3 short
    (f,) = eng.last_fills(0)
    assert f.quantity == pytest.approx(0.5) and eng.qty[0, 0] == pytest.approx(-0.3)
    assert eng.avg_price[0, 0] == f.price
    assert eng.realized_pnl[0] == pytest.approx(0.2 * (f.price - p1), rel=1e-12)
    assert eng.equity[0] == pytest.approx(eng.cash[0] - 0.3 * market3.close[2, 0], rel=1e-12)


def test_spot_no_naked_sell_and_stops_clip_to_holding(sol_1h):
    eng = Engine(sol_1h, EngineConfig(fee_rate=0.001, slippage=NoSlippage()))
    eng.reset(5)
    eng.step(np.array([[-3.0]]))
    assert eng.last_fills(0) == [] and eng.cash[0] == 10_000.0 and eng.qty[0, 0] == 0.0
    eng.step(np.array([[2.0]]))
    eng.place_order(0, 0, "sell", "stop_loss", 50.0, 1e6)  # far above: triggers at the next open
    eng.step()
    (f,) = eng.last_fills(0)
    assert f.quantity == 2.0 and eng.qty[0, 0] == 0.0 and eng.cash[0] > 0
    assert math.isfinite(eng.metrics(0).roi_pct)


def test_nothing_fills_in_forward_filled_bars(market3):
    """Bars flagged as forward-filled (a gap in the exchange data) never fill orders: market orders
    for them are rejected, pending orders wait for the next real bar."""
    filled = np.zeros(market3.close.shape, dtype=bool)
    filled[101, 0] = True  # BTCUSDT bar 101
    filled[102:104, 2] = True  # SOLUSDT bars 102-103
    md = MarketData(market3.symbols, market3.timeframe, market3.open_time, market3.open, market3.high, market3.low,
                    market3.close, market3.volume, dict(market3.extra), filled)
    eng = Engine(md, EngineConfig(fee_rate=0.001))
    eng.reset(100)
    eng.step(np.array([[0.01, 0.1, 1.0]]))  # fills at open[101]: BTC's bar is a gap
    assert sorted(f.symbol for f in eng.last_fills(0)) == ["ETHUSDT", "SOLUSDT"]
    assert eng.qty[0, 0] == 0.0 and eng.metrics(0).n_rejected == 1
    oid = eng.place_order(0, "SOLUSDT", "sell", "take_profit", 1.0, float(md.low[102:104, 2].min()) * 0.5)
    eng.step()  # bar 102 is filled: the (immediately marketable) take-profit waits
    eng.step()  # bar 103 too
    assert eng.last_fills(0) == [] and [o.order_id for o in eng.open_orders(0)] == [oid]
    eng.step()  # bar 104 trades: it fills at the open (gap through the level)
    (f,) = eng.last_fills(0)
    assert (f.order_id, f.price) == (oid, md.open[104, 2])
    close_fill = Engine(md, EngineConfig(fill="close"))
    close_fill.reset(101)  # fill="close" at close[101]: BTC's bar 101 is a gap
    close_fill.step(np.array([[0.01, 0.0, 0.0]]))
    assert close_fill.last_fills(0) == []


@pytest.mark.parametrize("fee_rate", [0.0, 0.001])
def test_buying_with_only_dust_cash_left_fills_nothing(sol_1h, fee_rate):
    eng = Engine(sol_1h, EngineConfig(starting_balance=1_000.0, fee_rate=fee_rate))
    eng.reset(10)
    eng.step(np.array([[1e6]]))  # all in: clipped to the cash
    assert len(eng.last_fills(0)) == 1
    dust = float(eng.cash[0])
    assert 0.0 <= dust < 1e-8  # a few ulps of the balance may be left over
    before = (dust, float(eng.qty[0, 0]), eng.metrics(0).n_rejected, eng.metrics(0).n_trades)
    for _ in range(5):  # more buys: each wants far more than the dust buys
        eng.step(np.array([[10.0]]))
        assert eng.last_fills(0) == []
    after = (float(eng.cash[0]), float(eng.qty[0, 0]), eng.metrics(0).n_rejected, eng.metrics(0).n_trades)
    assert after == before

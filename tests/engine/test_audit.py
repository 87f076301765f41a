"""Defects found by an independent audit of the engine's numbers, each pinned on real candles."""

from __future__ import annotations

import numpy as np
import pytest

from tradeready_gym.data.market import MarketData
from tradeready_gym.engine import Engine, EngineConfig, NoSlippage, VolumeParticipationSlippage

WICK = "2024-01-03T12:00:00Z"  # SOLUSDT 1h: open 103.42, high 103.47, low 85.00, close 100.31


# ---------------------------------------------------------------- margin: slippage of the filled quantity
def test_margin_volume_slippage_is_charged_on_the_quantity_that_fills(btc_1h_short: MarketData) -> None:
    model = VolumeParticipationSlippage(impact=0.5, exponent=0.5, base_bps=0.0, max_bps=3000.0)
    common = {"starting_balance": 10_000.0, "fee_rate": 0.0, "slippage": model}
    t = 100
    margin = Engine(btc_1h_short, EngineConfig(**common, mode="margin", leverage=2.0))
    margin.reset(t)
    margin.step(np.array([[1e6]]))  # a million BTC: clipped by leverage to well under one
    (fm,) = margin.last_fills(0)
    ref = float(btc_1h_short.open[t + 1, 0])
    qv = float(btc_1h_short.extra["quote_volume"][t, 0])
    assert 0.1 < fm.quantity < 1.0
    expected = ref * (1.0 + model.slip(fm.quantity * ref, qv))
    assert fm.price == pytest.approx(expected, rel=1e-12)
    # the slippage of a million BTC would be the 3,000 bps cap; the fill pays well under 1%
    assert model.slip(1e6 * ref, qv) == pytest.approx(0.3)
    assert fm.price / ref - 1.0 < 0.01
    # the leverage is used at the fill's own price, not at the price of the quantity asked for
    assert fm.quantity * fm.price == pytest.approx(2.0 * 10_000.0, rel=1e-9)
    assert fm.quantity * fm.price <= 2.0 * 10_000.0

    # the same quantity bought in spot fills at the same price
    spot = Engine(btc_1h_short, EngineConfig(**{**common, "starting_balance": 30_000.0}))
    spot.reset(t)
    spot.step(np.array([[fm.quantity]]))
    (fs,) = spot.last_fills(0)
    assert fs.quantity == fm.quantity
    assert fs.price == pytest.approx(fm.price, rel=1e-12)


def test_margin_sell_clipped_by_leverage_pays_the_slippage_of_its_fill(btc_1h_short: MarketData) -> None:
    model = VolumeParticipationSlippage(impact=0.5, exponent=0.5, max_bps=3000.0)
    eng = Engine(btc_1h_short, EngineConfig(fee_rate=0.0, slippage=model, mode="margin", leverage=3.0))
    t = 200
    eng.reset(t)
    eng.step(np.array([[-1e6]]))
    (f,) = eng.last_fills(0)
    ref = float(btc_1h_short.open[t + 1, 0])
    qv = float(btc_1h_short.extra["quote_volume"][t, 0])
    assert f.price == pytest.approx(ref * (1.0 - model.slip(f.quantity * ref, qv)), rel=1e-12)
    # the exposure stays within leverage x equity at the fill price
    assert f.quantity * f.price <= 3.0 * 10_000.0 * (1 + 1e-12)


# ---------------------------------------------------------------- no dust after closing
def test_an_order_equal_to_the_position_up_to_rounding_leaves_exactly_nothing(market3: MarketData) -> None:
    eng = Engine(market3, EngineConfig(fee_rate=0.001), n_accounts=64)
    rng = np.random.default_rng(3)
    eng.reset(rng.integers(0, 500, size=64))
    eng.step(np.full((64, 3), 0.01) * rng.uniform(0.1, 1.0, size=(64, 3)))
    px = eng.clock_close()
    value = eng.qty * px
    # a target of 0 computed the way a weight scheme does: (0 - qty * price) / price
    orders = (0.0 - value) / px
    assert np.any(orders != -eng.qty)  # rounding makes some differ from the holding
    eng.step(np.ascontiguousarray(orders))
    assert np.all(eng.qty == 0.0)
    assert np.all(eng.avg_price == 0.0)


def test_exposure_counts_bars_with_a_real_position_only(market3: MarketData) -> None:
    eng = Engine(market3, EngineConfig(fee_rate=0.001), n_accounts=16)
    rng = np.random.default_rng(4)
    eng.reset(rng.integers(0, 500, size=16))
    held = np.zeros(16)
    for k in range(60):
        px = eng.clock_close()
        if k % 3 == 0:
            orders = rng.uniform(0.0, 0.02, size=(16, 3))
        else:
            orders = (0.0 - eng.qty * px) / px  # close everything (with rounding)
        eng.step(np.ascontiguousarray(orders))
        gross = (np.abs(eng.qty) * eng.clock_close()).sum(axis=1)
        held += gross > 0.0
    table = eng.metrics_table()
    assert np.array_equal(table["exposure_pct"], 100.0 * held / 60)
    assert np.all(held < 60)


# ---------------------------------------------------------------- lot step and huge orders
@pytest.mark.parametrize("mode", ["spot", "margin"])
def test_an_order_too_large_for_lot_arithmetic_is_clipped(btc_1h_short: MarketData, mode: str) -> None:
    eng = Engine(btc_1h_short, EngineConfig(lot_step=1e-8, mode=mode, fee_rate=0.001))
    eng.reset(10)
    eng.step(np.array([[1e30]]))  # 1e38 lots: more than any 64-bit integer
    (f,) = eng.last_fills(0)
    assert 0.0 < f.quantity < 1.0
    assert abs(f.quantity / 1e-8 - round(f.quantity / 1e-8)) < 1e-6  # a multiple of the lot step
    assert eng.cash[0] >= 0.0 or mode == "margin"


@pytest.mark.parametrize("mode", ["spot", "margin"])
def test_an_order_too_large_for_lot_arithmetic_is_rejected_and_counted(btc_1h_short: MarketData, mode: str) -> None:
    eng = Engine(btc_1h_short, EngineConfig(lot_step=1e-8, mode=mode, on_insufficient="reject"))
    eng.reset(10)
    eng.step(np.array([[1e30]]))
    assert eng.last_fills(0) == []
    assert eng.metrics(0).n_rejected == 1
    eng.step(np.array([[-1e300]]))  # a sell beyond the holding (spot) or leverage (margin)
    assert eng.metrics(0).n_rejected == 2


# ---------------------------------------------------------------- spot cash never below zero
def test_limit_buy_clipped_to_all_the_cash_never_takes_cash_below_zero(sol_1h: MarketData) -> None:
    """Many accounts reserve all their cash with a limit buy that fills exactly at its level.

    Booking ``(cash - q * p) - q * p * fee`` can round below zero even though the reservation
    ``q * p + q * p * fee`` fits the cash: the kernel checks with the booking's own operations.
    """
    n = 4096
    w = sol_1h.index_of(WICK)
    eng = Engine(sol_1h, EngineConfig(starting_balance=10_000.0, fee_rate=0.001), n_accounts=n)
    rng = np.random.default_rng(11)
    fees = rng.uniform(0.0, 0.01, size=n)
    eng.set_fee_rate(fees)
    eng.reset(w - 1)
    level = rng.uniform(85.0, 103.0, size=n)  # inside the wick bar: fills exactly at the level
    would_go_negative = 0
    for i in range(n):
        assert eng.place_order(i, "SOLUSDT", "buy", "limit", 1e9, float(level[i])) > 0
        q = eng.open_orders(i)[0].quantity
        nt = q * float(level[i])
        if (10_000.0 - nt) - nt * float(fees[i]) < 0.0:
            would_go_negative += 1
    assert would_go_negative > 0  # the rounding case is exercised
    eng.step()
    assert np.all(eng.step_fill_count == 1)
    assert np.all(eng.cash >= 0.0)
    assert np.all(eng.reserved_cash == 0.0)


def test_market_buys_of_all_the_cash_never_take_cash_below_zero(btc_1h_short: MarketData) -> None:
    n = 2048
    eng = Engine(btc_1h_short, EngineConfig(fee_rate=0.001, slippage=NoSlippage()), n_accounts=n)
    rng = np.random.default_rng(5)
    eng.set_fee_rate(rng.uniform(0.0, 0.01, size=n))
    eng.reset(rng.integers(0, 600, size=n))
    for _ in range(5):
        eng.step(np.full((n, 1), 1e9))
        assert np.all(eng.cash >= 0.0)
        eng.step(np.ascontiguousarray(-eng.qty))
        assert np.all(eng.cash >= 0.0)

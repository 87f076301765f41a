"""Accounting invariants on real candles: properties, a reference loop, no look-ahead, batch parity."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tradeready_gym.data.market import MarketData
from tradeready_gym.engine import (
    Engine,
    EngineConfig,
    FixedBpsSlippage,
    NoSlippage,
    VolumeParticipationSlippage,
)

from .helpers import random_orders

SLIPPAGES = [NoSlippage(), FixedBpsSlippage(7.5), VolumeParticipationSlippage(impact=0.5, exponent=0.5, max_bps=80)]
HSET = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def _cfg(fee: float, slip_i: int, fill: str, spread: float, rule: str = "clip") -> EngineConfig:
    return EngineConfig(
        starting_balance=10_000.0, fee_rate=fee, slippage=SLIPPAGES[slip_i], fill=fill, spread_bps=spread,
        on_insufficient=rule,
    )


@HSET
@given(
    seed=st.integers(0, 2**32 - 1),
    fee=st.sampled_from([0.0, 0.001, 0.0025, 0.1]),
    slip_i=st.integers(0, 2),
    fill=st.sampled_from(["next_open", "close"]),
    spread=st.sampled_from([0.0, 4.0]),
    rule=st.sampled_from(["clip", "reject"]),
)
def test_spot_invariants_on_random_orders(market3, seed, fee, slip_i, fill, spread, rule):
    """equity == cash + Σ qty·close; fee == rate·notional exactly; no negative cash or holding;
    Δequity is exactly price moves on held quantity + (close − reference price) on traded quantity −
    fees − slippage."""
    rng = np.random.default_rng(seed)
    eng = Engine(market3, _cfg(fee, slip_i, fill, spread, rule), n_accounts=1)
    start = int(rng.integers(0, market3.n_bars - 200))
    eng.reset(start)
    op, cl = market3.open, market3.close
    for _ in range(int(rng.integers(20, 120))):
        t = int(eng.t[0])
        qty0 = eng.qty[0].copy()
        eq0 = float(eng.equity[0])
        cash0 = float(eng.cash[0])
        orders = random_orders(rng, eng)
        eng.step(orders)
        assert int(eng.t[0]) == t + 1
        c1 = cl[t + 1]
        # equity identity
        assert math.isclose(eng.equity[0], eng.cash[0] + float(np.dot(eng.qty[0], c1)), rel_tol=1e-12, abs_tol=1e-9)
        assert math.isclose(eng.position_value[0], float(np.dot(eng.qty[0], c1)), rel_tol=1e-12, abs_tol=1e-9)
        # spot: nothing negative, no naked sells
        assert eng.cash[0] >= 0.0
        assert (eng.qty[0] >= 0.0).all()
        fills = eng.last_fills(0)
        fees = 0.0
        slip = 0.0
        trade_pnl = 0.0
        cash_flow = 0.0
        ref = cl[t] if fill == "close" else op[t + 1]
        seen_buy = False
        for f in fills:
            j = market3.symbols.index(f.symbol)
            sign = 1.0 if f.side == "buy" else -1.0
            assert f.kind == "market"
            assert f.quantity > 0.0
            assert f.fee == f.quantity * f.price * fee  # exactly rate x notional
            # sells are processed before buys
            if f.side == "buy":
                seen_buy = True
            else:
                assert not seen_buy
            # a fill never exceeds the request
            assert f.quantity <= abs(orders[0, j]) * (1 + 1e-12)
            if f.side == "sell":
                assert f.quantity <= qty0[j] * (1 + 1e-12)
            # price = reference moved against the trader by spread + slippage
            assert (f.price - ref[j]) * sign >= 0.0
            assert math.isclose(f.slippage, f.quantity * abs(f.price - ref[j]), rel_tol=1e-12, abs_tol=1e-12)
            fees += f.fee
            slip += f.slippage
            trade_pnl += sign * f.quantity * (c1[j] - ref[j])
            cash_flow -= sign * f.quantity * f.price
        assert math.isclose(eng.cash[0], cash0 + cash_flow - fees, rel_tol=1e-11, abs_tol=1e-8)
        price_moves = float(np.dot(qty0, c1 - cl[t]))
        expected = eq0 + price_moves + trade_pnl - fees - slip
        assert math.isclose(eng.equity[0], expected, rel_tol=1e-10, abs_tol=1e-7)
        # with no costs, nothing is created or destroyed
        if fee == 0.0 and slip_i == 0 and spread == 0.0:
            assert math.isclose(eng.equity[0], eq0 + price_moves + trade_pnl, rel_tol=1e-11, abs_tol=1e-7)
        # "reject": an order never fills partially because of cash or holding
        if rule == "reject":
            for f in fills:
                j = market3.symbols.index(f.symbol)
                assert math.isclose(f.quantity, abs(orders[0, j]), rel_tol=1e-12)
    # realized + unrealized - fees explains the whole PnL in spot mode
    total = eng.realized_pnl[0] + eng.unrealized_pnl[0] - eng.fees_paid[0]
    assert math.isclose(eng.equity[0] - 10_000.0, total, rel_tol=1e-9, abs_tol=1e-6)


def reference_final_equity(md: MarketData, start: int, orders: list[np.ndarray], *, balance: float, fee: float,
                           bps: float, spread_bps: float, fill: str) -> float:
    """A deliberately simple spot backtest: loops over bars and symbols with plain floats."""
    cash = balance
    holding = [0.0] * md.n_symbols
    t = start
    half = spread_bps / 2 / 10_000
    slip = bps / 10_000
    for order in orders:
        for j in range(md.n_symbols):  # sells
            want = float(order[0, j])
            if want < 0:
                q = min(-want, holding[j])
                if q > 0:
                    ref = float(md.close[t, j]) if fill == "close" else float(md.open[t + 1, j])
                    price = ref * (1 - half) * (1 - slip)
                    cash += q * price - q * price * fee
                    holding[j] -= q
        for j in range(md.n_symbols):  # buys
            want = float(order[0, j])
            if want > 0:
                ref = float(md.close[t, j]) if fill == "close" else float(md.open[t + 1, j])
                price = ref * (1 + half) * (1 + slip)
                q = min(want, cash / (price * (1 + fee)))
                if q > 0:
                    cash -= q * price * (1 + fee)
                    holding[j] += q
        t += 1
    return cash + sum(h * float(md.close[t, j]) for j, h in enumerate(holding))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    seed=st.integers(0, 2**32 - 1),
    fee=st.sampled_from([0.0, 0.001, 0.0075]),
    bps=st.sampled_from([0.0, 5.0, 20.0]),
    spread=st.sampled_from([0.0, 3.0]),
    fill=st.sampled_from(["next_open", "close"]),
)
def test_final_equity_matches_reference_loop(market3, seed, fee, bps, spread, fill):
    rng = np.random.default_rng(seed)
    cfg = EngineConfig(starting_balance=25_000.0, fee_rate=fee, slippage=FixedBpsSlippage(bps), spread_bps=spread,
                       fill=fill)
    eng = Engine(market3, cfg)
    start = int(rng.integers(0, market3.n_bars - 400))
    eng.reset(start)
    orders = []
    for _ in range(int(rng.integers(50, 300))):
        o = random_orders(rng, eng)
        orders.append(o)
        eng.step(o)
    ref = reference_final_equity(market3, start, orders, balance=25_000.0, fee=fee, bps=bps, spread_bps=spread,
                                 fill=fill)
    assert math.isclose(float(eng.equity[0]), ref, rel_tol=1e-9)


def _perturb_after(md: MarketData, T: int, seed: int) -> MarketData:
    """The same candles up to bar T; every bar after T replaced by different, valid candles."""
    rng = np.random.default_rng(seed)
    n = md.n_bars - T - 1
    f = rng.uniform(0.5, 2.0, size=(n, md.n_symbols))
    o = md.open.copy()
    h = md.high.copy()
    lo = md.low.copy()
    c = md.close.copy()
    v = md.volume.copy()
    o[T + 1 :] *= f
    c[T + 1 :] *= f[::-1]
    h[T + 1 :] = np.maximum(o[T + 1 :], c[T + 1 :]) * rng.uniform(1.0, 1.3, size=f.shape)
    lo[T + 1 :] = np.minimum(o[T + 1 :], c[T + 1 :]) * rng.uniform(0.7, 1.0, size=f.shape)
    v[T + 1 :] *= rng.uniform(0.0, 5.0, size=f.shape)
    extra = {k: a.copy() for k, a in md.extra.items()}
    for a in extra.values():
        a[T + 1 :] *= rng.uniform(0.0, 5.0, size=f.shape)
    return MarketData(md.symbols, md.timeframe, md.open_time, o, h, lo, c, v, extra)


def _snapshot(eng: Engine) -> dict[str, object]:
    w = eng.window(0, 48)
    return {
        "t": eng.t.copy(), "cash": eng.cash.copy(), "equity": eng.equity.copy(), "qty": eng.qty.copy(),
        "avg": eng.avg_price.copy(), "real": eng.realized_pnl.copy(), "upnl": eng.unrealized_pnl.copy(),
        "fees": eng.fees_paid.copy(), "fills": eng.last_fills(0), "orders": eng.open_orders(0),
        "close": eng.clock_close(), "metrics": eng.metrics(0).to_dict(),
        "window": [a.copy() for a in (w.open_time, w.open, w.high, w.low, w.close, w.volume)],
    }


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 2**32 - 1), slip_i=st.integers(0, 2), fill=st.sampled_from(["next_open", "close"]))
def test_no_look_ahead(market3, seed, slip_i, fill):
    """Changing every candle after T changes nothing that happened up to T."""
    rng = np.random.default_rng(seed)
    T = int(rng.integers(200, market3.n_bars - 50))
    start = int(rng.integers(0, T - 100))
    other = _perturb_after(market3, T, seed)
    assert not np.array_equal(other.close[T + 1 :], market3.close[T + 1 :])
    cfg = EngineConfig(fee_rate=0.001, slippage=SLIPPAGES[slip_i], fill=fill, spread_bps=2.0)
    a, b = Engine(market3, cfg), Engine(other, cfg)
    a.reset(start)
    b.reset(start)
    while int(a.t[0]) < T:
        o = random_orders(rng, a)
        action = rng.random()
        j = int(rng.integers(0, 3))
        for eng in (a, b):
            if len(eng.open_orders(0)) > 10:
                eng.cancel_all(0)
            if action < 0.2:
                px = float(eng.clock_close()[0, j])
                eng.place_order(0, j, "buy", "limit", 0.05 * float(eng.equity[0]) / px, px * 0.99)
            elif action < 0.3 and eng.qty[0, j] > 0:
                px = float(eng.clock_close()[0, j])
                eng.place_order(0, j, "sell", "stop_loss", float(eng.qty[0, j]), px * 0.995)
                eng.place_order(0, j, "sell", "take_profit", float(eng.qty[0, j]) / 2, px * 1.005)
            eng.step(o)
        sa, sb = _snapshot(a), _snapshot(b)
        for k in sa:
            if k == "window":
                for x, y in zip(sa[k], sb[k], strict=True):  # type: ignore[call-overload]
                    np.testing.assert_array_equal(x, y)
            elif isinstance(sa[k], np.ndarray):
                np.testing.assert_array_equal(sa[k], sb[k], err_msg=k)
            else:
                assert sa[k] == sb[k], k
    assert int(a.t[0]) == T
    # the window ends at the clock: its last row is bar T, never later
    w = a.window(0, 10)
    assert w.open_time[-1] == market3.open_time[T]
    assert not w.close.flags.writeable


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 2**32 - 1), slip_i=st.integers(0, 2), mode=st.sampled_from(["spot", "margin"]))
def test_batched_equals_each_account_alone(market3, seed, slip_i, mode):
    rng = np.random.default_rng(seed)
    n = 6
    cfg = EngineConfig(fee_rate=0.001, slippage=SLIPPAGES[slip_i], mode=mode, leverage=2.0)
    starts = rng.integers(0, market3.n_bars - 300, size=n)
    fee_rates = rng.choice([0.0, 0.0005, 0.001, 0.002], size=n)
    batch = Engine(market3, cfg, n_accounts=n)
    batch.set_fee_rate(fee_rates)
    batch.reset(starts)
    singles = [Engine(market3, cfg) for _ in range(n)]
    for i, e in enumerate(singles):
        e.set_fee_rate(fee_rates[i])
        e.reset(int(starts[i]))
    steps = int(rng.integers(50, 250))
    for _ in range(steps):
        orders = random_orders(rng, batch, scale=2.5 if mode == "margin" else 1.5)
        active = rng.random(n) < 0.8
        for i in range(n):
            if active[i] and rng.random() < 0.1:
                j = int(rng.integers(0, 3))
                px = float(batch.clock_close()[i, j])
                for e, k in ((batch, i), (singles[i], 0)):
                    if len(e.open_orders(k)) > 10:
                        e.cancel_all(k)
                    e.place_order(k, j, "buy", "limit", 1000.0 / px, px * 0.98)
        batch.step(orders, active=active)
        for i in range(n):
            if active[i]:
                singles[i].step(orders[i : i + 1])
    for i, e in enumerate(singles):
        for name in ("t", "cash", "equity", "qty", "avg_price", "realized_pnl", "unrealized_pnl", "fees_paid",
                     "reserved_cash", "position_value"):
            np.testing.assert_array_equal(getattr(batch, name)[i], getattr(e, name)[0], err_msg=name)
        assert batch.metrics(i) == e.metrics(0) or batch.metrics(i).to_dict() == e.metrics(0).to_dict()
        assert batch.last_fills(i) == e.last_fills(0)
        assert batch.open_orders(i) == e.open_orders(0)


def test_inactive_accounts_are_untouched(market3):
    eng = Engine(market3, EngineConfig(), n_accounts=3)
    eng.reset(np.array([0, 10, 20]))
    eng.step(np.full((3, 3), 0.01), active=np.array([True, False, True]))
    assert eng.t.tolist() == [1, 10, 21]
    assert eng.cash[1] == 10_000.0 and not eng.qty[1].any()
    assert eng.cash[0] < 10_000.0 and eng.cash[2] < 10_000.0


@pytest.mark.parametrize("fill", ["next_open", "close"])
def test_market_fill_price_and_time(market3, fill):
    eng = Engine(market3, EngineConfig(fee_rate=0.001, fill=fill))
    eng.reset(100)
    eng.step(np.array([[0.01, 0.0, 0.0]]))
    (f,) = eng.last_fills(0)
    if fill == "next_open":
        assert f.price == market3.open[101, 0]
        assert f.time == market3.open_time[101]
    else:
        assert f.price == market3.close[100, 0]
        assert f.time == market3.open_time[100] + market3.interval_ns
    assert f.fee == 0.01 * f.price * 0.001
    assert eng.avg_price[0, 0] == f.price
    assert eng.equity[0] == eng.cash[0] + 0.01 * market3.close[101, 0]


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 2**32 - 1), lev=st.sampled_from([1.0, 3.0, 10.0]), slip_i=st.integers(0, 2))
def test_margin_invariants_on_random_orders(market3, seed, lev, slip_i):
    """Margin mode: equity identity, gross exposure within leverage after every market fill, and
    Δequity = price moves + traded (close − reference) − fees − slippage − borrow cost."""
    rng = np.random.default_rng(seed)
    cfg = EngineConfig(fee_rate=0.001, slippage=SLIPPAGES[slip_i], mode="margin", leverage=lev,
                       maintenance_margin=0.05, borrow_rate=0.5)
    eng = Engine(market3, cfg)
    eng.reset(int(rng.integers(0, market3.n_bars - 200)))
    op, cl = market3.open, market3.close
    borrow_bar = 0.5 / (365 * 24)
    for _ in range(int(rng.integers(20, 150))):
        t = int(eng.t[0])
        qty0, eq0, cash0 = eng.qty[0].copy(), float(eng.equity[0]), float(eng.cash[0])
        eng.step(random_orders(rng, eng, scale=lev * 2))
        c1 = cl[t + 1]
        assert math.isclose(eng.equity[0], eng.cash[0] + float(np.dot(eng.qty[0], c1)), rel_tol=1e-12, abs_tol=1e-9)
        fills = eng.last_fills(0)
        if any(f.kind == "liquidation" for f in fills):
            assert not eng.qty[0].any()
            continue
        fees = sum(f.fee for f in fills)
        slip = sum(f.slippage for f in fills)
        traded = sum((1 if f.side == "buy" else -1) * f.quantity * (c1[market3.symbols.index(f.symbol)]
                     - op[t + 1, market3.symbols.index(f.symbol)]) for f in fills)
        cash_flow = sum((-1 if f.side == "buy" else 1) * f.quantity * f.price for f in fills)
        # the kernel checks leverage with the fill price for the traded symbol and close[t] for the
        # others; valued at close[t] throughout, gross stays within leverage up to that price gap
        gross = float(np.dot(np.abs(eng.qty[0]), cl[t]))
        if fills and eq0 > 0:
            assert gross <= max(lev * eq0, float(np.dot(np.abs(qty0), cl[t]))) * 1.02
        cash_pre_borrow = cash0 + cash_flow - fees
        borrowed = max(-cash_pre_borrow, 0.0) + float(np.dot(np.maximum(-eng.qty[0], 0.0), c1))
        borrow = borrowed * borrow_bar
        assert math.isclose(eng.cash[0], cash_pre_borrow - borrow, rel_tol=1e-10, abs_tol=1e-7)
        expected = eq0 + float(np.dot(qty0, c1 - cl[t])) + traded - fees - slip - borrow
        assert math.isclose(eng.equity[0], expected, rel_tol=1e-10, abs_tol=1e-7)


def test_sells_fund_buys_in_the_same_step(market3):
    """Fully invested in BTC, one step sells it and buys ETH: the buy is paid from the sale."""
    eng = Engine(market3, EngineConfig(fee_rate=0.001))
    eng.reset(500)
    eng.step(np.array([[1.0, 0.0, 0.0]]))  # far more than cash: clipped to all-in BTC
    assert eng.cash[0] < 1e-6 and eng.cash[0] >= 0.0
    btc = float(eng.qty[0, 0])
    eng.step(np.array([[-btc, 100.0, 0.0]]))
    sell, buy = eng.last_fills(0)
    assert (sell.symbol, sell.side, buy.symbol, buy.side) == ("BTCUSDT", "sell", "ETHUSDT", "buy")
    proceeds = sell.quantity * sell.price - sell.fee
    assert buy.quantity * buy.price + buy.fee == pytest.approx(proceeds, rel=1e-12, abs=1e-6)
    assert eng.qty[0, 0] == 0.0 and 0.0 <= eng.cash[0] < 1e-6


def test_repeated_all_in_buys_leave_no_dust_fills(market3):
    eng = Engine(market3, EngineConfig(fee_rate=0.001))
    eng.reset(0)
    eng.step(np.array([[0.0, 0.0, 1e6]]))
    assert len(eng.last_fills(0)) == 1
    for _ in range(5):
        eng.step(np.array([[0.0, 0.0, 1e6]]))
        assert eng.last_fills(0) == []
    assert eng.metrics(0).n_trades == 1 and eng.cash[0] >= 0.0


@settings(max_examples=5, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 2**32 - 1), slip_i=st.integers(0, 2), mode=st.sampled_from(["spot", "margin"]))
def test_parallel_kernel_equals_serial_kernel(market3, seed, slip_i, mode):
    """Large batches step on several threads; every account must end bit-for-bit as in the serial kernel."""
    from tradeready_gym.engine import _kernel as K

    rng = np.random.default_rng(seed)
    n = K.PARALLEL_MIN_ACCOUNTS + 5
    cfg = EngineConfig(fee_rate=0.001, slippage=SLIPPAGES[slip_i], mode=mode, leverage=2.0)
    starts = rng.integers(0, market3.n_bars - 120, size=n)
    par = Engine(market3, cfg, n_accounts=n)
    ser = Engine(market3, cfg, n_accounts=n)
    assert par._kernel is K.step_kernel_parallel
    ser._kernel = K.step_kernel
    for e in (par, ser):
        e.reset(starts)
    for _ in range(100):
        orders = random_orders(rng, par, scale=2.5 if mode == "margin" else 1.5)
        active = rng.random(n) < 0.9
        for i in np.flatnonzero(rng.random(n) < 0.05):
            j = int(rng.integers(0, 3))
            px = float(par.clock_close()[i, j])
            for e in (par, ser):
                if len(e.open_orders(int(i))) > 10:
                    e.cancel_all(int(i))
                e.place_order(int(i), j, "buy", "limit", 1000.0 / px, px * 0.98)
        par.step(orders, active=active)
        ser.step(orders, active=active)
        np.testing.assert_array_equal(par._state, ser._state)
        np.testing.assert_array_equal(par.t, ser.t)

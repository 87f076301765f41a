"""Episode metrics: hand-computed golden values and empyrical on the same equity curve."""

from __future__ import annotations

import math

import empyrical
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tradeready_gym.data.market import MarketData
from tradeready_gym.engine import Engine, EngineConfig, FixedBpsSlippage, periods_per_year

from .helpers import random_orders

HOUR = 3_600_000_000_000


def _flat_bars(prices: list[float]) -> MarketData:
    """Bars with open == high == low == close (so a next-open fill happens at the previous close)."""
    t = np.arange(len(prices), dtype=np.int64) * HOUR
    p = np.array(prices, dtype=np.float64).reshape(-1, 1)
    return MarketData(("X",), "1h", t, p, p, p, p, np.full_like(p, 1e6))


def test_metrics_hand_computed_without_fees():
    md = _flat_bars([100, 100, 120, 108, 108, 108])
    eng = Engine(md, EngineConfig(starting_balance=1_000.0, fee_rate=0.0))
    eng.reset(0)
    eng.step(np.array([[10.0]]))  # buy 10 at 100: equity 1000
    eng.step()  # 1200
    eng.step()  # 1080
    eng.step(np.array([[-10.0]]))  # sell 10 at 108: equity 1080
    eng.step()  # 1080
    # returns: 0, 0.2, -0.1, 0, 0
    m = eng.metrics(0)
    assert m.roi_pct == pytest.approx(8.0, rel=1e-12)
    assert m.sharpe == pytest.approx(0.02 / math.sqrt(0.012) * math.sqrt(8760), rel=1e-12)
    assert m.sortino == pytest.approx(0.02 * math.sqrt(8760) / math.sqrt(0.01 / 5), rel=1e-12)
    assert m.max_drawdown_pct == pytest.approx(-10.0, rel=1e-12)
    assert m.win_rate == 1.0 and m.profit_factor == math.inf
    assert (m.n_trades, m.n_closed_trades, m.n_bars) == (2, 1, 5)
    assert m.exposure_pct == pytest.approx(60.0)  # a position at 3 of the 5 closes
    assert m.buy_and_hold_roi_pct == pytest.approx(8.0, rel=1e-12)
    assert m.fees_paid == 0.0 and m.final_equity == 1080.0


def test_trade_pnl_is_net_of_entry_and_exit_fees():
    md = _flat_bars([100, 100, 101, 101, 99, 99, 99])
    eng = Engine(md, EngineConfig(starting_balance=10_000.0, fee_rate=0.01))
    eng.reset(0)
    eng.step(np.array([[10.0]]))  # buy 10 @100, fee 10
    eng.step(np.array([[-5.0]]))  # sell 5 @101: gross +5, exit fee 5.05, entry share 5 -> net -5.05
    eng.step(np.array([[-5.0]]))  # sell 5 @101 again: same, net -5.05
    eng.step(np.array([[10.0]]))  # buy 10 @99... closes at bar 4
    eng.step(np.array([[-10.0]]))  # sell 10 @99: gross 0, fees 9.9 + 9.9 -> net -19.8
    m = eng.metrics(0)
    assert (m.n_closed_trades, m.win_rate) == (3, 0.0)
    assert m.profit_factor == 0.0  # losers only: gross profit 0 / gross loss 29.9
    assert m.gross_loss == pytest.approx(5.05 + 5.05 + 19.8, rel=1e-12) and m.gross_profit == 0.0
    assert eng.realized_pnl[0] == pytest.approx(10.0, rel=1e-12)
    assert m.fees_paid == pytest.approx(10 + 5.05 + 5.05 + 9.9 + 9.9, rel=1e-12)
    assert m.final_equity == pytest.approx(10_000 + 10 - m.fees_paid, rel=1e-12)


def test_profit_factor_hand_computed():
    md = _flat_bars([100, 100, 110, 110, 105, 105])
    eng = Engine(md, EngineConfig(starting_balance=10_000.0, fee_rate=0.0))
    eng.reset(0)
    eng.step(np.array([[1.0]]))  # buy 1 @100
    eng.step(np.array([[-1.0]]))  # sell @110: +10
    eng.step(np.array([[1.0]]))  # buy @110
    eng.step(np.array([[-1.0]]))  # sell @105: -5
    m = eng.metrics(0)
    assert (m.win_rate, m.profit_factor) == (0.5, 2.0)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 2**32 - 1), fee=st.sampled_from([0.0, 0.001]))
def test_metrics_match_empyrical_on_recorded_equity(market3, seed, fee):
    rng = np.random.default_rng(seed)
    eng = Engine(market3, EngineConfig(fee_rate=fee, slippage=FixedBpsSlippage(3)))
    start = int(rng.integers(0, market3.n_bars - 500))
    eng.reset(start)
    curve = [float(eng.equity[0])]
    for _ in range(int(rng.integers(30, 480))):
        eng.step(random_orders(rng, eng))
        curve.append(float(eng.equity[0]))
    eq = np.array(curve)
    r = eq[1:] / eq[:-1] - 1.0
    ann = periods_per_year(market3.interval_ns)
    assert ann == 8760.0
    m = eng.metrics(0)
    assert m.sharpe == pytest.approx(empyrical.sharpe_ratio(r, annualization=ann), rel=1e-9)
    assert m.sortino == pytest.approx(empyrical.sortino_ratio(r, annualization=ann), rel=1e-9)
    assert m.max_drawdown_pct == pytest.approx(100 * empyrical.max_drawdown(r), rel=1e-9, abs=1e-12)
    assert m.roi_pct == pytest.approx(100 * empyrical.cum_returns_final(r), rel=1e-9, abs=1e-9)
    t = int(eng.t[0])
    bh = 100 * np.mean(market3.close[t] / market3.close[start] - 1)
    assert m.buy_and_hold_roi_pct == pytest.approx(bh, rel=1e-12)
    table = eng.metrics_table()
    assert table["sharpe"][0] == m.sharpe or (math.isnan(m.sharpe) and math.isnan(table["sharpe"][0]))


def test_metrics_table_is_batched(market3):
    eng = Engine(market3, EngineConfig(), n_accounts=4)
    eng.reset(np.array([0, 100, 200, 300]))
    rng = np.random.default_rng(1)
    for _ in range(50):
        eng.step(random_orders(rng, eng))
    tab = eng.metrics_table()
    for i in range(4):
        row = eng.metrics(i).to_dict()
        for k, v in row.items():
            x = tab[k][i]
            assert (v is None and not np.isfinite(x)) or v == x, k
    assert eng.metrics(0).to_dict()["n_bars"] == 50


def test_undefined_ratios_are_nan_and_serialise_as_none(market3):
    eng = Engine(market3, EngineConfig())
    m = eng.metrics(0)
    assert math.isnan(m.sharpe) and math.isnan(m.win_rate)
    d = m.to_dict()
    assert d["sharpe"] is None and d["roi_pct"] == 0.0

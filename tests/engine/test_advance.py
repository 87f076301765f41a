"""`Engine.advance`: several bars in one compiled call equal as many single `step` calls."""

from __future__ import annotations

from dataclasses import astuple

import numpy as np
import pytest

from tradeready_gym.data.market import MarketData
from tradeready_gym.engine import Engine, EngineConfig, FixedBpsSlippage
from tradeready_gym.errors import ConfigError

from .helpers import random_orders

WICK = "2024-01-03T12:00:00Z"  # SOLUSDT 1h: open 103.42, high 103.47, low 85.00, close 100.31


def _assert_same(a: Engine, b: Engine) -> None:
    """Every account table, position, pending order, last-step fill and metric is identical."""
    assert np.array_equal(a.t, b.t)
    assert np.array_equal(a.account_table, b.account_table)
    assert np.array_equal(a.position_table, b.position_table)
    for i in range(a.n_accounts):
        assert a.open_orders(i) == b.open_orders(i)
        assert a.last_fills(i) == b.last_fills(i)
        assert _same_metrics(a, b, i)


def _same_metrics(a: Engine, b: Engine, i: int) -> bool:
    ma, mb = a.metrics(i), b.metrics(i)
    return all(
        (x == y) or (x != x and y != y) for x, y in zip(astuple(ma), astuple(mb), strict=True)
    )


def _wick_pair(md: MarketData, cfg: EngineConfig) -> tuple[Engine, Engine, int]:
    """Two engines long 10 SOL before the wick with the same pending orders; decision t = wick - 6."""
    wick = md.index_of(WICK)
    engines = []
    for _ in range(2):
        eng = Engine(md, cfg)
        eng.reset(wick - 8)
        eng.step(np.array([[10.0]]))
        eng.step()
        eng.place_order(0, "SOLUSDT", "sell", "stop_loss", 4.0, 90.0)  # triggers in the wick bar
        eng.place_order(0, "SOLUSDT", "buy", "limit", 3.0, 86.0)  # fills in the wick bar
        eng.place_order(0, "SOLUSDT", "sell", "take_profit", 2.0, 200.0)  # never reached
        engines.append(eng)
    a, b = engines
    assert int(a.t[0]) == wick - 6
    return a, b, wick


@pytest.mark.parametrize(
    "cfg",
    [
        EngineConfig(fee_rate=0.001),
        EngineConfig(fee_rate=0.00075, slippage=FixedBpsSlippage(5), spread_bps=2.0),
        EngineConfig(fee_rate=0.001, fill="close"),
    ],
    ids=["spot", "spot-slippage-spread", "fill-close"],
)
def test_advance_stops_at_the_wick_fill_like_single_steps(sol_1h, cfg):
    single, batch, wick = _wick_pair(sol_1h, cfg)
    t0 = int(batch.t[0])
    eq = np.full((1, 100), np.nan)
    done = batch.advance(100, equity_out=eq)
    # the wick bar is bar t0 + 6: the account stops right after it with its fills in the table
    assert done.tolist() == [wick - t0]
    assert int(batch.t[0]) == wick
    curve = []
    for _ in range(int(done[0])):
        single.step(np.zeros((1, 1)))
        curve.append(float(single.equity[0]))
    assert eq[0, : done[0]].tolist() == curve
    assert np.isnan(eq[0, done[0] :]).all()
    fills = batch.last_fills(0)
    assert sorted(f.kind for f in fills) == ["limit", "stop_loss"]
    assert int(batch.step_fill_count[0]) == 2
    _assert_same(single, batch)
    # the rest of the data: chunks of 7 bars vs single steps (the take-profit never fills)
    while True:
        k = int(batch.advance(7)[0])
        for _ in range(k):
            single.step()
        _assert_same(single, batch)
        if k == 0:
            break
    assert int(batch.t[0]) == sol_1h.n_bars - 1
    assert [o.kind for o in batch.open_orders(0)] == ["take_profit"]


@pytest.mark.parametrize(
    "cfg",
    [
        EngineConfig(fee_rate=0.001, max_orders=6),
        EngineConfig(fee_rate=0.0005, mode="margin", leverage=5.0, maintenance_margin=0.15, borrow_rate=0.1),
    ],
    ids=["spot", "margin"],
)
def test_advance_many_accounts_equals_single_steps(market3, cfg):
    """Four accounts with random trades and pending orders around the close advance independently."""
    rng = np.random.default_rng(11)
    n = 4
    a, b = Engine(market3, cfg, n), Engine(market3, cfg, n)
    starts = np.array([0, 100, 700, market3.n_bars - 40])
    a.reset(starts)
    b.reset(starts)
    stops = 0
    for _round in range(6):
        orders = random_orders(rng, a)
        live = np.asarray(a.t < market3.n_bars - 1)
        a.step(orders, live)
        b.step(orders, live)
        for i in range(n):
            for j, sym in enumerate(market3.symbols):
                px = float(a.clock_close()[i, j])
                lvl = px * float(rng.uniform(0.9, 1.1))
                side = "buy" if rng.random() < 0.5 else "sell"
                kind = "limit" if cfg.mode == "spot" or rng.random() < 0.5 else "stop_loss"
                if cfg.mode == "spot" and side == "sell" and a.qty[i, j] <= 0:
                    side = "buy"
                q = float(rng.uniform(0.01, 0.5)) * 1_000.0 / px
                try:
                    oa = a.place_order(i, sym, side, kind, q, lvl)
                except Exception as exc:  # the same refusal on both engines
                    with pytest.raises(type(exc)):
                        b.place_order(i, sym, side, kind, q, lvl)
                    continue
                assert b.place_order(i, sym, side, kind, q, lvl) == oa
        for _chunk in range(5):
            done = b.advance(60)
            for i in range(n):
                mask = np.zeros(n, dtype=bool)
                mask[i] = True
                for _ in range(int(done[i])):
                    a.step(None, mask)
            stops += int(np.sum((done > 0) & (done < 60) & (b.t < market3.n_bars - 1)))
            _assert_same(a, b)
    assert stops > 0  # some pending orders triggered mid-way


def test_advance_to_the_end_of_the_data_and_inactive_accounts(btc_1h_short):
    eng = Engine(btc_1h_short, EngineConfig(), 2)
    eng.reset(np.array([10, btc_1h_short.n_bars - 3]))
    before = eng.account_table.copy()
    done = eng.advance(5, active=np.array([False, True]))
    assert done.tolist() == [0, 2]
    assert np.array_equal(eng.account_table[0], before[0])
    assert eng.t.tolist() == [10, btc_1h_short.n_bars - 1]
    assert eng.advance(3).tolist() == [3, 0]
    assert eng.advance(0).tolist() == [0, 0]
    assert eng.advance(10**9).tolist() == [btc_1h_short.n_bars - 1 - 13, 0]


@pytest.mark.parametrize("bad", [-1, 1.5, True, "3", None])
def test_advance_refuses_bad_bar_counts(btc_1h_short, bad):
    eng = Engine(btc_1h_short)
    with pytest.raises(ConfigError, match="n_bars="):
        eng.advance(bad)
    assert int(eng.t[0]) == 0


@pytest.mark.parametrize(
    "bad",
    [np.zeros((2, 5)), np.zeros(5), np.zeros((1, 5), dtype=np.float32), np.zeros((1, 10))[:, ::2], [[0.0]]],
    ids=["accounts", "1d", "float32", "not-contiguous", "list"],
)
def test_advance_refuses_bad_equity_buffers(btc_1h_short, bad):
    eng = Engine(btc_1h_short)
    with pytest.raises(ConfigError, match="equity_out="):
        eng.advance(3, equity_out=bad)
    assert int(eng.t[0]) == 0

"""The live env grows its data in place: O(log n) rebuilds per session, every row exactly the backtest's.

The candles go through the env's own candle path (`LiveTradingEnv._step_bars`, what `step` runs
once the feed has the final candle), without a feed: the subject is the env's data, not the network.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from tradeready_gym.envs.feed import DataFeed
from tradeready_gym.envs.presets import make_portfolio_env
from tradeready_gym.errors import ConfigError
from tradeready_gym.features import compute_features
from tradeready_gym.features.core import FEATURES
from tradeready_gym.live.env import CANDLE_FIELDS, LiveTradingEnv
from tradeready_gym.live.feed import Bar, Kline


def _values(market) -> list[list[float]]:
    ex, zeros = market.extra, np.zeros_like(market.close)
    fields = [market.open, market.high, market.low, market.close, market.volume,
              ex.get("quote_volume", market.volume * market.close),
              *(ex.get(k, zeros) for k in CANDLE_FIELDS[6:])]
    return np.stack(fields, axis=-1).reshape(market.n_bars, -1).tolist()


def _bar(market, values: list[list[float]], k: int) -> Bar:
    s, f = market.n_symbols, len(CANDLE_FIELDS)
    open_ms = int(market.open_time[k]) // 1_000_000
    klines = tuple(Kline(open_ms, *values[k][j * f : (j + 1) * f], source="ws") for j in range(s))
    return Bar(open_ms, klines, 0.0)


def test_long_session_rebuilds_logarithmically_and_stays_exact(market15):
    market = market15
    symbols = list(market.symbols)
    names = list(FEATURES)  # windowed and recursive features
    history, n_steps = 60, market.n_bars - 60 - 2
    live = LiveTradingEnv(symbols=symbols, timeframe="15m", store=False, track_training=False,
                          lookback_window=4, observation_features=names, equity_floor=0.0)
    vals = _values(market)
    live._start_bar = history
    live._open_ms = (market.open_time[: history + 1] // 1_000_000).tolist()
    live._values = vals[: history + 1]
    live._actions = []
    obs_l, _, _, _, _ = live._replay()
    start_capacity = live.capacity
    bt = make_portfolio_env(symbols, data=market, timeframe="15m", track_training=False, lookback_window=4,
                            observation_features=names, equity_floor=0.0)
    obs_b, _ = bt.reset(options={"start_index": history})
    assert np.array_equal(obs_l, obs_b)
    rng = np.random.default_rng(5)
    k = history + 1
    steps = 0
    while k < history + 1 + n_steps:
        live._ensure_room()
        # mostly one candle per step; sometimes three at once (a catch-up: no-op after the first)
        n_bars = 3 if rng.random() < 0.1 else 1
        n_bars = min(n_bars, history + 1 + n_steps - k)
        act = (0.5 * rng.dirichlet(np.ones(len(symbols)))).astype(np.float32)
        obs_l, r_l, term_l, trunc_l, info_l = live._step_bars([_bar(market, vals, k + i) for i in range(n_bars)],
                                                             live._canonical(act), "agent")
        r_b = 0.0
        for i in range(n_bars):
            a = act if i == 0 else bt.action_scheme.noop_action()
            obs_b, r, term_b, trunc_b, info_b = bt.step(a)
            r_b += r
        assert np.array_equal(obs_l, obs_b) and r_l == r_b
        assert (term_l, trunc_l) == (term_b, trunc_b) == (False, False)
        assert info_l["equity"] == info_b["equity"] and info_l["filled_orders"] == info_b["filled_orders"]
        k += n_bars
        steps += n_bars
    n_known = len(live._open_ms)
    assert steps == n_steps == len(live._actions) and n_known == history + 1 + n_steps
    # structure, not time: doubling capacity gives O(log n) rebuilds and O(n) replayed steps in total
    assert live.capacity >= n_known + 1
    doublings = math.ceil(math.log2(n_known / start_capacity)) + 1
    assert 2 <= live.rebuilds <= 1 + doublings, (live.rebuilds, doublings)
    assert live.replayed_steps <= 2 * n_steps
    # every known row of the live feature matrix is the backtest's, bit for bit
    feats = live.inner.feed.features(live.inner.observer.features)
    want = compute_features(market.iloc(0, n_known), names)
    assert np.array_equal(feats[:n_known], want, equal_nan=True)
    assert float(live.inner.broker.fees_paid[0]) == float(bt.broker.fees_paid[0]) > 0
    assert live.metrics() == bt.metrics()
    live.close()


def test_update_rows_rejects_a_bad_range(btc15):
    feed = DataFeed(btc15)
    feed.features(["ohlcv"])
    for start, stop in ((-1, 3), (5, 5), (0, btc15.n_bars + 1), (True, 3)):
        with pytest.raises(ConfigError, match=r"start=.*stop=.*allowed: 0 <= start < stop <="):
            feed.update_rows(start, stop)
    before = feed.features(["ohlcv"]).copy()
    feed.update_rows(0, btc15.n_bars)  # unchanged candles: the same rows, bit for bit
    assert np.array_equal(feed.features(["ohlcv"]), before, equal_nan=True)
    assert not feed.features(["ohlcv"]).flags.writeable

"""No look-ahead at env level: changing candles after the clock changes nothing seen so far.

For every observation feature, an env runs k steps on the real candles and a twin env runs the same
actions on candles whose bars after the clock of step k are perturbed (prices and volumes scaled
by random factors, OHLC kept consistent). Every observation, reward and info up to step k must be
identical; the step after k must differ (so the test can fail).
"""

from __future__ import annotations

import numpy as np
import pytest

from tradeready_gym.actions import ContinuousActions, PortfolioWeightActions
from tradeready_gym.data.market import MarketData
from tradeready_gym.envs.feed import DataFeed
from tradeready_gym.envs.portfolio import Portfolio
from tradeready_gym.envs.trading_env import TradingEnv
from tradeready_gym.features import FEATURES
from tradeready_gym.observers import WindowObserver
from tradeready_gym.rewards import LogReturnReward, SharpeReward


def _perturb_after(market: MarketData, t: int, seed: int) -> MarketData:
    rng = np.random.default_rng(seed)
    n = market.n_bars - (t + 1)
    shape = (n, market.n_symbols)
    px = rng.uniform(0.6, 1.4, shape)
    vol = rng.uniform(0.2, 3.0, shape)

    def scaled(a: np.ndarray, f: np.ndarray) -> np.ndarray:
        out = np.array(a, dtype=np.float64)
        out[t + 1 :] *= f
        return out

    extra = {k: scaled(v, vol) for k, v in market.extra.items()}
    return MarketData(
        market.symbols,
        market.timeframe,
        market.open_time,
        scaled(market.open, px),
        scaled(market.high, px),
        scaled(market.low, px),
        scaled(market.close, px),
        scaled(market.volume, vol),
        extra,
    )


def _env(market, features, scheme, reward):
    return TradingEnv(
        Portfolio(10_000, fee_rate=0.001, slippage=5.0),
        DataFeed(market),
        scheme,
        reward,
        WindowObserver(features, lookback=4),
    )


def _run(env, actions):
    obs, info = env.reset(seed=0)
    out = [(obs.copy(), 0.0, info)]
    for a in actions:
        obs, r, term, trunc, info = env.step(a)
        out.append((obs.copy(), r, info))
        assert not (term or trunc)
    return out


def _assert_same(a, b):
    for (oa, ra, ia), (ob, rb, ib) in zip(a, b, strict=True):
        np.testing.assert_array_equal(oa, ob)
        assert ra == rb
        assert ia == ib


@pytest.mark.parametrize("feature", sorted(FEATURES))
def test_future_candles_change_nothing_seen_so_far(feature, market3):
    market = market3.iloc(0, 220)
    k = 60
    rng = np.random.default_rng(7)
    actions = [rng.uniform(0.0, 1.0, 3).astype(np.float32) for _ in range(k + 1)]
    base = _env(market, [feature], PortfolioWeightActions(), SharpeReward(window=10))
    ref = _run(base, actions[:k])
    clock = base.clock.index
    twin = _env(_perturb_after(market, clock, seed=1), [feature], PortfolioWeightActions(), SharpeReward(window=10))
    got = _run(twin, actions[:k])
    _assert_same(ref, got)
    # positive control: one more step reveals bar clock + 1, which differs
    o1, r1, *_ = base.step(actions[k])
    o2, r2, *_ = twin.step(actions[k])
    assert r1 != r2 or not np.array_equal(o1, o2)


def test_all_features_together_single_asset(btc):
    market = btc.iloc(0, 200)
    names = list(FEATURES)
    k = 40
    actions = [np.array([v], dtype=np.float32) for v in np.random.default_rng(3).uniform(-1, 1, k)]
    base = _env(market, names, ContinuousActions(), LogReturnReward())
    ref = _run(base, actions)
    twin = _env(_perturb_after(market, base.clock.index, seed=2), names, ContinuousActions(), LogReturnReward())
    _assert_same(ref, _run(twin, actions))


def test_price_history_ends_at_the_clock(btc):
    env = _env(btc.iloc(0, 120), ["ohlcv"], ContinuousActions(), LogReturnReward())
    env.reset(seed=0)
    for _ in range(5):
        env.step(np.array([0.5], dtype=np.float32))
    t = env.clock.index
    hist = env.price_history(10)
    assert hist.shape == (10, 1)
    np.testing.assert_array_equal(hist[:, 0], btc.close[t - 9 : t + 1, 0])
    assert env.last_state.info["prices"]["BTCUSDT"] == btc.close[t, 0]

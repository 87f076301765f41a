"""Indicators and windows are warmed up on history before start_time; never zero padding."""

from __future__ import annotations

import gymnasium as gym
import numpy as np

from tradeready_gym.envs.presets import history_bars
from tradeready_gym.features import compute_features, warmup_bars


def test_history_before_start_time_is_used(btc):
    features = ["ohlcv", "macd", "adx"]
    env = gym.make("TradeReady-BTC-v0", data=btc, start_time="2024-02-01T00:00:00Z", observation_features=features)
    obs, info = env.reset()
    fe = env.unwrapped
    t = fe.clock.index
    assert info["virtual_time"] == "2024-02-01T01:00:00Z"  # the decision at the close of the first bar in range
    assert fe.feed.market.open_time[t] == btc.open_time[btc.index_of("2024-02-01")]
    assert fe.feed.start_index >= warmup_bars(features) + 30 - 1  # history was loaded before start_time
    assert fe.feed.start_index == history_bars(fe.observer)
    # the window equals the indicators computed on all of January, oldest row first: the recursive
    # indicators (MACD's EMAs, Wilder's ADX) converged on the history that was loaded
    full = compute_features(btc, features)
    j = btc.index_of("2024-02-01")
    np.testing.assert_allclose(obs[: 30 * 9], full[j - 29 : j + 1].reshape(-1), rtol=1e-5, atol=1e-7)
    assert np.isfinite(obs).all()


def test_without_history_the_first_decision_waits_for_warm_up(btc):
    features = ["ohlcv", "rsi_14"]
    env = gym.make("TradeReady-BTC-v0", data=btc, start_time="2024-01-01T00:00:00Z", observation_features=features,
                   lookback_window=10)
    obs, info = env.reset()
    first = warmup_bars(features) + 10 - 1
    assert env.unwrapped.clock.index == first
    assert info["total_steps"] == btc.n_bars - 1 - first
    assert np.isfinite(obs).all() and (obs[:60] != 0).any()


def test_partial_history_in_the_cache_is_used(real_cache):
    # the cache starts at 2022-01-01 00:00 (1h); 40 bars of history exist before this start_time
    env = gym.make("TradeReady-ETH-v0", start_time="2022-01-02T16:00:00Z", end_time="2022-02-01T00:00:00Z",
                   lookback_window=10, observation_features=["macd"])
    _, info = env.reset()
    fe = env.unwrapped
    assert fe.feed.start_index == 40 < history_bars(fe.observer)  # all 40 bars, though it wanted more
    # macd needs 33 warm-up bars + 9 more for the window: bar 42 (18:00) is the first full observation
    assert fe.clock.index == 42 == fe.observer.min_index
    assert info["virtual_time"] == "2022-01-02T19:00:00Z"
    # a start_time before the cached range is an error that names the missing range, not a silent shift
    import pytest

    from tradeready_gym.errors import DataNotFoundError

    with pytest.raises(DataNotFoundError, match="2021-12-01"):
        gym.make("TradeReady-ETH-v0", start_time="2021-12-01T00:00:00Z", end_time="2022-02-01T00:00:00Z")

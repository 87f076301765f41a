"""``copy.deepcopy`` and ``pickle`` of a single env and a vector env, fresh or mid-episode: an
independent env that continues exactly as the original would, or a clear error."""

from __future__ import annotations

import copy
import pickle

import gymnasium as gym
import numpy as np
import pytest

from tradeready_gym.errors import ConfigError

START, END = "2025-01-01T00:00:00Z", "2025-03-01T00:00:00Z"


def _same(a, b):
    np.testing.assert_array_equal(a[0], b[0])
    assert a[1:4] == b[1:4]
    assert a[4] == b[4]


def _roundtrip(env, how):
    return copy.deepcopy(env) if how == "deepcopy" else pickle.loads(pickle.dumps(env))


@pytest.mark.parametrize("how", ["deepcopy", "pickle"])
@pytest.mark.parametrize("env_id", ["TradeReady-BTC-v0", "TradeReady-ETH-Continuous-v0", "TradeReady-Portfolio-v0"])
def test_single_env_copy_continues_exactly(env_id, how, real_cache):
    env = gym.make(env_id, start_time=START, end_time=END, random_start=True, episode_length=40,
                   reward_function=__import__("tradeready_gym").SharpeReward(window=5))
    fresh = _roundtrip(env, how)  # fresh: never reset
    env.action_space.seed(0)
    first = env.reset(seed=4)
    np.testing.assert_array_equal(fresh.reset(seed=4)[0], first[0])

    env.reset(seed=4)
    actions = [env.action_space.sample() for _ in range(60)]
    for a in actions[:17]:
        env.step(a)
    twin = _roundtrip(env, how)  # mid-episode
    assert twin.unwrapped is not env.unwrapped
    ends = 0
    for a in actions[17:]:
        ra, rb = env.step(a), twin.step(a)
        _same(ra, rb)
        if ra[2] or ra[3]:
            ends += 1
            _same_reset = (env.reset(), twin.reset())  # unseeded: both draw from copied generators
            np.testing.assert_array_equal(_same_reset[0][0], _same_reset[1][0])
            assert _same_reset[0][1] == _same_reset[1][1]
    assert ends >= 1
    np.testing.assert_equal(env.unwrapped.metrics().to_dict(), twin.unwrapped.metrics().to_dict())


def test_the_copy_is_independent(real_cache):
    env = gym.make("TradeReady-BTC-v0", start_time=START, end_time=END)
    env.reset(seed=0)
    env.step(1)
    twin = copy.deepcopy(env)
    before = env.unwrapped.broker.cash.copy()
    for _ in range(5):
        twin.step(1)
    np.testing.assert_array_equal(env.unwrapped.broker.cash, before)  # the original did not move
    assert twin.unwrapped.clock.step == 6 and env.unwrapped.clock.step == 1
    a, b = twin.unwrapped.feed.market, env.unwrapped.feed.market  # built on the original's very candles
    np.testing.assert_array_equal(a.open_time, b.open_time)
    np.testing.assert_array_equal(a.close, b.close)


@pytest.mark.parametrize("how", ["deepcopy", "pickle"])
@pytest.mark.parametrize("mode", ["next_step", "same_step"])
def test_vector_env_copy_continues_exactly(how, mode, real_cache):
    venv = gym.make_vec("TradeReady-BTC-v0", num_envs=3, start_time=START, end_time=END, episode_length=7,
                        random_start=True, autoreset_mode=mode)
    fresh = _roundtrip(venv, how)
    o1, _ = venv.reset(seed=11)
    o2, _ = fresh.reset(seed=11)
    np.testing.assert_array_equal(o1, o2)
    venv.action_space.seed(1)
    acts = [venv.action_space.sample() for _ in range(30)]
    for a in acts[:9]:
        venv.step(a)
    twin = _roundtrip(venv, how)
    for a in acts[9:]:
        ra, rb = venv.step(a), twin.step(a)
        for x, y in zip(ra[:4], rb[:4], strict=True):
            np.testing.assert_array_equal(x, y)
        np.testing.assert_equal(ra[4], rb[4])


def test_env_assembled_from_components_refuses_clearly(real_cache):
    from tradeready_gym import DataFeed, Portfolio, TradingEnv
    from tradeready_gym.actions.schemes import DiscreteActions
    from tradeready_gym.data import load_market_data
    from tradeready_gym.observers.window import WindowObserver
    from tradeready_gym.rewards import PnLReward

    market = load_market_data(["BTCUSDT"], "1h", "2025-01-01", "2025-02-01")
    env = TradingEnv(Portfolio(10_000), DataFeed(market), DiscreteActions(), PnLReward(), WindowObserver(["ohlcv"], 5))
    env.reset(seed=0)
    for fn in (copy.deepcopy, pickle.dumps):
        with pytest.raises(ConfigError, match="assembled from components cannot be copied or pickled"):
            fn(env)


@pytest.mark.parametrize("how", ["deepcopy", "pickle"])
def test_published_classes_copy_too(how, real_cache):
    from tradeready_gym import HeadlessTradingEnv, MultiAssetTradingEnv, SingleAssetTradingEnv

    envs = [
        SingleAssetTradingEnv("ETHUSDT", continuous=True, position_size_pct=0.2, start_time=START, end_time=END),
        HeadlessTradingEnv(db_url="postgresql://x", symbol="SOLUSDT", episode_length=30, start_time=START, end_time=END),
        MultiAssetTradingEnv(symbols=["BTCUSDT", "ETHUSDT"], start_time=START, end_time=END),
    ]
    for env in envs:
        env.reset(seed=1)
        env.action_space.seed(1)
        acts = [env.action_space.sample() for _ in range(10)]
        for a in acts[:4]:
            env.step(a)
        twin = _roundtrip(env, how)
        assert type(twin) is type(env)
        for a in acts[4:]:
            _same(env.step(a), twin.step(a))

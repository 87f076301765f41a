"""First-hour papercuts: newest-first tables, data of another symbol, policies for run_episode."""

from __future__ import annotations

import warnings

import gymnasium as gym
import numpy as np
import pytest

from conftest import rest_market
from tradeready_gym.data.market import DataQualityWarning
from tradeready_gym.envs.episode import run_episode
from tradeready_gym.errors import ConfigError

KW = {"track_training": False}


@pytest.fixture(scope="module")
def eth():
    return rest_market("ETHUSDT", "1h", "2024-01-01", "2024-02-01")


def test_newest_first_csv_and_frame_are_sorted_with_a_note(eth, tmp_path):
    df = eth.to_dataframe()
    path = tmp_path / "ETHUSDT-1h.csv"
    df.iloc[::-1].to_csv(path)
    reference = gym.make("TradeReady-ETH-v0", data=df, **KW)
    for data in (path, df.iloc[::-1]):
        with pytest.warns(DataQualityWarning, match="newest first; they were sorted oldest first"):
            env = gym.make("TradeReady-ETH-v0", data=data, **KW)
        o1, _ = env.reset(seed=0)
        o2, _ = reference.reset(seed=0)
        np.testing.assert_allclose(o1, o2, rtol=1e-6)
    shuffled = df.sample(frac=1.0, random_state=0)
    with pytest.raises(Exception, match="unsorted"):
        gym.make("TradeReady-ETH-v0", data=shuffled, **KW)  # not simply reversed: still refused


def test_one_symbol_data_of_another_symbol_warns(eth, tmp_path):
    df = eth.to_dataframe()
    tagged = df.assign(symbol="ETHUSDT")
    with pytest.warns(DataQualityWarning, match="looks like ETHUSDT candles.*trades BTCUSDT"):
        gym.make("TradeReady-BTC-v0", data=tagged, **KW)
    path = tmp_path / "ETHUSDT-1h-2024-01.csv"
    df.to_csv(path)
    with pytest.warns(DataQualityWarning, match="looks like ETHUSDT"):
        gym.make("TradeReady-BTC-v0", data=path, **KW)
    with warnings.catch_warnings():
        warnings.simplefilter("error", DataQualityWarning)
        gym.make("TradeReady-ETH-v0", data=tagged, **KW)  # the right id: no warning
        gym.make("TradeReady-ETH-v0", data=path, **KW)
        gym.make("TradeReady-BTC-v0", data=df, **KW)  # nothing says which symbol: no guess


def test_run_episode_takes_a_callable_or_a_model(eth):
    kw = {"data": eth, "episode_length": 25, **KW}
    seen = []

    def always_buy(obs):
        seen.append(obs.shape)
        return 1

    out = run_episode("TradeReady-ETH-v0", policy=always_buy, **kw)
    assert out["steps"] == 25 and out["policy"] == "always_buy" and seen[0] == (153,)
    assert out["metrics"]["n_trades"] >= 1

    from stable_baselines3 import PPO

    env = gym.make("TradeReady-ETH-v0", **kw)
    model = PPO("MlpPolicy", env, n_steps=32, batch_size=32, n_epochs=1, seed=0, device="cpu")
    out = run_episode("TradeReady-ETH-v0", policy=model, **kw)
    assert out["steps"] == 25 and out["policy"] == "PPO"
    with pytest.raises(ConfigError, match="policy=42"):
        run_episode("TradeReady-ETH-v0", policy=42, **kw)
    assert run_episode("TradeReady-ETH-v0", policy="hold", **kw)["metrics"]["n_trades"] == 0

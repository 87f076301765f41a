"""Bad input: each a clear error that names the parameter, the bad value and what is allowed."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

from tradeready_gym.errors import ConfigError, DataNotFoundError, InvalidActionError

from .conftest import data_for


def _state(env):
    eng = env.unwrapped.broker
    return (int(eng.t[0]), float(eng.cash[0]), eng.qty[0].copy(), env.unwrapped.clock.step)


def _assert_unchanged(before, after):
    assert before[0] == after[0] and before[1] == after[1] and before[3] == after[3]
    np.testing.assert_array_equal(before[2], after[2])


@pytest.mark.parametrize(
    ("env_id", "bad", "match"),
    [
        ("TradeReady-BTC-v0", 3, "outside Discrete"),
        ("TradeReady-BTC-v0", -1, "outside Discrete"),
        ("TradeReady-BTC-v0", 1.5, "not an integer"),
        ("TradeReady-BTC-v0", float("nan"), "not an integer"),
        ("TradeReady-BTC-v0", "buy", "not an integer"),
        ("TradeReady-BTC-v0", [1, 2], "shape"),
        ("TradeReady-BTC-Continuous-v0", np.array([np.nan], dtype=np.float32), "NaN"),
        ("TradeReady-BTC-Continuous-v0", np.array([-np.inf]), "NaN or infinity"),
        ("TradeReady-BTC-Continuous-v0", np.array([0.1, 0.2]), "shape"),
        ("TradeReady-Portfolio-v0", np.array([0.2, 0.3]), "shape"),
        ("TradeReady-Portfolio-v0", np.array([0.2, np.nan, 0.3]), "NaN"),
    ],
)
def test_bad_actions_raise_and_change_nothing(env_id, bad, match, market3):
    env = gym.make(env_id, data=data_for(env_id, market3), disable_env_checker=True)
    env.reset(seed=0)
    env.step(env.action_space.sample())
    before = _state(env)
    with pytest.raises(InvalidActionError, match=match) as err:
        env.step(bad)
    assert "action=" in str(err.value) and "allowed" in str(err.value)
    _assert_unchanged(before, _state(env))
    env.step(env.unwrapped.action_scheme.noop_action())  # still usable


def test_unknown_feature_name(btc):
    with pytest.raises(ConfigError, match="observation_features holds unknown feature 'rsi_99'; allowed: ohlcv"):
        gym.make("TradeReady-BTC-v0", data=btc, observation_features=["ohlcv", "rsi_99"])
    with pytest.raises(ConfigError, match="must be a list"):
        gym.make("TradeReady-BTC-v0", data=btc, observation_features="ohlcv")


def test_unknown_id():
    with pytest.raises(gym.error.Error, match="TradeReady-XRP"):
        gym.make("TradeReady-XRP-v0")


def test_unknown_and_malformed_symbols(market3, real_cache):
    with pytest.raises(ConfigError, match=r"symbols\[0\]='btc usdt' is not allowed; allowed: a Binance spot pair"):
        gym.make("TradeReady-Portfolio-v0", symbols=["btc usdt", "ETHUSDT"])
    with pytest.raises(ConfigError, match="more than once"):
        gym.make("TradeReady-Portfolio-v0", symbols=["ETHUSDT", "ETHUSDT"])
    with pytest.raises(DataNotFoundError, match="XRPUSDT"):
        gym.make("TradeReady-Portfolio-v0", symbols=["BTCUSDT", "XRPUSDT"], start_time="2024-01-01", end_time="2024-02-01")
    with pytest.raises(DataNotFoundError, match="DOGEUSDT"):
        gym.make("TradeReady-Portfolio-v0", symbols=["BTCUSDT", "DOGEUSDT"], data=market3)


def test_time_range_without_data(btc, real_cache):
    with pytest.raises(DataNotFoundError) as err:
        gym.make("TradeReady-BTC-v0", start_time="2031-01-01T00:00:00Z", end_time="2031-02-01T00:00:00Z")
    assert "BTCUSDT" in str(err.value) and "tradeready data" in str(err.value)
    with pytest.raises(DataNotFoundError, match="2030-01-01T00:00:00Z"):
        gym.make("TradeReady-BTC-v0", data=btc, start_time="2030-01-01T00:00:00Z")
    with pytest.raises(DataNotFoundError, match=r"start_time='2024-02-29T23:00:00Z'.* leaves 1 bar"):
        gym.make("TradeReady-BTC-v0", data=btc, start_time="2024-02-29T23:00:00Z")
    with pytest.raises(ConfigError, match="must be before"):
        gym.make("TradeReady-BTC-v0", data=btc, start_time="2024-02-01", end_time="2024-01-01")
    with pytest.raises(DataNotFoundError, match="lookback_window"):
        gym.make("TradeReady-BTC-v0", data=btc.iloc(0, 40), lookback_window=30)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"lookback_window": 0}, "lookback_window=0"),
        ({"episode_length": 0}, "episode_length=0"),
        ({"render_mode": "video"}, "render_mode='video'"),
        ({"timeframe": "7m"}, "timeframe='7m'"),
        ({"fee_rate": -0.1}, "fee_rate=-0.1"),
        ({"starting_balance": 0}, "starting_balance=0"),
        ({"slippage": "high"}, "slippage='high'"),
        ({"random_start": "often"}, "random_start='often'"),
        ({"start_time": "yesterday"}, "start_time='yesterday'"),
    ],
)
def test_bad_keyword_values(kwargs, match, btc):
    with pytest.raises(ConfigError, match=match):
        gym.make("TradeReady-BTC-v0", data=btc, **kwargs)


def test_unknown_keyword(btc):
    with pytest.raises(ConfigError, match=r"unknown keyword argument\(s\) \['lookback'\]; allowed: .*lookback_window"):
        gym.make("TradeReady-BTC-v0", data=btc, lookback=10)
    with pytest.raises(ConfigError, match="unknown keyword"):
        gym.make("TradeReady-Portfolio-v0", data=btc, symbol="BTCUSDT")


def test_step_before_reset_and_after_the_end(btc):
    env = gym.make("TradeReady-BTC-v0", data=btc, disable_env_checker=True).unwrapped
    with pytest.raises(gym.error.ResetNeeded):
        env.step(0)
    env.reset(options={"start_index": btc.n_bars - 2})
    _, _, term, _, _ = env.step(0)
    assert term
    with pytest.raises(gym.error.ResetNeeded):
        env.step(0)
    with pytest.raises(ConfigError, match="start_index=5 is out of range"):
        env.reset(options={"start_index": 5})
    with pytest.raises(ConfigError, match="unknown keys"):
        env.reset(options={"begin": 3})


def test_bad_actions_in_the_vector_env_change_nothing(market3):
    venv = gym.make_vec("TradeReady-BTC-Continuous-v0", num_envs=3, data=market3.select(["BTCUSDT"]))
    venv.reset(seed=0)
    venv.step(np.array([[0.5], [0.2], [-0.3]], dtype=np.float32))
    eng = venv.broker
    before = (eng.t.copy(), eng.cash.copy(), eng.qty.copy())
    with pytest.raises(InvalidActionError, match="NaN"):
        venv.step(np.array([[0.5], [np.nan], [0.1]], dtype=np.float32))
    with pytest.raises(InvalidActionError, match="shape"):
        venv.step(np.array([0.5, 0.1], dtype=np.float32))
    for a, b in zip(before, (eng.t, eng.cash, eng.qty), strict=True):
        np.testing.assert_array_equal(a, b)

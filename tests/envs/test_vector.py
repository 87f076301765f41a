"""The native vector env: parity with N single envs, autoreset modes, vectorised observations."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.vector import AutoresetMode

from tradeready_gym.envs.vector_env import TradeReadyVectorEnv
from tradeready_gym.errors import ConfigError

from .conftest import data_for

N = 5


def _kwargs(env_id, market3):
    return {
        "data": data_for(env_id, market3),
        "random_start": True,
        "episode_length": 40,
        "observation_features": ["ohlcv", "rsi_14", "macd"],
        "lookback_window": 8,
        "slippage": 5.0,
    }


@pytest.mark.parametrize(
    "env_id", ["TradeReady-BTC-v0", "TradeReady-ETH-Continuous-v0", "TradeReady-Portfolio-v0"]
)
def test_vector_env_equals_n_single_envs(env_id, market3):
    kw = _kwargs(env_id, market3)
    venv = gym.make_vec(env_id, num_envs=N, **kw)
    assert isinstance(venv, TradeReadyVectorEnv)
    singles = [gym.make(env_id, **kw) for _ in range(N)]
    seed = 100
    vobs, vinfo = venv.reset(seed=seed)
    for i, env in enumerate(singles):
        obs, info = env.reset(seed=seed + i)
        np.testing.assert_array_equal(vobs[i], obs)
        assert vinfo["virtual_time"][i] == info["virtual_time"]
    venv.action_space.seed(5)
    need_reset = [False] * N
    ends = 0
    for _ in range(130):
        actions = venv.action_space.sample()
        vobs, vrew, vterm, vtrunc, vinfo = venv.step(actions)
        for i, env in enumerate(singles):
            if need_reset[i]:  # next-step autoreset: this step resets env i, its action is ignored
                obs, info = env.reset()
                r, term, trunc = 0.0, False, False
                need_reset[i] = False
            else:
                obs, r, term, trunc, info = env.step(actions[i])
                need_reset[i] = term or trunc
                ends += int(term or trunc)
            np.testing.assert_array_equal(vobs[i], obs)
            assert vrew[i] == r
            assert (bool(vterm[i]), bool(vtrunc[i])) == (term, trunc)
            for key in ("equity", "available_cash", "position_value", "unrealized_pnl", "fees_paid"):
                assert vinfo[key][i] == info[key], key
            assert vinfo["virtual_time"][i] == info["virtual_time"]
            assert vinfo["step"][i] == info["step"]
    assert ends >= N  # every env went through at least one autoreset


def test_same_step_autoreset_reports_final_observation(market3):
    kw = _kwargs("TradeReady-BTC-v0", market3)
    venv = gym.make_vec("TradeReady-BTC-v0", num_envs=3, autoreset_mode="same_step", **kw)
    single = gym.make("TradeReady-BTC-v0", **kw)
    assert venv.metadata["autoreset_mode"] == AutoresetMode.SAME_STEP
    vobs, _ = venv.reset(seed=1)
    obs, _ = single.reset(seed=1)
    for _ in range(60):
        obs, r, term, trunc, info = single.step(2)
        vobs, vr, _vterm, vtrunc, vinfo = venv.step(np.array([2, 2, 2]))
        assert vr[0] == r
        if term or trunc:
            assert vtrunc[0] and vinfo["_final_obs"][0]
            np.testing.assert_array_equal(vinfo["final_obs"][0], obs)
            assert vinfo["final_info"]["equity"][0] == info["equity"]
            obs, _ = single.reset()
            np.testing.assert_array_equal(vobs[0], obs)  # already the next episode's first observation
            return
    pytest.fail("no episode ended within 60 steps")


def test_disabled_autoreset_needs_partial_reset(market3):
    kw = _kwargs("TradeReady-BTC-v0", market3)
    kw["random_start"] = False
    kw["episode_length"] = 3
    venv = gym.make_vec("TradeReady-BTC-v0", num_envs=2, autoreset_mode="disabled", **kw)
    venv.reset(seed=0)
    for _ in range(3):
        _, _, _term, trunc, _ = venv.step(np.array([1, 0]))
    assert trunc.all()
    with pytest.raises(gym.error.ResetNeeded):
        venv.step(np.array([0, 0]))
    _obs, info = venv.reset(options={"reset_mask": np.array([True, True])})
    assert (info["step"] == 0).all()
    with pytest.raises(ConfigError, match="reset_mask"):
        venv.reset(options={"reset_mask": np.array([1, 0])})


def test_observation_gathering_matches_the_feature_matrix(market3):
    kw = _kwargs("TradeReady-Portfolio-v0", market3)
    kw["observation_features"] = [*kw["observation_features"], "balance", "position", "unrealized_pnl"]
    venv = gym.make_vec("TradeReady-Portfolio-v0", num_envs=4, **kw)
    obs, _ = venv.reset(seed=9)
    matrix = venv.feed.features(["ohlcv", "rsi_14", "macd"])
    t = venv.clock
    for i in range(4):
        window = matrix[t[i] - 7 : t[i] + 1].reshape(-1)
        np.testing.assert_array_equal(obs[i, : window.size], window)
        np.testing.assert_array_equal(obs[i, window.size :], np.array([1.0, 0, 0, 0, 0], dtype=np.float32))


def test_bad_vector_arguments(market3):
    kw = _kwargs("TradeReady-BTC-v0", market3)
    with pytest.raises(ConfigError, match="autoreset_mode='sometimes'"):
        gym.make_vec("TradeReady-BTC-v0", num_envs=2, autoreset_mode="sometimes", **kw)
    with pytest.raises(ConfigError, match="num_envs=0"):
        gym.make_vec("TradeReady-BTC-v0", num_envs=0, **kw)
    venv = gym.make_vec("TradeReady-BTC-v0", num_envs=2, **kw)
    with pytest.raises(gym.error.ResetNeeded):
        venv.step(np.array([0, 0]))
    with pytest.raises(ConfigError, match="seed has 3 values"):
        venv.reset(seed=[1, 2, 3])


def test_native_vector_env_equals_gymnasium_sync_vector_env(market3):
    kw = _kwargs("TradeReady-SOL-v0", market3)
    native = gym.make_vec("TradeReady-SOL-v0", num_envs=3, **kw)
    sync = gym.make_vec("TradeReady-SOL-v0", num_envs=3, vectorization_mode="sync", **kw)
    assert isinstance(sync, gym.vector.SyncVectorEnv)
    o1, _ = native.reset(seed=21)
    o2, _ = sync.reset(seed=21)
    np.testing.assert_array_equal(o1, o2)
    rng = np.random.default_rng(0)
    for _ in range(90):
        a = rng.integers(0, 3, 3)
        s1 = native.step(a)
        s2 = sync.step(a)
        for x, y in zip(s1[:4], s2[:4], strict=True):
            np.testing.assert_array_equal(x, y)
        np.testing.assert_array_equal(s1[4]["equity"], s2[4]["equity"])


def test_info_details_match_single_env_infos(market3):
    kw = _kwargs("TradeReady-Portfolio-v0", market3)
    venv = gym.make_vec("TradeReady-Portfolio-v0", num_envs=2, info_details=True, **kw)
    singles = [gym.make("TradeReady-Portfolio-v0", **kw) for _ in range(2)]
    venv.reset(seed=3)
    for i, env in enumerate(singles):
        env.reset(seed=3 + i)
    rng = np.random.default_rng(2)
    fills = 0
    for _ in range(20):
        a = rng.uniform(0, 1, (2, 3)).astype(np.float32)
        _, _, _, _, info = venv.step(a)
        for i, env in enumerate(singles):
            _, _, _, _, single_info = env.step(a[i])
            assert info["details"][i] == single_info
            assert info["n_fills"][i] == len(single_info["filled_orders"])
            fills += len(single_info["filled_orders"])
    assert fills > 0

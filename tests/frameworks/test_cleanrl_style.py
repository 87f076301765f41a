# ruff: noqa: RUF059  (step() unpacked as framework users write it)
"""CleanRL-style use: the script passes only an id; the period and the episode length come from
``TRADEREADY_START`` / ``TRADEREADY_END`` / ``TRADEREADY_EPISODE_LENGTH`` (no code change)."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest


def make_env(env_id: str, seed: int):
    """CleanRL's ``make_env`` (ppo.py), unchanged."""

    def thunk():
        env = gym.make(env_id)
        env = gym.wrappers.RecordEpisodeStatistics(env)
        env.action_space.seed(seed)
        return env

    return thunk


def test_id_only_script_chooses_period_and_episode_length(real_cache, monkeypatch):
    monkeypatch.setenv("TRADEREADY_START", "2025-01-01T00:00:00Z")
    monkeypatch.setenv("TRADEREADY_END", "2025-02-01T00:00:00Z")
    monkeypatch.setenv("TRADEREADY_EPISODE_LENGTH", "16")
    envs = gym.vector.SyncVectorEnv([make_env("tradeready_gym:TradeReady-BTC-v0", i) for i in range(2)])
    assert isinstance(envs.single_action_space, gym.spaces.Discrete)
    obs, infos = envs.reset(seed=1)
    assert infos["virtual_time"][0].startswith("2025-01")
    lengths = []
    for _ in range(40):
        obs, rewards, terms, truncs, infos = envs.step(envs.action_space.sample())
        if "episode" in infos:
            lengths.extend(infos["episode"]["l"][infos["_episode"]].tolist())
        assert all(t < "2025-02-01T00:00:01Z" for t in infos["virtual_time"])
    assert lengths and set(lengths) == {16}
    envs.close()


def test_explicit_keywords_win_over_the_environment(real_cache, monkeypatch):
    monkeypatch.setenv("TRADEREADY_EPISODE_LENGTH", "16")
    monkeypatch.setenv("TRADEREADY_START", "2025-01-01")
    env = gym.make("TradeReady-BTC-v0", end_time="2025-02-01", episode_length=4)
    env.reset(seed=0)
    n, done = 0, False
    while not done:
        _, _, term, trunc, _ = env.step(0)
        n, done = n + 1, term or trunc
    assert n == 4


def test_bad_environment_value_names_the_variable(real_cache, monkeypatch):
    from tradeready_gym.errors import ConfigError

    monkeypatch.setenv("TRADEREADY_EPISODE_LENGTH", "many")
    with pytest.raises(ConfigError, match="TRADEREADY_EPISODE_LENGTH='many'"):
        gym.make("TradeReady-BTC-v0")


@pytest.mark.parametrize("mode", ["sync", "async", "vector_entry_point"])
def test_gymnasium_vector_modes(mode, real_cache):
    kw = {"start_time": "2025-01-01", "end_time": "2025-02-01", "episode_length": 5}
    envs = gym.make_vec("tradeready_gym:TradeReady-BTC-v0", num_envs=2, vectorization_mode=mode, **kw)
    obs, _ = envs.reset(seed=0)
    assert obs.shape == (2, 153)
    truncs = []
    for _ in range(5):
        obs, rewards, terms, trunc, infos = envs.step(np.array([1, 0]))
        truncs.append(trunc.copy())
    assert np.array_equal(np.array(truncs)[:, 0], [False] * 4 + [True])
    envs.close()

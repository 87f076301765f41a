"""Stable-Baselines3 PPO trains on a registered id, single env and native vector env."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
import torch
from stable_baselines3 import PPO
from stable_baselines3.common.vec_env import VecMonitor

from tradeready_gym.envs.sb3 import SB3VecEnvAdapter, make_sb3_vec_env

pytestmark = pytest.mark.slow


@pytest.fixture(autouse=True)
def _one_torch_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _params_finite(model):
    return all(torch.isfinite(p).all() for p in model.policy.parameters())


def test_ppo_single_env(btc):
    env = gym.make("TradeReady-BTC-v0", data=btc, lookback_window=10, episode_length=256, random_start=True)
    torch.manual_seed(0)
    model = PPO("MlpPolicy", env, n_steps=512, batch_size=128, n_epochs=2, seed=0, device="cpu")
    before = [p.detach().clone() for p in model.policy.parameters()]
    model.learn(total_timesteps=2048)
    assert model.num_timesteps == 2048
    assert _params_finite(model)
    assert any(not torch.equal(a, b) for a, b in zip(before, model.policy.parameters(), strict=True))
    obs, _ = env.reset(seed=1)
    action, _ = model.predict(obs, deterministic=True)
    assert env.action_space.contains(int(action))


def test_ppo_native_vector_env(market3):
    venv = make_sb3_vec_env(
        "TradeReady-ETH-Continuous-v0",
        num_envs=8,
        data=market3.select(["ETHUSDT"]),
        lookback_window=10,
        episode_length=100,
        random_start=True,
    )
    assert isinstance(venv, SB3VecEnvAdapter)
    monitored = VecMonitor(venv)
    torch.manual_seed(0)
    model = PPO("MlpPolicy", monitored, n_steps=128, batch_size=256, n_epochs=2, seed=0, device="cpu")
    model.learn(total_timesteps=4096)
    assert model.num_timesteps == 4096
    assert _params_finite(model)
    # episodes of 100 steps ended and were reset inside the batched engine
    assert len(model.ep_info_buffer) >= 8
    assert all(e["l"] == 100 and np.isfinite(e["r"]) for e in model.ep_info_buffer)
    obs = monitored.reset()
    actions, _ = model.predict(obs, deterministic=True)
    assert actions.shape == (8, 1)


def test_adapter_reports_terminal_observation(market3):
    venv = make_sb3_vec_env("TradeReady-BTC-v0", num_envs=3, data=market3.select(["BTCUSDT"]), episode_length=5)
    venv.seed(4)
    obs = venv.reset()
    assert obs.shape == (3, 153)
    for _k in range(5):
        venv.step_async(np.array([1, 0, 2]))
        obs, rewards, dones, infos = venv.step_wait()
    assert dones.all() and rewards.dtype == np.float32
    for info in infos:
        assert info["TimeLimit.truncated"] is True
        assert info["terminal_observation"].shape == (153,)
    assert venv.get_attr("num_envs") == [3, 3, 3]

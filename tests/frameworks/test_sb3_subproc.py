# ruff: noqa: RUF059  (step() unpacked as framework users write it)
"""Stable-Baselines3 ``SubprocVecEnv`` (spawn): workers that never imported tradeready_gym build the
env from the ``tradeready_gym:TradeReady-BTC-v0`` id form."""

from __future__ import annotations

import functools

import numpy as np
import pytest
from stable_baselines3 import PPO
from stable_baselines3.common.env_util import make_vec_env
from stable_baselines3.common.vec_env import SubprocVecEnv

from ._workers import make_by_id_in_a_fresh_worker
from .conftest import END, START

pytestmark = pytest.mark.slow  # worker processes start Python and load the compiled kernels


def test_subproc_spawn_workers_build_by_module_id(real_cache):
    fn = functools.partial(
        make_by_id_in_a_fresh_worker, "tradeready_gym:TradeReady-BTC-v0", start_time=START, end_time=END,
        episode_length=20,
    )
    venv = SubprocVecEnv([fn, fn], start_method="spawn")
    try:
        obs = venv.reset()
        assert obs.shape == (2, 153)
        dones_seen = 0
        for _ in range(25):
            obs, rewards, dones, infos = venv.step(np.array([1, 0]))
            dones_seen += int(dones.sum())
        assert dones_seen == 2  # each worker finished one 20-step episode
        assert venv.get_attr("symbols") == [("BTCUSDT",), ("BTCUSDT",)]
    finally:
        venv.close()


def test_make_vec_env_with_subproc_and_ppo(real_cache):
    venv = make_vec_env(
        "tradeready_gym:TradeReady-BTC-v0", n_envs=2, vec_env_cls=SubprocVecEnv,
        vec_env_kwargs={"start_method": "spawn"},
        env_kwargs={"start_time": START, "end_time": END, "episode_length": 32},
    )
    try:
        model = PPO("MlpPolicy", venv, n_steps=32, batch_size=32, n_epochs=1, seed=0, device="cpu")
        model.learn(total_timesteps=64)
        assert model.num_timesteps == 64
    finally:
        venv.close()

"""One reward object given to several envs must not share state between them."""

from __future__ import annotations

import gymnasium as gym
import numpy as np

import tradeready_gym  # noqa: F401
from tradeready_gym.rewards import SharpeReward


def _rewards(env: gym.Env, actions: list[int]) -> list[float]:
    env.reset(seed=0)
    return [float(env.step(a)[1]) for a in actions]


def test_one_reward_instance_in_two_envs_gives_each_its_own_state(btc):
    actions = [int(a) for a in np.random.default_rng(1).integers(0, 3, size=40)]
    alone = _rewards(gym.make("TradeReady-BTC-v0", data=btc, reward_function=SharpeReward(window=10)), actions)

    shared = SharpeReward(window=10)
    env_a = gym.make("TradeReady-BTC-v0", data=btc, reward_function=shared)
    env_b = gym.make("TradeReady-BTC-v0", data=btc, reward_function=shared)
    env_a.reset(seed=0)
    env_b.reset(seed=0)
    got_a, got_b = [], []
    for a in actions:  # interleaved, as SB3's DummyVecEnv steps its envs
        got_a.append(float(env_a.step(a)[1]))
        got_b.append(float(env_b.step(a)[1]))
    assert got_a == alone
    assert got_b == alone

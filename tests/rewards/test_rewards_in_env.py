"""The rewards wired into the real registered envs: each step's reward is the formula of its equities."""

from __future__ import annotations

import itertools
import math

import gymnasium as gym
import numpy as np
import pytest

import tradeready_gym  # noqa: F401
from conftest import rest_market
from tradeready_gym.rewards import (
    CustomReward,
    DrawdownPenaltyReward,
    LogReturnReward,
    SharpeReward,
)


@pytest.fixture(scope="module")
def btc():
    return rest_market("BTCUSDT", "1h", "2024-01-01", "2024-03-01")


def _episode(env: gym.Env, n: int, seed: int) -> tuple[list[float], list[float], list[dict]]:
    rng = np.random.default_rng(seed)
    _, info = env.reset(seed=seed)
    equity, rewards, infos = [info["equity"]], [], []
    for _ in range(n):
        _, r, term, trunc, info = env.step(int(rng.integers(0, 3)))
        equity.append(info["equity"])
        rewards.append(r)
        infos.append(info)
        assert not (term or trunc)
    return equity, rewards, infos


def test_pnl_and_log_return_in_the_env(btc):
    eq, rewards, _ = _episode(gym.make("TradeReady-BTC-v0", data=btc), 60, 0)
    assert rewards == pytest.approx([b - a for a, b in itertools.pairwise(eq)], abs=1e-9)
    assert len(set(np.round(rewards, 6))) > 5  # the account really moved
    eq, rewards, _ = _episode(
        gym.make("TradeReady-BTC-v0", data=btc, reward_function=LogReturnReward()), 60, 0
    )
    assert rewards == pytest.approx([math.log(b / a) for a, b in itertools.pairwise(eq)], abs=1e-12)


def test_sharpe_in_the_env_equals_its_definition_and_resets_per_episode(btc):
    env = gym.make("TradeReady-BTC-v0", data=btc, reward_function=SharpeReward(window=10))
    for seed in (1, 2):  # the second episode starts from a fresh window
        eq, rewards, _ = _episode(env, 40, seed)
        r = np.diff(eq) / np.array(eq[:-1])
        ratios = [0.0]
        for t in range(1, len(r) + 1):
            w = r[max(0, t - 10) : t]
            sd = w.std(ddof=1) if len(w) >= 2 else 0.0
            ratios.append(w.mean() / sd if sd > 1e-12 else 0.0)
        assert rewards == pytest.approx(np.diff(ratios).tolist(), abs=1e-9)


def test_drawdown_penalty_in_the_env(btc):
    env = gym.make("TradeReady-BTC-v0", data=btc, reward_function=DrawdownPenaltyReward(penalty_coeff=2.0))
    eq, rewards, _ = _episode(env, 60, 3)
    peak = eq[0]
    want = []
    for a, b in itertools.pairwise(eq):
        peak = max(peak, b)
        want.append(b / a - 1 - 2.0 * (1 - b / peak))
    assert rewards == pytest.approx(want, abs=1e-12)


class FeePenalty(CustomReward):
    def compute(self, prev_equity, curr_equity, info):
        return curr_equity - prev_equity - sum(f["fee"] for f in info["filled_orders"])


def test_a_custom_reward_in_the_env_and_the_vector_env(btc):
    eq, rewards, infos = _episode(
        gym.make("TradeReady-BTC-v0", data=btc, reward_function=FeePenalty()), 60, 4
    )
    fees = [sum(f["fee"] for f in i["filled_orders"]) for i in infos]
    assert any(fees)
    want = [b - a - f for a, b, f in zip(eq, eq[1:], fees, strict=False)]
    assert rewards == pytest.approx(want, abs=1e-9)

    venv = gym.make_vec("TradeReady-BTC-v0", num_envs=3, data=btc, reward_function=FeePenalty())
    singles = [gym.make("TradeReady-BTC-v0", data=btc, reward_function=FeePenalty()) for _ in range(3)]
    venv.reset(seed=[10, 11, 12])
    for i, s in enumerate(singles):
        s.reset(seed=10 + i)
    rng = np.random.default_rng(5)
    for _ in range(30):
        acts = rng.integers(0, 3, 3)
        _, vr, *_ = venv.step(acts)
        sr = [s.step(int(a))[1] for s, a in zip(singles, acts, strict=True)]
        np.testing.assert_allclose(vr, sr, atol=1e-9)
    venv.close()

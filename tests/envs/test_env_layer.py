"""The env layer's single definitions: the reward that runs, the fused step's layout, the fill decoder."""

from __future__ import annotations

import numpy as np
import pytest

from tradeready_gym.actions import DiscreteActions
from tradeready_gym.components import BatchState, Component
from tradeready_gym.engine.core import decode_fill_row
from tradeready_gym.envs import DataFeed, Portfolio, TradingEnv
from tradeready_gym.envs._fused import FusedLayout
from tradeready_gym.envs.vector_env import TradeReadyVectorEnv
from tradeready_gym.errors import ConfigError
from tradeready_gym.informers.record import N_REC_FLOATS, N_REC_INTS
from tradeready_gym.observers import WindowObserver
from tradeready_gym.rewards import PnLReward, SharpeReward
from tradeready_gym.rewards.base import RewardFunction, ScalarReward


class _Gain:
    """A reward with only compute (no base class)."""

    def __init__(self) -> None:
        self.calls = 0

    def compute(self, prev_equity, curr_equity, info):
        self.calls += 1
        return curr_equity - prev_equity


def _env(btc, reward, n=1):
    parts = (Portfolio(10_000), DataFeed(btc), DiscreteActions(), reward, WindowObserver(lookback=5))
    return TradingEnv(*parts) if n == 1 else TradeReadyVectorEnv(n, *parts)


def test_reward_scheme_is_the_reward_that_runs(btc):
    mine = SharpeReward(window=10)
    env = _env(btc, mine)
    running = env.reward_scheme
    assert running is not mine and type(running) is SharpeReward and running.n_envs == 1
    env.reset(seed=0)
    rewards = [env.step(a)[1] for a in (1, 0, 0, 2, 0)]
    assert mine.n_envs is None  # the user's object was never bound nor stepped
    # the running object is the one that produced the rewards: a fresh copy gives the same numbers
    again = _env(btc, SharpeReward(window=10))
    again.reset(seed=0)
    assert [again.step(a)[1] for a in (1, 0, 0, 2, 0)] == rewards


def test_a_compute_only_reward_runs_as_a_reward_function(btc):
    mine = _Gain()
    venv = _env(btc, mine, n=3)
    running = venv.reward_scheme
    assert isinstance(running, ScalarReward) and isinstance(running, RewardFunction)
    venv.reset(seed=0)
    _, reward, *_ = venv.step(np.array([1, 0, 2]))
    assert mine.calls == 0 and np.isfinite(reward).all()
    pnl = _env(btc, PnLReward(), n=3)
    pnl.reset(seed=0)
    np.testing.assert_array_equal(pnl.step(np.array([1, 0, 2]))[1], reward)
    with pytest.raises(ConfigError, match="reward_function"):
        _env(btc, object())
    with pytest.raises(ConfigError, match="instance"):
        _env(btc, PnLReward)


def test_fused_layout_is_the_same_for_every_batch_size():
    codes = np.array([0, 1, 2], dtype=np.int64)
    for n in (1, 2, 7, 1024):
        lay = FusedLayout(n, 3, codes, 11)
        assert lay.orders.shape == (n, 3) and lay.rec_floats.shape == (n, N_REC_FLOATS + 6)
        assert lay.rec_ints.shape == (n, N_REC_INTS) and lay.curve.shape == (n, 11)
        assert all(getattr(lay, k).shape == (n,) for k in ("steps", "start", "end", "max_steps", "prev_equity"))
        np.testing.assert_array_equal(lay.codes, codes)
        # the parts tile the blocks: writing each part leaves no byte of another one changed
        lay.f64[:] = 0
        lay.orders[:] = 1
        assert lay.f64.sum() == n * 3


def test_batch_state_and_component_live_in_the_neutral_module():
    import tradeready_gym.envs.base as base

    assert base.BatchState is BatchState and base.Component is Component
    assert Component.__module__ == "tradeready_gym.components"


def test_one_fill_decoder_for_the_engine_and_the_info(btc):
    env = _env(btc, PnLReward())
    env.reset(seed=0)
    *_, info = env.step(1)
    (fill,) = env.broker.last_fills(0)
    (row,) = info["filled_orders"]
    decoded = decode_fill_row(env.broker.fill_table[0, 0].tolist())
    assert decoded[:6] == (0, "buy", fill.quantity, fill.price, fee := fill.fee, "market")
    assert (row["quantity"], row["price"], row["fee"], row["side"], row["kind"]) == (
        fill.quantity, fill.price, fee, "buy", "market"
    )

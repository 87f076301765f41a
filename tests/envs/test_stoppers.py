"""Stoppers: end of data terminates; the equity floor and the episode length truncate."""

from __future__ import annotations

import numpy as np
import pytest

from tradeready_gym.actions import DiscreteActions
from tradeready_gym.envs.feed import DataFeed
from tradeready_gym.envs.portfolio import Portfolio
from tradeready_gym.envs.trading_env import TradingEnv
from tradeready_gym.observers import WindowObserver
from tradeready_gym.rewards import PnLReward
from tradeready_gym.stoppers import (
    CompositeStopper,
    EndOfDataStopper,
    EpisodeLengthStopper,
    EquityFloorStopper,
    StandardStopper,
)


def _env(market, stopper):
    return TradingEnv(
        Portfolio(10_000, fee_rate=0.01), DataFeed(market), DiscreteActions(trade_fraction=1.0), PnLReward(),
        WindowObserver(["returns"], lookback=3), stopper=stopper,
    )


def _ends(env, actions):
    env.reset(seed=0)
    out = []
    for a in actions:
        _, _, term, trunc, _ = env.step(a)
        out.append((term, trunc))
        if term or trunc:
            env.reset()
    return out


@pytest.mark.parametrize(("floor", "length"), [(0.0, None), (0.97, None), (0.1, 7), (0.985, 4)])
def test_standard_stopper_equals_the_composite(floor, length, btc):
    market = btc.iloc(0, 60)
    parts = [EndOfDataStopper(), EquityFloorStopper(floor)]
    if length is not None:
        parts.append(EpisodeLengthStopper(length))
    actions = np.random.default_rng(1).integers(0, 3, 150).tolist()
    a = _ends(_env(market, StandardStopper(floor, length)), actions)
    b = _ends(_env(market, CompositeStopper(parts)), actions)
    assert a == b
    if floor > 0.5 or length is not None:
        assert any(tr for _, tr in a)
    else:
        assert any(t for t, _ in a)  # the end of data was reached


def test_end_of_data_terminates_at_the_last_bar(btc):
    market = btc.iloc(0, 40)
    env = _env(market, StandardStopper())
    _, info = env.reset()
    steps = 0
    while True:
        _, _, term, trunc, info = env.step(0)
        steps += 1
        if term or trunc:
            break
    assert term and not trunc
    assert env.clock.index == market.n_bars - 1 and steps == info["total_steps"]
    assert info["progress_pct"] == 100.0


def test_equity_floor_truncates(btc):
    env = _env(btc.iloc(0, 200), StandardStopper(equity_floor=0.995))
    env.reset()
    for _ in range(3):  # 1% fee on a full-equity buy and sell loses > 0.5%
        _, _, term, trunc, info = env.step(1)
        if trunc:
            break
        _, _, term, trunc, info = env.step(2)
        if trunc:
            break
    assert trunc and not term and info["equity"] <= 0.995 * 10_000


def test_bad_stopper_settings():
    from tradeready_gym.errors import ConfigError

    with pytest.raises(ConfigError, match=r"floor=1\.5"):
        StandardStopper(equity_floor=1.5)
    with pytest.raises(ConfigError, match="episode_length=-3"):
        StandardStopper(episode_length=-3)

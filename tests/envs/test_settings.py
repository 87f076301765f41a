"""Component settings changed between steps: checked when set, and used from the next step on by
the one-call step and the component-by-component step alike; the episode history of both."""

from __future__ import annotations

import re

import gymnasium as gym
import numpy as np
import pytest

from tradeready_gym.errors import ConfigError

from .test_fused import _assert_info_equal


def _pair(btc, **kw):
    fast = gym.make("TradeReady-BTC-v0", data=btc, lookback_window=6, **kw)
    slow = gym.make("TradeReady-BTC-v0", data=btc, lookback_window=6, **kw)
    slow.unwrapped._core._fused = None  # the component-by-component path
    for env in (fast, slow):
        env.reset(seed=0)
    return fast, slow


def _step_both(fast, slow, action):
    ra, rb = fast.step(action), slow.step(action)
    np.testing.assert_array_equal(ra[0], rb[0])
    assert ra[1:4] == rb[1:4]
    _assert_info_equal(ra[4], rb[4])
    return ra


def test_trade_fraction_set_between_steps_sizes_the_next_buys(btc):
    fast, slow = _pair(btc)
    first = _step_both(fast, slow, 1)[4]["filled_orders"]
    for env in (fast, slow):
        env.unwrapped.action_scheme.trade_fraction = 0.5
    info = _step_both(fast, slow, 1)[4]
    (fill,) = info["filled_orders"]
    # the second buy spends half of the equity at the decision, the first a tenth
    assert fill["quantity"] * fill["price"] > 4.0 * first[0]["quantity"] * first[0]["price"]


def test_episode_length_set_during_an_episode_truncates_there(btc):
    fast, slow = _pair(btc)
    for _ in range(5):
        _step_both(fast, slow, 0)
    for env in (fast, slow):
        env.unwrapped.stopper.episode_length = 8
    for k in range(6, 9):
        _, _, term, trunc, info = _step_both(fast, slow, 0)
        assert info["total_steps"] == 8
        assert (term, trunc) == (False, k == 8)


def test_equity_floor_set_during_an_episode_stops_it(btc):
    fast, slow = _pair(btc)
    _step_both(fast, slow, 1)  # holds BTC now: equity moves with the price
    for env in (fast, slow):
        env.unwrapped.stopper.floor = 0.999999  # any loss at all ends the episode
    for _ in range(200):
        trunc, info = _step_both(fast, slow, 0)[3:]
        if trunc:
            assert info["equity"] <= 0.999999 * 10_000
            break
    else:
        pytest.fail("the raised equity floor never truncated the episode")


def test_history_is_the_same_on_both_paths(btc):
    fast, slow = _pair(btc)
    rng = np.random.default_rng(5)
    equity = [fast.unwrapped.last_info["equity"]]
    for _ in range(120):
        info = _step_both(fast, slow, int(rng.integers(0, 3)))[4]
        equity.append(info["equity"])
    a, b = fast.unwrapped.history, slow.unwrapped.history
    np.testing.assert_array_equal(a.equity_curve(), np.array(equity))
    np.testing.assert_array_equal(a.equity_curve(), b.equity_curve())
    np.testing.assert_array_equal(a.bars(), b.bars())
    assert a.bars()[-1] == fast.unwrapped.clock.index and len(a.bars()) == 121
    np.testing.assert_array_equal(np.diff(a.bars()), 1)
    assert a.fills == b.fills and len(a.fills) > 10
    fast.reset(seed=1)
    assert len(fast.unwrapped.history.equity_curve()) == 1 and fast.unwrapped.history.fills == []


@pytest.mark.parametrize(
    ("component", "name", "value", "message"),
    [
        ("action_scheme", "trade_fraction", 0.0, "trade_fraction=0.0 is out of range"),
        ("action_scheme", "trade_fraction", "x", "trade_fraction='x' is not a number"),
        ("action_scheme", "asset", 3, "asset=3 is out of range for symbols ['BTCUSDT']"),
        ("action_scheme", "asset", -1, "asset=-1 must be a non-negative column index"),
        ("stopper", "episode_length", 0, "episode_length=0 is not allowed"),
        ("stopper", "floor", 1.5, "floor=1.5 is out of range"),
    ],
)
def test_bad_settings_are_refused_and_change_nothing(btc, component, name, value, message):
    env = gym.make("TradeReady-BTC-v0", data=btc, lookback_window=6)
    env.reset(seed=0)
    target = getattr(env.unwrapped, component)
    before = getattr(target, name)
    with pytest.raises(ConfigError, match=re.escape(message)):
        setattr(target, name, value)
    assert getattr(target, name) == before
    env.step(1)  # still steps with the old setting


def test_continuous_dead_zone_set_between_steps(market3):
    data = market3.select(["ETHUSDT"])
    fast = gym.make("TradeReady-ETH-Continuous-v0", data=data, lookback_window=6)
    slow = gym.make("TradeReady-ETH-Continuous-v0", data=data, lookback_window=6)
    slow.unwrapped._core._fused = None
    for env in (fast, slow):
        env.reset(seed=0)
    a = np.array([0.3], dtype=np.float32)
    assert len(_step_both(fast, slow, a)[4]["filled_orders"]) == 1
    for env in (fast, slow):
        env.unwrapped.action_scheme.dead_zone = 0.5
    assert _step_both(fast, slow, a)[4]["filled_orders"] == []
    with pytest.raises(ConfigError, match=r"dead_zone=1\.0 is out of range"):
        fast.unwrapped.action_scheme.dead_zone = 1.0

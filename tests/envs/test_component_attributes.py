"""Every public attribute of every built-in component, set to good and bad values on a running env.

Compiled code reads some of these settings (the observer's window, the schemes' sizes, the stopper's
limits): each one is either read-only once the component exists or checked when set. A good value
gives a correct step (a finite observation of the declared size, the rule applied); a bad one raises
the library's error and changes nothing. Never uninitialised or out-of-bounds memory.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from tradeready_gym.actions import (
    ContinuousActions,
    DiscreteActions,
    PortfolioWeightActions,
    TargetExposureActions,
)
from tradeready_gym.envs import DataFeed, Portfolio, TradingEnv
from tradeready_gym.envs.vector_env import TradeReadyVectorEnv
from tradeready_gym.errors import ConfigError
from tradeready_gym.informers import DefaultInformer
from tradeready_gym.observers import WindowObserver
from tradeready_gym.rewards import PnLReward
from tradeready_gym.stoppers import (
    CompositeStopper,
    EndOfDataStopper,
    EpisodeLengthStopper,
    EquityFloorStopper,
    StandardStopper,
)

NAN = float("nan")


def _env(market: Any, action: Any = None, stopper: Any = None, n: int = 1) -> Any:
    parts = (
        Portfolio(10_000),
        DataFeed(market),
        action if action is not None else DiscreteActions(),
        PnLReward(),
        WindowObserver(["ohlcv", "rsi_14"], lookback=8),
    )
    if n == 1:
        return TradingEnv(*parts, stopper=stopper, informer=DefaultInformer())
    return TradeReadyVectorEnv(n, *parts, stopper=stopper, informer=DefaultInformer())


def _run(env: Any, steps: int = 12) -> None:
    """Reset and step; every observation finite and of the declared size."""
    obs, _ = env.reset(seed=0)
    space = env.observation_space
    assert obs.shape == space.shape and obs.dtype == np.float32 and np.isfinite(obs).all()
    env.action_space.seed(1)
    for _ in range(steps):
        obs, reward, term, trunc, _ = env.step(env.action_space.sample())
        assert obs.shape == space.shape and np.isfinite(obs).all() and np.isfinite(reward).all()
        if np.any(term | trunc):
            if isinstance(env, TradingEnv):
                env.reset()


# (name, build env, the component, attribute, good values, bad values)
CASES: list[tuple[str, Callable[[Any, Any], Any], Callable[[Any], Any], str, list[Any], list[Any]]] = [
    ("observer", lambda b, m: _env(b), lambda e: e.unwrapped.observer, "lookback", [], [5, 400, 0, "8", None]),
    ("observer", lambda b, m: _env(b), lambda e: e.unwrapped.observer, "features", [], [["ohlcv"], ["macd"]]),
    ("observer", lambda b, m: _env(b), lambda e: e.unwrapped.observer, "scalars", [], [("balance",), ()]),
    ("observer", lambda b, m: _env(b), lambda e: e.unwrapped.observer, "n_features", [], [3]),
    ("observer", lambda b, m: _env(b), lambda e: e.unwrapped.observer, "warmup", [], [0]),
    ("discrete", lambda b, m: _env(b), lambda e: e.unwrapped.action_scheme, "trade_fraction",
     [0.5, 1, 0.01], [0, -0.1, 1.5, NAN, "0.2", None, True]),
    ("discrete", lambda b, m: _env(b), lambda e: e.unwrapped.action_scheme, "asset", [0], [1, -1, 0.0, "0", None]),
    ("discrete, 3 assets", lambda b, m: _env(m), lambda e: e.unwrapped.action_scheme, "asset", [2, 1], [3, -1]),
    ("continuous", lambda b, m: _env(b, ContinuousActions()), lambda e: e.unwrapped.action_scheme, "dead_zone",
     [0.0, 0.5], [1.0, -0.1, NAN, "x"]),
    ("continuous", lambda b, m: _env(b, ContinuousActions()), lambda e: e.unwrapped.action_scheme,
     "trade_fraction", [0.3], [0, 2.0, NAN]),
    ("portfolio weights", lambda b, m: _env(m, PortfolioWeightActions()), lambda e: e.unwrapped.action_scheme,
     "band", [0.05, 1.0], [0, -1, 2, NAN, "x", None]),
    ("target exposure", lambda b, m: _env(m, TargetExposureActions()), lambda e: e.unwrapped.action_scheme,
     "band", [0.2], [0, NAN, "x"]),
    ("target exposure", lambda b, m: _env(m, TargetExposureActions()), lambda e: e.unwrapped.action_scheme,
     "mix", [[1, 2, 1], None], [[1, 1], [-1, 1, 1], [0, 0, 0], "abc", [NAN, 1, 1]]),
    ("target exposure", lambda b, m: _env(m, TargetExposureActions()), lambda e: e.unwrapped.action_scheme,
     "levels", [], [[0.0, 1.0], [0.5]]),
    ("standard stopper", lambda b, m: _env(b), lambda e: e.unwrapped.stopper, "floor", [0.0, 0.5, 0.999],
     [1.0, -0.1, NAN, "0.1", None]),
    ("standard stopper", lambda b, m: _env(b), lambda e: e.unwrapped.stopper, "episode_length", [3, None, 10**9],
     [0, -5, 2.5, "3", True]),
    ("floor stopper", lambda b, m: _env(b, stopper=EquityFloorStopper()), lambda e: e.unwrapped.stopper, "floor",
     [0.2], [1.5, "x"]),
    ("length stopper", lambda b, m: _env(b, stopper=EpisodeLengthStopper(50)), lambda e: e.unwrapped.stopper,
     "max_steps", [4], [0, None, 1.5]),
    ("composite stopper", lambda b, m: _env(b, stopper=CompositeStopper([EndOfDataStopper()])),
     lambda e: e.unwrapped.stopper, "stoppers", [[EndOfDataStopper(), EpisodeLengthStopper(3)]],
     [[object()], "abc", None]),
    ("informer", lambda b, m: _env(b), lambda e: e.unwrapped.informer, "parallel", [True, False, None],
     ["yes", 1]),
    ("vector observer", lambda b, m: _env(b, n=3), lambda e: e.observer, "lookback", [], [5, 400]),
    ("vector discrete", lambda b, m: _env(b, n=3), lambda e: e.action_scheme, "trade_fraction", [0.7], [0, NAN]),
    ("vector stopper", lambda b, m: _env(b, n=3), lambda e: e.stopper, "episode_length", [2], [0]),
]


@pytest.mark.parametrize(("label", "build", "get", "attr", "good", "bad"), CASES,
                         ids=[f"{c[0]}.{c[3]}" for c in CASES])
def test_public_attribute_good_and_bad_values(btc, market3, label, build, get, attr, good, bad):
    env = build(btc, market3)
    comp = get(env)
    _run(env, 3)
    for value in bad:
        before = getattr(comp, attr)
        with pytest.raises(ConfigError, match=attr):
            setattr(comp, attr, value)
        after = getattr(comp, attr)
        assert after is before or np.array_equal(np.asarray(after, dtype=object), np.asarray(before, dtype=object))
        _run(env)  # the env still runs on the old value
    for value in good:
        setattr(comp, attr, value)
        _run(env)


def test_lookback_cannot_change_under_the_compiled_observation(btc):
    env = _env(btc)
    obs, _ = env.reset(seed=0)
    for bad in (5, 400):
        with pytest.raises(ConfigError, match="lookback"):
            env.unwrapped.observer.lookback = bad
    obs2, _ = env.reset(seed=0)
    np.testing.assert_array_equal(obs, obs2)  # the same window of 8 rows, nothing uninitialised


def test_observe_checks_the_output_array(btc):
    env = _env(btc)
    env.reset(seed=0)
    observer = env.unwrapped.observer
    size = env.observation_space.shape[0]
    good = observer.observe()
    np.testing.assert_array_equal(observer.observe(np.empty((1, size), dtype=np.float32)), good)
    strided = np.empty((1, 2 * size), dtype=np.float32)[:, ::2]
    np.testing.assert_array_equal(observer.observe(strided), good)
    for bad in (
        np.empty((1, size - 1), dtype=np.float32),
        np.empty((1, size + 5), dtype=np.float32),
        np.empty((2, size), dtype=np.float32),
        np.empty((1, size), dtype=np.float64),
        np.empty(size, dtype=np.float32),
        [[0.0] * size],
    ):
        with pytest.raises(ConfigError, match="out"):
            observer.observe(bad)  # type: ignore[arg-type]
    ro = np.empty((1, size), dtype=np.float32)
    ro.setflags(write=False)
    with pytest.raises(ConfigError, match="read-only"):
        observer.observe(ro)


def test_settings_reach_the_compiled_step(btc):
    env = _env(btc, stopper=StandardStopper(0.1, None))
    env.reset(seed=0)
    env.unwrapped.stopper.episode_length = 2
    env.step(0)
    *_, term, trunc, info = env.step(0)
    assert trunc and not term and info["total_steps"] == 2
    env.reset(seed=0)
    env.unwrapped.action_scheme.trade_fraction = 0.5
    *_, info = env.step(1)
    fill = info["filled_orders"][0]
    assert fill["quantity"] * fill["price"] == pytest.approx(5_000, rel=0.01)

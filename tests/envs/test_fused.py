"""The one-call step of the standard components gives exactly what the component-by-component step gives."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.vector import AutoresetMode

from tradeready_gym.engine import _kernel as K

from .conftest import data_for

ENV_IDS = ["TradeReady-BTC-v0", "TradeReady-ETH-Continuous-v0"]


def _kwargs(env_id, market3, **extra):
    kw = {
        "data": data_for(env_id, market3),
        "random_start": True,
        "lookback_window": 6,
        "observation_features": ["ohlcv", "rsi_14"],
        "slippage": 5.0,
        "equity_floor": 0.9,  # some episodes end on the floor
    }
    kw.update(extra)
    return kw


def _assert_info_equal(a, b):
    assert a.keys() == b.keys()
    for key in a:
        if isinstance(a[key], dict):  # e.g. the vector info's episode_metrics (arrays)
            _assert_info_equal(a[key], b[key])
        elif isinstance(a[key], np.ndarray):
            np.testing.assert_array_equal(a[key], b[key], err_msg=key)
        else:
            assert a[key] == b[key] or (a[key] != a[key] and b[key] != b[key]), key  # NaN metrics alike


@pytest.mark.parametrize("env_id", ENV_IDS)
@pytest.mark.parametrize("episode_length", [None, 25])
def test_single_env_fused_equals_component_steps(env_id, episode_length, market3):
    kw = _kwargs(env_id, market3, episode_length=episode_length)
    fast, slow = gym.make(env_id, **kw), gym.make(env_id, **kw)
    assert fast.unwrapped._core._fused is not None
    slow.unwrapped._core._fused = None  # the component-by-component path
    for env in (fast, slow):
        env.reset(seed=3)
    fast.action_space.seed(11)
    ends = fills = 0
    for _ in range(300):
        a = fast.action_space.sample()
        ra, rb = fast.step(a), slow.step(a)
        np.testing.assert_array_equal(ra[0], rb[0])
        assert ra[1:4] == rb[1:4]
        _assert_info_equal(ra[4], rb[4])
        fills += len(ra[4]["filled_orders"])
        if ra[2] or ra[3]:
            ends += 1
            for env in (fast, slow):
                env.reset()
    assert ends > 0 and fills > 0
    np.testing.assert_equal(fast.unwrapped.metrics().to_dict(), slow.unwrapped.metrics().to_dict())


@pytest.mark.parametrize("env_id", ENV_IDS)
@pytest.mark.parametrize("mode", [AutoresetMode.NEXT_STEP, AutoresetMode.SAME_STEP])
@pytest.mark.parametrize("num_envs", [4, K.PARALLEL_MIN_ACCOUNTS + 3])
def test_vector_env_fused_equals_component_steps(env_id, mode, num_envs, market3):
    kw = _kwargs(env_id, market3, episode_length=30, autoreset_mode=mode)
    fast, slow = gym.make_vec(env_id, num_envs=num_envs, **kw), gym.make_vec(env_id, num_envs=num_envs, **kw)
    assert fast._core._fused is not None
    slow._core._fused = None
    for env in (fast, slow):
        env.reset(seed=7)
    fast.action_space.seed(2)
    done = 0
    for _ in range(70):
        a = fast.action_space.sample()
        ra, rb = fast.step(a), slow.step(a)
        for x, y in zip(ra[:4], rb[:4], strict=True):
            np.testing.assert_array_equal(x, y)
        _assert_info_equal({k: v for k, v in ra[4].items() if k != "final_info"},
                           {k: v for k, v in rb[4].items() if k != "final_info"})
        done += int((ra[2] | ra[3]).sum())
    assert done > 0
    np.testing.assert_array_equal(fast.broker._state, slow.broker._state)


def test_bad_actions_change_nothing_on_the_fused_path(market3):
    from tradeready_gym.errors import InvalidActionError

    venv = gym.make_vec("TradeReady-BTC-v0", num_envs=3, **_kwargs("TradeReady-BTC-v0", market3))
    venv.reset(seed=1)
    before = venv.broker._state.copy()
    with pytest.raises(InvalidActionError):
        venv.step(np.array([0, 1, 3]))
    np.testing.assert_array_equal(venv.broker._state, before)


def test_user_components_take_the_component_path(market3):
    from tradeready_gym.rewards import PnLReward

    class Doubled(PnLReward):
        def compute(self, prev_equity, curr_equity, info):
            return 2.0 * (curr_equity - prev_equity)

    env = gym.make("TradeReady-BTC-v0", reward_function=Doubled(), **_kwargs("TradeReady-BTC-v0", market3))
    assert env.unwrapped._core._fused is None
    env.reset(seed=0)
    _, r, *_ = env.step(1)
    assert isinstance(r, float)


def _composed_env(market3):
    from tradeready_gym.actions import DiscreteActions
    from tradeready_gym.envs import DataFeed, Portfolio, TradingEnv
    from tradeready_gym.observers import WindowObserver
    from tradeready_gym.rewards import PnLReward

    return TradingEnv(
        Portfolio(10_000), DataFeed(market3), DiscreteActions(0.3, asset=1), PnLReward(),
        WindowObserver(["ohlcv"], lookback=6),
    )


@pytest.mark.parametrize("symbols", [1, 3])
def test_single_env_action_forms_and_info_types(symbols, market3):
    """Python ints, numpy ints and one-element arrays step alike; info holds plain Python values."""
    from tradeready_gym.errors import InvalidActionError

    if symbols == 1:
        envs = [gym.make("TradeReady-BTC-v0", **_kwargs("TradeReady-BTC-v0", market3)) for _ in range(5)]
    else:
        envs = [_composed_env(market3) for _ in range(5)]
    assert envs[0].unwrapped._core._fused is not None
    for env in envs:
        env.reset(seed=5)
    forms = [int, np.int64, np.int32, lambda a: np.array(a), lambda a: [a]]
    rng = np.random.default_rng(4)
    steps = 0
    for a in rng.integers(0, 3, size=200).tolist():
        results = [env.step(form(a)) for env, form in zip(envs, forms, strict=True)]
        for res in results[1:]:
            np.testing.assert_array_equal(res[0], results[0][0])
            assert res[1:4] == results[0][1:4]
            _assert_info_equal(res[4], results[0][4])
        obs, reward, term, trunc, info = results[0]
        assert type(reward) is float and type(term) is bool and type(trunc) is bool
        assert obs.shape == envs[0].observation_space.shape and obs.dtype == np.float32
        for key in ("equity", "available_cash", "position_value", "unrealized_pnl", "realized_pnl", "fees_paid"):
            assert type(info[key]) is float, key
        assert type(info["step"]) is int and type(info["total_steps"]) is int
        assert list(info["prices"]) == list(envs[0].unwrapped.symbols)
        assert all(type(v) is float for v in (*info["prices"].values(), *info["positions"].values()))
        steps += 1
        if term or trunc:
            for env in envs:
                env.reset()
    assert steps == 200
    env = envs[0]
    before = env.unwrapped.broker._state.copy()
    for bad in (3, -1, np.int64(3), 2**70, 1.5, [1, 2], None):
        with pytest.raises(InvalidActionError):
            env.step(bad)
    np.testing.assert_array_equal(env.unwrapped.broker._state, before)


@pytest.mark.parametrize("parallel", [None, False, True])
def test_batch_info_virtual_time_is_the_feed_strings_at_each_clock(parallel, market3):
    venv = gym.make_vec("TradeReady-BTC-v0", num_envs=9, **_kwargs("TradeReady-BTC-v0", market3, episode_length=20))
    informer = venv._core.informer
    informer.parallel = parallel
    _, info = venv.reset(seed=2)
    iso = venv.feed.iso_times
    kept = []
    for _ in range(45):
        expected = iso[venv.broker.t]
        assert info["virtual_time"].dtype == iso.dtype and info["virtual_time"].shape == (9,)
        np.testing.assert_array_equal(info["virtual_time"], expected)
        kept.append((info["virtual_time"], expected.copy()))
        _, _, _, _, info = venv.step(venv.action_space.sample())
    assert len({tuple(v) for v, _ in kept}) > 1  # the clocks moved (and random starts differ per env)
    for got, expected in kept:  # every step's array is its own: later steps do not overwrite it
        np.testing.assert_array_equal(got, expected)


def test_batch_info_with_feed_times_not_in_one_text_block(market3):
    venv = gym.make_vec("TradeReady-BTC-v0", num_envs=3, **_kwargs("TradeReady-BTC-v0", market3))
    feed = venv.feed
    feed.iso_times = feed.iso_times.astype(object)
    _, info = venv.reset(seed=0)
    _, _, _, _, info = venv.step(np.array([1, 0, 2]))
    assert info["virtual_time"].dtype == object
    np.testing.assert_array_equal(info["virtual_time"], feed.iso_times[venv.broker.t])


def test_vector_discrete_actions_checked_in_every_position(market3):
    from tradeready_gym.errors import InvalidActionError

    kw = _kwargs("TradeReady-BTC-v0", market3)
    a, b = gym.make_vec("TradeReady-BTC-v0", num_envs=5, **kw), gym.make_vec("TradeReady-BTC-v0", num_envs=5, **kw)
    for env in (a, b):
        env.reset(seed=6)
    before = a.broker._state.copy()
    for bad in ([3, 0, 0, 0, 0], [0, 0, 0, 0, -1], [0, 1, 2, 9, 1]):
        with pytest.raises(InvalidActionError):
            a.step(np.array(bad, dtype=np.int64))
    np.testing.assert_array_equal(a.broker._state, before)
    actions = np.array([1, 2, 0, 1, 1], dtype=np.int64)
    strided = np.repeat(actions, 2)[::2]  # the same values, not contiguous
    ra, rb = a.step(actions), b.step(strided)
    np.testing.assert_array_equal(a.broker._state, b.broker._state)
    np.testing.assert_array_equal(ra[0], rb[0])
    np.testing.assert_array_equal(actions, strided)  # the caller's actions are not changed


@pytest.mark.parametrize("num_envs", [4, K.PARALLEL_MIN_ACCOUNTS + 3])
@pytest.mark.parametrize("fused", [True, False])
def test_a_batch_step_with_an_env_at_its_end_raises_and_changes_nothing(market3, num_envs, fused):
    """Serial, threaded and component steps refuse alike: the env at its end is named, and no
    env (not even those that could step) changes."""
    from gymnasium.error import ResetNeeded

    venv = gym.make_vec("TradeReady-BTC-v0", num_envs=num_envs, **_kwargs("TradeReady-BTC-v0", market3))
    core = venv._core
    if not fused:
        core._fused = None
    venv.reset(seed=1)
    venv.step(np.ones(num_envs, dtype=np.int64))
    late = num_envs - 2
    core.engine._clock[late] = core.state.end[late]  # this env has no bar left to step to
    before = (core.engine._state.copy(), core.engine._clock.copy(), core.state.steps.copy())
    with pytest.raises(ResetNeeded, match=rf"env\(s\) \[{late}\] reached the end of their data"):
        core.step(np.full(num_envs, 2, dtype=np.int64), with_infos=False)
    np.testing.assert_array_equal(core.engine._state, before[0])
    np.testing.assert_array_equal(core.engine._clock, before[1])
    np.testing.assert_array_equal(core.state.steps, before[2])

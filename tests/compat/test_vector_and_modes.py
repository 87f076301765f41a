"""``make_vec`` truncates like ``make``; the lean info mode; ruin reported as truncated or terminated."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

from tradeready_gym.errors import ConfigError

START, END = "2025-01-01T00:00:00Z", "2025-03-01T00:00:00Z"


@pytest.mark.parametrize("mode", ["next_step", "same_step"])
def test_make_vec_max_episode_steps_truncates_like_make(mode, real_cache):
    venv = gym.make_vec("TradeReady-BTC-v0", num_envs=4, max_episode_steps=5, start_time=START, end_time=END,
                        autoreset_mode=mode)
    singles = [gym.make("TradeReady-BTC-v0", max_episode_steps=5, start_time=START, end_time=END) for _ in range(4)]
    venv.reset(seed=3)
    for i, env in enumerate(singles):
        env.reset(seed=3 + i)
    rng = np.random.default_rng(0)
    pending = np.zeros(4, dtype=bool)
    n_trunc = 0
    for _ in range(17):
        actions = rng.integers(0, 3, 4)
        _, vr, vterm, vtrunc, _ = venv.step(actions)
        for i, env in enumerate(singles):
            if mode == "next_step" and pending[i]:
                env.reset()  # the vector env's autoreset step
                assert vr[i] == 0.0 and not vtrunc[i]
                continue
            _, r, term, trunc, _ = env.step(int(actions[i]))
            assert (r, term, trunc) == (vr[i], vterm[i], vtrunc[i])
            if term or trunc:
                n_trunc += int(trunc)
                if mode == "same_step":
                    env.reset()
        pending = vterm | vtrunc
    assert n_trunc >= 8


def test_lean_info_is_numbers_only_and_matches_the_full_info(real_cache):
    kw = {"start_time": START, "end_time": END, "episode_length": 9}
    full = gym.make_vec("TradeReady-BTC-v0", num_envs=3, **kw)
    lean = gym.make_vec("TradeReady-BTC-v0", num_envs=3, info_mode="lean", **kw)
    full.reset(seed=0)
    _, info = lean.reset(seed=0)
    assert set(info) == {"equity", "available_cash", "position_value", "unrealized_pnl", "realized_pnl",
                         "fees_paid", "step", "n_fills"}
    for _ in range(12):
        a = np.array([1, 2, 1])
        _, _, _, _, fi = full.step(a)
        _, _, _, _, li = lean.step(a)
        for k, v in li.items():
            if k == "episode_metrics" or k.startswith("_"):
                continue
            assert isinstance(v, np.ndarray) and v.dtype.kind in "fi" and v.shape == (3,), k
            np.testing.assert_array_equal(v, fi[k], err_msg=k)

    env = gym.make("TradeReady-BTC-v0", info_mode="lean", **kw)
    env.reset(seed=0)
    _, _, _, _, info = env.step(1)
    assert info["n_fills"] == 1 and all(isinstance(v, int | float) for k, v in info.items() if k != "episode_metrics")
    with pytest.raises(ConfigError, match="info_mode='compact'"):
        gym.make("TradeReady-BTC-v0", info_mode="compact", **kw)


def _ruin_run(env, action):
    env.reset(seed=0)
    for n in range(1, 400):
        _, _, term, trunc, info = env.step(action)
        if term or trunc:
            return n, term, trunc, info
    raise AssertionError("no ruin")


@pytest.mark.parametrize("ruin", ["truncated", "terminated"])
def test_ruin_is_truncated_by_default_or_terminated_on_request(ruin, real_cache):
    # a floor just below the start: the first fees of a buy-and-sell churn cross it
    kw = {"start_time": START, "end_time": END, "equity_floor": 0.995, "fee_rate": 0.002}
    if ruin == "terminated":
        kw["ruin"] = ruin
    single = gym.make("TradeReady-BTC-v0", **kw)
    n, term, trunc, info = _ruin_run(single, 1)
    assert info["equity"] <= 0.995 * 10_000
    assert (term, trunc) == ((True, False) if ruin == "terminated" else (False, True))

    venv = gym.make_vec("TradeReady-BTC-v0", num_envs=2, autoreset_mode="same_step", **kw)
    venv.reset(seed=0)
    for _ in range(n):
        _, _, vterm, vtrunc, _ = venv.step(np.array([1, 0]))
    assert (bool(vterm[0]), bool(vtrunc[0])) == (term, trunc)
    assert not vterm[1] and not vtrunc[1]  # holding cash never crosses the floor


def test_ruin_value_is_checked(real_cache):
    with pytest.raises(ConfigError, match="ruin='sometimes'"):
        gym.make("TradeReady-BTC-v0", ruin="sometimes", start_time=START, end_time=END)

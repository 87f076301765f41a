"""Every registered id: Gymnasium's and Stable-Baselines3's env checkers, spaces, seeding, quick start."""

from __future__ import annotations

import sys
import warnings

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env
from stable_baselines3.common.env_checker import check_env as sb3_check_env

import tradeready_gym
from conftest import shared_data_dir
from tradeready_gym.envs.trading_env import TradingEnv
from tradeready_gym.envs.vector_env import TradeReadyVectorEnv

from .conftest import data_for

IDS = tradeready_gym.ENV_IDS
SPACES = {
    "TradeReady-BTC-v0": gym.spaces.Discrete(3),
    "TradeReady-ETH-v0": gym.spaces.Discrete(3),
    "TradeReady-SOL-v0": gym.spaces.Discrete(3),
    "TradeReady-BTC-Continuous-v0": gym.spaces.Box(-1.0, 1.0, (1,), np.float32),
    "TradeReady-ETH-Continuous-v0": gym.spaces.Box(-1.0, 1.0, (1,), np.float32),
    "TradeReady-Portfolio-v0": gym.spaces.Box(0.0, 1.0, (3,), np.float32),
}


def test_six_ids_are_registered_with_native_vector_entry_points():
    assert set(IDS) == set(SPACES)
    for env_id in IDS:
        spec = gym.spec(env_id)
        assert isinstance(spec.entry_point, str) and ":" in spec.entry_point
        assert isinstance(spec.vector_entry_point, str) and ":" in spec.vector_entry_point


def test_import_does_not_pull_heavy_modules():
    import subprocess

    code = (
        "import sys, tradeready_gym, gymnasium as gym;"
        "heavy=[m for m in ('matplotlib','torch','stable_baselines3','fastapi') if m in sys.modules];"
        "print(heavy); assert not heavy, heavy"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.parametrize("env_id", IDS)
def test_checkers_pass(env_id, market3):
    env = gym.make(env_id, data=data_for(env_id, market3), start_time="2024-02-01T00:00:00Z")
    assert isinstance(env.unwrapped, TradingEnv)
    assert env.action_space == SPACES[env_id]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        check_env(env.unwrapped, skip_render_check=True)
        sb3_check_env(env.unwrapped, warn=False)
    # documented defaults
    fe = env.unwrapped
    n_sym = 3 if env_id.endswith("Portfolio-v0") else 1
    assert fe.observation_space.shape == (30 * 5 * n_sym + 1 + n_sym + 1,)
    assert fe.portfolio.starting_balance == 10_000
    assert fe.feed.market.timeframe == "1h"
    assert fe.settings["track_training"] is True and fe.settings["api_key"] is None


@pytest.mark.parametrize("env_id", IDS)
def test_samples_accepted_and_observations_in_space(env_id, market3):
    env = gym.make(env_id, data=data_for(env_id, market3), start_time="2024-02-20T00:00:00Z", random_start=True)
    env.action_space.seed(3)
    obs, info = env.reset(seed=3)
    assert env.observation_space.contains(obs)
    episodes = 0
    for _ in range(400):
        obs, reward, terminated, truncated, info = env.step(env.action_space.sample())
        assert env.observation_space.contains(obs)
        assert np.isfinite(reward)
        assert info["available_cash"] >= 0.0
        assert all(q >= 0.0 for q in info["positions"].values())
        if terminated or truncated:
            episodes += 1
            obs, info = env.reset()
            assert env.observation_space.contains(obs)
    assert episodes >= 1


def _trajectory(env_id, market3, seed, n=150):
    env = gym.make(env_id, data=data_for(env_id, market3), random_start=True, episode_length=60)
    env.action_space.seed(seed)
    obs, info = env.reset(seed=seed)
    out = [(obs.copy(), 0.0, info["virtual_time"], info["equity"])]
    for _ in range(n):
        obs, r, term, trunc, info = env.step(env.action_space.sample())
        out.append((obs.copy(), r, info["virtual_time"], info["equity"]))
        if term or trunc:
            obs, info = env.reset()
            out.append((obs.copy(), 0.0, info["virtual_time"], info["equity"]))
    return out


@pytest.mark.parametrize("env_id", ["TradeReady-BTC-v0", "TradeReady-Portfolio-v0"])
def test_reset_seed_reproduces_trajectories(env_id, market3):
    a = _trajectory(env_id, market3, 11)
    b = _trajectory(env_id, market3, 11)
    c = _trajectory(env_id, market3, 12)
    assert len(a) == len(b)
    for x, y in zip(a, b, strict=True):
        np.testing.assert_array_equal(x[0], y[0])
        assert x[1:] == y[1:]
    # another seed starts somewhere else
    assert a[0][2] != c[0][2]


def test_make_vec_returns_native_vector_env(market3):
    venv = gym.make_vec("TradeReady-ETH-v0", num_envs=4, data=market3.select(["ETHUSDT"]))
    assert isinstance(venv, TradeReadyVectorEnv)
    assert venv.metadata["autoreset_mode"] == gym.vector.AutoresetMode.NEXT_STEP
    obs, info = venv.reset(seed=0)
    assert obs.shape == (4, 153) and venv.observation_space.contains(obs)
    obs, r, _term, _trunc, info = venv.step(venv.action_space.sample())
    assert r.shape == (4,) and info["equity"].shape == (4,)


QUICK_START = """\
import gymnasium as gym
import tradeready_gym  # registers all environments

env = gym.make(
    "TradeReady-BTC-v0",
    starting_balance=10000,
    timeframe="1h",
    start_time="2025-01-01T00:00:00Z",
    end_time="2025-03-01T00:00:00Z",
)

obs, info = env.reset()

for _ in range(1000):
    action = env.action_space.sample()  # replace with your model
    obs, reward, terminated, truncated, info = env.step(action)
    if terminated or truncated:
        obs, info = env.reset()

env.close()
"""


def test_quick_start_is_the_published_one_minus_api_key():
    seed = shared_data_dir().parent / "seeds" / "tradeready-gym-overview.md"
    text = seed.read_text()
    block = text.split("## Quick Start", 1)[1].split("```python\n", 1)[1].split("```", 1)[0]
    published = "".join(line for line in block.splitlines(keepends=True) if "api_key=" not in line)
    assert published == QUICK_START


def test_quick_start_runs_unchanged_minus_api_key(real_cache):
    scope: dict[str, object] = {}
    exec(compile(QUICK_START, "quickstart", "exec"), scope)
    info = scope["info"]
    assert isinstance(info, dict)
    assert info["total_steps"] == 1416 - 1  # Jan + Feb 2025: 1416 hourly bars, the first is the first decision
    assert set(info) >= {
        "equity", "available_cash", "position_value", "unrealized_pnl", "virtual_time", "step",
        "total_steps", "filled_orders", "progress_pct",
    }
    assert info["virtual_time"].endswith("Z")
    assert scope["env"].unwrapped.feed.market.synthetic is False


def test_platform_keywords_are_accepted_and_stored(btc):
    env = gym.make(
        "TradeReady-BTC-v0", data=btc, api_key="ak_live_test", base_url="http://127.0.0.1:9", track_training=False,
        strategy_label="ppo_v1",
    )
    s = env.unwrapped.settings
    assert (s["api_key"], s["base_url"], s["track_training"], s["strategy_label"]) == (
        "ak_live_test", "http://127.0.0.1:9", False, "ppo_v1",
    )
    obs, _ = env.reset(seed=0)  # nothing is contacted: no server is needed
    assert env.observation_space.contains(obs)

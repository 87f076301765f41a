"""Every supported Stable-Baselines3 algorithm trains where the action space allows it, on real candles."""

from __future__ import annotations

import json

import gymnasium as gym
import pytest

from tradeready_gym.errors import ConfigError
from tradeready_gym.pipeline.config import parse_config
from tradeready_gym.pipeline.runs import load_agent, read_run
from tradeready_gym.pipeline.train import train


def _cfg(env_id: str, algo: str, hyper: dict, tmp_path) -> dict:
    return {
        "name": f"{algo.lower()}-t",
        "env": {"id": env_id, "kwargs": {"lookback_window": 8, "episode_length": 64, "random_start": True,
                                         "observation_features": ["ohlcv", "position"]}},
        "data": {"train": {"start": "2024-02-01", "end": "2024-03-01"},
                 "validation": {"start": "2024-03-05", "end": "2024-03-12"}},
        "algorithm": {"name": algo, "hyperparams": hyper, "policy_kwargs": {"net_arch": [16]}},
        "training": {"total_timesteps": 256, "num_envs": 2, "seeds": [5], "eval_freq": 128, "normalize": algo != "DQN"},
        "output": {"runs_dir": str(tmp_path / "runs"), "store": str(tmp_path / "t.sqlite")},
    }


@pytest.mark.slow
@pytest.mark.parametrize(("env_id", "algo", "hyper"), [
    ("TradeReady-BTC-v0", "A2C", {"n_steps": 16}),
    ("TradeReady-BTC-v0", "DQN", {"learning_starts": 32, "buffer_size": 1000, "batch_size": 16}),
    ("TradeReady-BTC-Continuous-v0", "SAC", {"learning_starts": 32, "buffer_size": 1000, "batch_size": 16}),
    ("TradeReady-BTC-Continuous-v0", "TD3", {"learning_starts": 32, "buffer_size": 1000, "batch_size": 16}),
    ("TradeReady-Portfolio-v0", "PPO", {"n_steps": 32, "batch_size": 32, "n_epochs": 1}),
])
def test_algorithms_train_and_act(env_id, algo, hyper, tmp_path, market3_all):
    cfg = parse_config(_cfg(env_id, algo, hyper, tmp_path))
    data = market3_all if env_id == "TradeReady-Portfolio-v0" else market3_all.select(["BTCUSDT"])
    res = train(cfg, data=data)
    (d,) = res.run_dirs
    run = read_run(d)
    assert run.data["algorithm"] == algo and run.data["env_steps"] >= 256
    evals = json.loads((d / "evaluations.json").read_text())
    assert evals[0]["env_steps"] == 128
    act = load_agent(run, "best")
    kw = dict(run.env_kwargs, data=data, start_time="2024-03-05", end_time="2024-03-12", track_training=False)
    kw.pop("random_start"), kw.pop("episode_length")
    venv = gym.make_vec(env_id, num_envs=3, **kw)
    obs, _ = venv.reset(seed=0)
    a = act(obs)
    assert venv.action_space.contains(a.astype(venv.action_space.dtype))
    from tradeready_gym.tracking import Store

    (row,) = Store(tmp_path / "t.sqlite").list_runs(mode="train")
    assert row["algorithm"] == algo and row["seed"] == 5 and row["status"] == "finished"


@pytest.fixture(scope="module")
def market3_all():
    from conftest import rest_market

    return rest_market(["BTCUSDT", "ETHUSDT", "SOLUSDT"], "1h", "2024-01-01", "2024-04-01")


def test_wrong_algorithm_for_the_space_is_refused(tmp_path):
    with pytest.raises(ConfigError, match=r"'DQN' needs a Discrete action space.*allowed for this env: PPO, A2C, SAC, TD3"):
        parse_config(_cfg("TradeReady-BTC-Continuous-v0", "DQN", {}, tmp_path))

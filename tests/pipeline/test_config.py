"""The training config: validated, unknown keys named, nothing evaluated."""

from __future__ import annotations

import copy

import pytest

from tradeready_gym.errors import ConfigError
from tradeready_gym.pipeline.config import load_config, parse_config

BASE = {
    "name": "t",
    "env": {"id": "TradeReady-BTC-v0", "kwargs": {"timeframe": "1h", "lookback_window": 12}},
    "data": {"train": {"start": "2024-01-01", "end": "2024-03-01"},
             "validation": {"start": "2024-03-08", "end": "2024-04-01"},
             "test": {"start": "2024-04-08", "end": "2024-05-01"}},
    "algorithm": {"name": "PPO", "hyperparams": {"n_steps": 64}, "policy_kwargs": {"net_arch": [32, 32], "activation_fn": "tanh"}},
    "training": {"total_timesteps": 1000, "num_envs": 2, "seeds": [0, 1], "eval_freq": 500},
}


def _with(path: str, value, base=BASE):
    d = copy.deepcopy(base)
    keys = path.split(".")
    cur = d
    for k in keys[:-1]:
        cur = cur.setdefault(k, {})
    cur[keys[-1]] = value
    return d


def test_valid_config_resolves_defaults():
    cfg = parse_config(copy.deepcopy(BASE))
    assert cfg.data.train.start == "2024-01-01T00:00:00Z"
    assert cfg.training.normalize is True and cfg.evaluation.random_seeds == 100
    assert cfg.output.runs_dir == "runs"


@pytest.mark.parametrize(
    ("path", "value", "match"),
    [
        ("trainig", {}, "unknown key 'trainig'"),
        ("training.total_steps", 5, "unknown key 'training.total_steps'"),
        ("data.train.begin", "2024", "unknown key 'data.train.begin'"),
        ("env.kwargs.start_time", "2024-01-01", "env.kwargs.start_time.*periods are set in data"),
        ("env.kwargs.lookback", 5, "unknown key 'env.kwargs.lookback'"),
        ("algorithm.hyperparams.n_stepz", 5, "unknown key 'algorithm.hyperparams.n_stepz' for PPO"),
        ("algorithm.name", "DDPG", "algorithm.name='DDPG' is not supported"),
        ("algorithm.policy_kwargs.activation_fn", "__import__('os').system('x')", "activation_fn.*allowed: tanh"),
        ("training.total_timesteps", "1000", "training.total_timesteps='1000'.*an integer"),
        ("training.num_envs", 0, "training.num_envs=0"),
        ("training.seeds", [1, 1], "seed twice"),
        ("training.normalize", "yes", "training.normalize='yes'.*true or false"),
        ("data.train.end", "2023-01-01", "data.train.start=.*must be before"),
        ("data.test.start", "not a date", "data.test.start='not a date'"),
        ("evaluation.random_seeds", 0, "evaluation.random_seeds=0"),
        ("env.id", "TradeReady-XYZ-v0", "env.id='TradeReady-XYZ-v0' is not registered"),
    ],
)
def test_bad_configs_name_the_key(path, value, match):
    with pytest.raises(ConfigError, match=match):
        parse_config(_with(path, value))


def test_missing_required_key():
    d = copy.deepcopy(BASE)
    del d["data"]
    with pytest.raises(ConfigError, match="required key 'data'"):
        parse_config(d)


@pytest.mark.parametrize(("env_id", "algo", "ok"), [
    ("TradeReady-BTC-v0", "DQN", True),
    ("TradeReady-BTC-v0", "SAC", False),
    ("TradeReady-BTC-v0", "TD3", False),
    ("TradeReady-BTC-Continuous-v0", "DQN", False),
    ("TradeReady-BTC-Continuous-v0", "SAC", True),
    ("TradeReady-Portfolio-v0", "TD3", True),
    ("TradeReady-Portfolio-v0", "A2C", True),
])
def test_algorithm_must_fit_the_action_space(env_id, algo, ok):
    d = _with("env.id", env_id)
    d["algorithm"] = {"name": algo}
    if ok:
        assert parse_config(d).algorithm.name == algo
    else:
        with pytest.raises(ConfigError, match=f"algorithm.name='{algo}' needs a .* action space.*allowed for this env"):
            parse_config(d)


def test_yaml_is_never_evaluated(tmp_path):
    p = tmp_path / "c.yaml"
    p.write_text("name: t\nenv: !!python/object/apply:os.system ['echo pwned']\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(p)
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(tmp_path / "missing.yaml")

"""The validated YAML config of ``tradeready train`` / ``walkforward``.

The file is read with ``yaml.safe_load`` (no tags, nothing evaluated) into dataclasses. An unknown
key anywhere is an error that names it (with its section) and lists the allowed keys; a value of the
wrong type is an error that names the key, the value and the expected type. Strings are never
evaluated: the only name-to-object mapping is the whitelist of activation functions
(`ACTIVATIONS`) for ``algorithm.policy_kwargs.activation_fn``.

Example::

    name: ppo-btc
    env:
      id: TradeReady-BTC-v0
      kwargs: {timeframe: 1h, lookback_window: 24, observation_features: [ohlcv, rsi_14],
               fee_rate: 0.001, episode_length: 500, random_start: true}
    data:
      train: {start: "2024-01-01", end: "2024-04-01"}
      validation: {start: "2024-04-08", end: "2024-05-01"}
      test: {start: "2024-05-08", end: "2024-07-01"}
    algorithm: {name: PPO, hyperparams: {n_steps: 256, batch_size: 256, learning_rate: 0.0003}}
    training: {total_timesteps: 100000, num_envs: 8, seeds: [0, 1, 2], eval_freq: 10000}
"""

from __future__ import annotations

import dataclasses
import inspect
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tradeready_gym.errors import ConfigError
from tradeready_gym.pipeline.evaluate import EvalSettings
from tradeready_gym.timeframes import format_iso, parse_time
from tradeready_gym.validation import check_time_range

__all__ = [
    "ACTIVATIONS",
    "ALGORITHMS",
    "AlgorithmConfig",
    "DataConfig",
    "EnvConfig",
    "OutputConfig",
    "PeriodConfig",
    "TrainConfig",
    "TrainingConfig",
    "WalkForwardConfig",
    "config_to_dict",
    "load_config",
    "parse_config",
]

#: Algorithms and the action spaces they support.
ALGORITHMS: dict[str, tuple[str, ...]] = {
    "PPO": ("Discrete", "Box"),
    "A2C": ("Discrete", "Box"),
    "DQN": ("Discrete",),
    "SAC": ("Box",),
    "TD3": ("Box",),
}

#: ``policy_kwargs.activation_fn`` names -> ``torch.nn`` class names.
ACTIVATIONS: dict[str, str] = {"tanh": "Tanh", "relu": "ReLU", "elu": "ELU", "leaky_relu": "LeakyReLU", "gelu": "GELU"}

#: Env keyword arguments a config may set (periods come from ``data:``).
ENV_KWARGS = (
    "starting_balance", "timeframe", "lookback_window", "observation_features", "fee_rate", "slippage",
    "episode_length", "random_start", "equity_floor", "symbols", "data_dir", "download", "strategy_label",
    "position_size_pct",
)


@dataclass
class PeriodConfig:
    """A period ``[start, end)`` (ISO 8601)."""

    start: str
    end: str


@dataclass
class EnvConfig:
    """``env:``: a registered id and its keyword arguments."""

    id: str = "TradeReady-BTC-v0"
    kwargs: dict[str, Any] = field(default_factory=dict)


@dataclass
class DataConfig:
    """``data:``: the training, validation (best-model selection) and test periods."""

    train: PeriodConfig
    validation: PeriodConfig | None = None
    test: PeriodConfig | None = None


@dataclass
class AlgorithmConfig:
    """``algorithm:``: a Stable-Baselines3 algorithm and its constructor arguments."""

    name: str = "PPO"
    policy: str = "MlpPolicy"
    hyperparams: dict[str, Any] = field(default_factory=dict)
    policy_kwargs: dict[str, Any] = field(default_factory=dict)


@dataclass
class TrainingConfig:
    """``training:``: budget, vector envs, seeds, evaluation during training (in env steps)."""

    total_timesteps: int = 10_000
    num_envs: int = 8
    seeds: list[int] = field(default_factory=lambda: [0])
    eval_freq: int = 5_000
    normalize: bool = True
    device: str = "cpu"
    progress: bool = True


@dataclass
class OutputConfig:
    """``output:``: where runs go and which tracking store records them (None: the default store)."""

    runs_dir: str = "runs"
    store: str | None = None


@dataclass
class WalkForwardConfig:
    """``walkforward:``: folds over ``[start, end)``; lengths in days; ``mode`` rolling or anchored."""

    start: str
    end: str
    train_days: float = 90.0
    test_days: float = 30.0
    step_days: float | None = None
    mode: str = "rolling"
    purge_bars: int | None = None


@dataclass
class TrainConfig:
    """The whole config file."""

    name: str
    env: EnvConfig
    data: DataConfig
    algorithm: AlgorithmConfig = field(default_factory=AlgorithmConfig)
    training: TrainingConfig = field(default_factory=TrainingConfig)
    evaluation: EvalSettings = field(default_factory=EvalSettings)
    output: OutputConfig = field(default_factory=OutputConfig)
    walkforward: WalkForwardConfig | None = None


# ---------------------------------------------------------------------------------------------- parsing
def _type_name(tp: Any) -> str:
    return getattr(tp, "__name__", str(tp)).replace("typing.", "")


def _convert(value: Any, tp: Any, where: str) -> Any:
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = typing.get_args(tp)
        if value is None and type(None) in args:
            return None
        inner = [a for a in args if a is not type(None)]
        return _convert(value, inner[0], where)
    if dataclasses.is_dataclass(tp):
        return _build(tp, value, where)
    if tp is Any:
        return value
    if origin is list:
        if not isinstance(value, list):
            raise ConfigError(f"{where}={value!r} is not allowed; allowed: a list")
        (item,) = typing.get_args(tp)
        return [_convert(v, item, f"{where}[{i}]") for i, v in enumerate(value)]
    if origin is dict:
        if not isinstance(value, dict):
            raise ConfigError(f"{where}={value!r} is not allowed; allowed: a mapping")
        return {str(k): v for k, v in value.items()}
    if tp is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{where}={value!r} is not allowed; allowed: true or false")
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{where}={value!r} is not allowed; allowed: an integer")
        return value
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{where}={value!r} is not allowed; allowed: a number")
        return float(value)
    if tp is str:
        if isinstance(value, (dict, list, bool)) or value is None:
            raise ConfigError(f"{where}={value!r} is not allowed; allowed: a string")
        return value.isoformat() if hasattr(value, "isoformat") else str(value)
    raise ConfigError(f"{where}: unsupported type {_type_name(tp)}")  # pragma: no cover


def _build(cls: Any, data: Any, where: str) -> Any:
    if not isinstance(data, dict):
        raise ConfigError(f"{where or 'config'}={data!r} is not allowed; allowed: a mapping with keys "
                          f"{', '.join(f.name for f in dataclasses.fields(cls))}")
    hints = typing.get_type_hints(cls)
    names = [f.name for f in dataclasses.fields(cls)]
    unknown = [k for k in data if k not in names]
    if unknown:
        key = f"{where}.{unknown[0]}" if where else str(unknown[0])
        raise ConfigError(f"unknown key {key!r} in the config; allowed{' in ' + where if where else ''}: {', '.join(names)}")
    kwargs: dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        key = f"{where}.{f.name}" if where else f.name
        if f.name in data:
            kwargs[f.name] = _convert(data[f.name], hints[f.name], key)
        elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            raise ConfigError(f"the config misses the required key {key!r}")
    return cls(**kwargs)


def _period(p: PeriodConfig, where: str) -> PeriodConfig:
    s = parse_time(p.start, param=f"{where}.start")
    e = parse_time(p.end, param=f"{where}.end")
    check_time_range(p.start, p.end, start_param=f"{where}.start", end_param=f"{where}.end")
    return PeriodConfig(format_iso(s), format_iso(e))


def parse_config(data: Any, *, check_env: bool = True) -> TrainConfig:
    """Validate a config mapping (from YAML) into a `TrainConfig`; raises `ConfigError` naming the problem."""
    cfg: TrainConfig = _build(TrainConfig, data, "")
    if not cfg.name or "/" in cfg.name or cfg.name.startswith("."):
        raise ConfigError(f"name={cfg.name!r} is not allowed; allowed: a non-empty folder name without '/'")
    bad = [k for k in cfg.env.kwargs if k not in ENV_KWARGS]
    if bad:
        hint = " (periods are set in data:)" if bad[0] in ("start_time", "end_time") else ""
        raise ConfigError(f"unknown key 'env.kwargs.{bad[0]}' in the config{hint}; allowed: {', '.join(ENV_KWARGS)}")
    cfg.data.train = _period(cfg.data.train, "data.train")
    if cfg.data.validation is not None:
        cfg.data.validation = _period(cfg.data.validation, "data.validation")
    if cfg.data.test is not None:
        cfg.data.test = _period(cfg.data.test, "data.test")
    algo = cfg.algorithm
    if algo.name not in ALGORITHMS:
        raise ConfigError(f"algorithm.name={algo.name!r} is not supported; allowed: {', '.join(ALGORITHMS)}")
    act = algo.policy_kwargs.get("activation_fn")
    if act is not None and act not in ACTIVATIONS:
        raise ConfigError(
            f"algorithm.policy_kwargs.activation_fn={act!r} is not allowed; allowed: {', '.join(ACTIVATIONS)}"
        )
    t = cfg.training
    for key, lo in (("total_timesteps", 1), ("num_envs", 1), ("eval_freq", 1)):
        if getattr(t, key) < lo:
            raise ConfigError(f"training.{key}={getattr(t, key)!r} is not allowed; allowed: an integer >= {lo}")
    if not t.seeds:
        raise ConfigError("training.seeds=[] is not allowed; allowed: a non-empty list of integers")
    if len(set(t.seeds)) != len(t.seeds):
        raise ConfigError(f"training.seeds={t.seeds!r} lists a seed twice; allowed: distinct integers")
    if t.device not in ("cpu", "cuda", "auto"):
        raise ConfigError(f"training.device={t.device!r} is not allowed; allowed: cpu, cuda, auto")
    cfg.evaluation.validate()
    wf = cfg.walkforward
    if wf is not None:
        if wf.mode not in ("rolling", "anchored"):
            raise ConfigError(f"walkforward.mode={wf.mode!r} is not allowed; allowed: rolling, anchored")
        for key in ("train_days", "test_days"):
            if not getattr(wf, key) > 0:
                raise ConfigError(f"walkforward.{key}={getattr(wf, key)!r} is not allowed; allowed: > 0")
        if wf.step_days is not None and not wf.step_days > 0:
            raise ConfigError(f"walkforward.step_days={wf.step_days!r} is not allowed; allowed: > 0")
        p = _period(PeriodConfig(wf.start, wf.end), "walkforward")
        wf.start, wf.end = p.start, p.end
    if check_env:
        check_algorithm(cfg)
    return cfg


def check_algorithm(cfg: TrainConfig) -> None:
    """The algorithm fits the env's action space and knows every hyper-parameter (else `ConfigError`)."""
    import gymnasium as gym

    import tradeready_gym  # noqa: F401  (registers the ids)

    env_id = cfg.env.id
    if env_id not in gym.registry:
        ids = sorted(k for k in gym.registry if k.startswith("TradeReady"))
        raise ConfigError(f"env.id={env_id!r} is not registered; allowed: {', '.join(ids)}")
    action_type = str(gym.spec(env_id).kwargs.get("action_type", "discrete"))
    space = "Discrete" if action_type in ("discrete", "target_exposure") else "Box"
    allowed = ALGORITHMS[cfg.algorithm.name]
    if space not in allowed:
        fits = [a for a, s in ALGORITHMS.items() if space in s]
        raise ConfigError(
            f"algorithm.name={cfg.algorithm.name!r} needs a {' or '.join(allowed)} action space, but {env_id} has a "
            f"{space} action space; allowed for this env: {', '.join(fits)}"
        )
    try:
        import stable_baselines3 as sb3
    except ImportError:  # pragma: no cover - the [sb3] extra
        raise ConfigError("training needs Stable-Baselines3: pip install 'tradeready-gym[sb3]'") from None
    params = inspect.signature(getattr(sb3, cfg.algorithm.name).__init__).parameters
    reserved = {"self", "policy", "env", "seed", "device", "policy_kwargs", "_init_setup_model", "tensorboard_log", "verbose"}
    allowed_hp = sorted(k for k in params if k not in reserved)
    for k in cfg.algorithm.hyperparams:
        if k not in allowed_hp:
            raise ConfigError(
                f"unknown key 'algorithm.hyperparams.{k}' for {cfg.algorithm.name}; allowed: {', '.join(allowed_hp)}"
            )


def config_to_dict(cfg: TrainConfig) -> dict[str, Any]:
    """The resolved config (every default filled in) as plain data."""
    return dataclasses.asdict(cfg)


def load_config(path: str | Path, *, check_env: bool = True) -> TrainConfig:
    """Read and validate a YAML config file."""
    import yaml

    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"config={str(path)!r} does not exist; allowed: a YAML file")
    try:
        data = yaml.safe_load(p.read_text())
    except yaml.YAMLError as exc:
        raise ConfigError(f"config={str(path)!r} is not valid YAML: {exc}") from None
    return parse_config(data, check_env=check_env)

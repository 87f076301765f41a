"""``tradeready train CONFIG``: Stable-Baselines3 on the native vector env, one tracked run per seed.

For every seed of ``training.seeds`` (a group of runs named after the config):

1. ``training.num_envs`` envs of ``env.id`` over ``data.train`` through the native vector env
   (``gymnasium.make_vec``) and the `SB3VecEnvAdapter`, observation (and reward) normalization with
   Stable-Baselines3's ``VecNormalize`` when ``training.normalize``;
2. the algorithm learns ``training.total_timesteps`` env steps (summed over the envs);
3. every ``training.eval_freq`` env steps (and at the end) the current policy runs deterministically
   over the whole ``data.validation`` period; the model with the best validation Sharpe ratio is
   saved in ``best/`` *with the normalization statistics of the same step*;
4. the run folder (`tradeready_gym.pipeline.runs`) gets the final model and statistics, the
   resolved config, the env spec and ``run.json``;
5. the run is tracked (`tradeready_gym.tracking.TrainingTracker`, mode ``"train"``, with the group,
   seed, algorithm and hyper-parameters): its episodes come from the env, the validation results and
   SB3's logger values are stored as scalars, so it shows in the dashboard.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import math
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from tradeready_gym.errors import ConfigError
from tradeready_gym.pipeline import stats as S
from tradeready_gym.pipeline.config import (
    ACTIVATIONS,
    TrainConfig,
    check_algorithm,
    config_to_dict,
    load_config,
)
from tradeready_gym.pipeline.rollout import finite_or_none, make_eval_vec_env, run_policy

__all__ = ["TrainResult", "train", "train_from_file"]

log = logging.getLogger(__name__)


class TrainResult:
    """What `train` produced: the group folder and one run folder per seed."""

    def __init__(self, group_dir: Path, run_dirs: list[Path], run_ids: list[str]) -> None:
        self.group_dir = group_dir
        self.run_dirs = run_dirs
        self.run_ids = run_ids

    def __repr__(self) -> str:
        return f"TrainResult({str(self.group_dir)!r}, runs={len(self.run_dirs)})"


def _policy_kwargs(cfg: TrainConfig) -> dict[str, Any]:
    pk = dict(cfg.algorithm.policy_kwargs)
    if "activation_fn" in pk:
        import torch

        pk["activation_fn"] = getattr(torch.nn, ACTIVATIONS[str(pk["activation_fn"])])
    return pk


def _env_kwargs(cfg: TrainConfig) -> dict[str, Any]:
    return dict(cfg.env.kwargs)


def _space_dict(space: Any) -> dict[str, Any]:
    import gymnasium as gym

    if isinstance(space, gym.spaces.Discrete):
        return {"type": "Discrete", "n": int(space.n)}
    if isinstance(space, gym.spaces.Box):
        return {"type": "Box", "shape": list(space.shape), "dtype": str(space.dtype),
                "low": float(np.min(space.low)), "high": float(np.max(space.high))}
    return {"type": type(space).__name__, "repr": repr(space)}


def env_spec(env_id: str, env_kwargs: dict[str, Any], venv: Any) -> dict[str, Any]:
    """The env spec written to ``env_spec.json``: id, entry points, kwargs, spaces, symbols."""
    import gymnasium as gym

    spec = gym.spec(env_id)
    return {
        "env_id": env_id,
        "entry_point": str(spec.entry_point),
        "vector_entry_point": str(spec.vector_entry_point),
        "fixed_kwargs": dict(spec.kwargs),
        "env_kwargs": {k: v for k, v in env_kwargs.items() if k != "data"},
        "symbols": list(venv.symbols),
        "timeframe": venv.feed.market.timeframe,
        "observation_space": _space_dict(venv.single_observation_space),
        "action_space": _space_dict(venv.single_action_space),
        "observation_features": list(getattr(venv.observer, "features", [])),
        "lookback_window": int(getattr(venv.observer, "lookback", 0)),
    }


def _validate(policy: Callable[[np.ndarray], np.ndarray], val_env: Any) -> dict[str, float]:
    r = run_policy(val_env, policy, name="validation")
    m = S.annualized_metrics(r.equity[:, 0], interval_ns=r.interval_ns)
    return {"roi_pct": m["total_return_pct"], "sharpe": m["sharpe"], "max_drawdown_pct": m["max_drawdown_pct"],
            "trades": float(r.n_trades[0])}


def _train_one(
    cfg: TrainConfig,
    seed: int,
    run_dir: Path,
    group: str,
    *,
    data: Any,
    progress: Any,
) -> str:
    import stable_baselines3 as sb3
    from stable_baselines3.common.callbacks import BaseCallback
    from stable_baselines3.common.logger import KVWriter, Logger
    from stable_baselines3.common.vec_env import VecMonitor, VecNormalize

    from tradeready_gym.envs.sb3 import SB3VecEnvAdapter
    from tradeready_gym.tracking.tracker import TrainingTracker, attach_tracker

    env_id = cfg.env.id
    kwargs = _env_kwargs(cfg)
    if data is not None:
        kwargs["data"] = data
    t = cfg.training
    import gymnasium as gym

    venv: Any = gym.make_vec(env_id, num_envs=t.num_envs, start_time=cfg.data.train.start, end_time=cfg.data.train.end,
                        track_training=False, **kwargs)
    resolved = config_to_dict(cfg)
    tracker = TrainingTracker(
        name=f"{group}/seed-{seed}", strategy_label=kwargs.get("strategy_label") or cfg.name, store=cfg.output.store,
        mode="train", group_name=group, seed=seed, algorithm=cfg.algorithm.name,
        hyperparams={**cfg.algorithm.hyperparams, "policy": cfg.algorithm.policy,
                     "policy_kwargs": cfg.algorithm.policy_kwargs, "total_timesteps": t.total_timesteps,
                     "num_envs": t.num_envs},
        env_id=env_id, config={"pipeline_config": resolved, "run_dir": str(run_dir)},
    )
    attach_tracker(venv, tracker)
    adapter = SB3VecEnvAdapter(venv)
    env: Any = VecMonitor(adapter)
    norm: VecNormalize | None = None
    if t.normalize:
        norm = VecNormalize(env, norm_obs=True, norm_reward=True, clip_obs=10.0)
        env = norm
    spec = env_spec(env_id, kwargs, venv)
    val_env = None
    if cfg.data.validation is not None:
        val_env = make_eval_vec_env(env_id, 1, {**kwargs, "start_time": cfg.data.validation.start,
                                                 "end_time": cfg.data.validation.end})
    algo_cls = getattr(sb3, cfg.algorithm.name)
    model = algo_cls(cfg.algorithm.policy, env, seed=seed, device=t.device, verbose=0,
                     policy_kwargs=_policy_kwargs(cfg) or None, **cfg.algorithm.hyperparams)

    class _TrackerOutput(KVWriter):
        """SB3 logger values -> the run's scalars."""

        def write(self, key_values: dict[str, Any], key_excluded: dict[str, Any], step: int = 0) -> None:
            rows = [{"key": k, "step": int(step), "value": float(v), "wall_time": time.time()}
                    for k, v in key_values.items() if isinstance(v, (int, float, np.floating)) and not isinstance(v, bool)]
            tracker.log_scalars(rows)

    model.set_logger(Logger(folder=None, output_formats=[_TrackerOutput()]))
    evaluations: list[dict[str, Any]] = []
    best = {"sharpe": -math.inf}

    def act(obs: np.ndarray) -> np.ndarray:
        x = norm.normalize_obs(obs) if norm is not None else obs
        a, _ = model.predict(x, deterministic=True)
        return np.asarray(a)

    def evaluate_now(steps: int) -> None:
        if val_env is None:
            return
        res = _validate(act, val_env)
        res["env_steps"] = steps
        evaluations.append(res)
        tracker.log_scalars([{"key": f"validation/{k}", "step": steps, "value": finite_or_none(v), "wall_time": time.time()}
                             for k, v in res.items() if k != "env_steps"])
        score = res["sharpe"] if math.isfinite(res["sharpe"]) else -1e9
        if score > best["sharpe"]:
            best["sharpe"] = score
            best_dir = run_dir / "best"
            best_dir.mkdir(parents=True, exist_ok=True)
            model.save(best_dir / "model.zip")
            if norm is not None:
                norm.save(str(best_dir / "vecnormalize.pkl"))  # the statistics of this very step
            (best_dir / "info.json").write_text(json.dumps({"env_steps": steps, **{k: finite_or_none(v) for k, v in res.items()}}))

    class _Callback(BaseCallback):
        def __init__(self) -> None:
            super().__init__()
            self.next_eval = t.eval_freq

        def _on_step(self) -> bool:
            steps = int(self.model.num_timesteps)
            if progress is not None:
                progress(steps)
            if steps >= self.next_eval:
                self.next_eval += t.eval_freq
                evaluate_now(steps)
            return True

    status = "failed"
    try:
        model.learn(total_timesteps=t.total_timesteps, callback=_Callback(), progress_bar=False)
        steps = int(model.num_timesteps)
        if not evaluations or evaluations[-1]["env_steps"] != steps:
            evaluate_now(steps)
        model.save(run_dir / "model.zip")
        if norm is not None:
            norm.save(str(run_dir / "vecnormalize.pkl"))
        status = "finished"
    finally:
        summary: dict[str, Any] = {"env_steps": int(model.num_timesteps), "best_validation_sharpe": finite_or_none(best["sharpe"]),
                   "run_dir": str(run_dir)}
        if evaluations:
            summary["last_validation"] = {k: finite_or_none(v) for k, v in evaluations[-1].items()}
        if status == "finished":
            tracker.complete_run("finished", summary)
        else:
            tracker.complete_run("failed", summary)
        env.close()
        if val_env is not None:
            val_env.close()
    import yaml

    (run_dir / "config.yaml").write_text(yaml.safe_dump(resolved, sort_keys=False))
    (run_dir / "env_spec.json").write_text(json.dumps(spec, indent=2))
    (run_dir / "evaluations.json").write_text(json.dumps(
        [{k: finite_or_none(v) if isinstance(v, float) else v for k, v in e.items()} for e in evaluations], indent=2))
    periods = {"train": {"start": cfg.data.train.start, "end": cfg.data.train.end}}
    if cfg.data.validation is not None:
        periods["validation"] = {"start": cfg.data.validation.start, "end": cfg.data.validation.end}
    if cfg.data.test is not None:
        periods["test"] = {"start": cfg.data.test.start, "end": cfg.data.test.end}
    run = {
        "run_id": tracker.run_id,
        "name": f"{group}/seed-{seed}",
        "group": group,
        "seed": seed,
        "env_id": env_id,
        "env_kwargs": {k: v for k, v in kwargs.items() if k != "data"},
        "periods": periods,
        "algorithm": cfg.algorithm.name,
        "policy": cfg.algorithm.policy,
        "hyperparams": cfg.algorithm.hyperparams,
        "normalize": t.normalize,
        "total_timesteps": t.total_timesteps,
        "env_steps": int(model.num_timesteps),
        "evaluation": resolved["evaluation"],
        "store": cfg.output.store,
        "created_at": dt.datetime.now(dt.UTC).isoformat(),
    }
    (run_dir / "run.json").write_text(json.dumps(run, indent=2))
    return tracker.run_id


def train(
    cfg: TrainConfig,
    *,
    data: Any = None,
    runs_dir: str | Path | None = None,
    progress: Callable[[int, int, int], None] | None = None,
) -> TrainResult:
    """Train every seed of ``cfg``; returns the group folder and the run folders.

    Args:
        cfg: a validated `TrainConfig`.
        data: candles instead of the cache (as the env's ``data=``), e.g. for tests.
        runs_dir: overrides ``output.runs_dir``.
        progress: ``progress(seed_index, env_steps, total_timesteps)`` callback.
    """
    check_algorithm(cfg)
    from tradeready_gym.pipeline.evaluate import check_held_out, min_purge_bars

    kwargs = _env_kwargs(cfg)
    timeframe = str(kwargs.get("timeframe", "1h"))
    purge = min_purge_bars(kwargs)
    if cfg.evaluation.purge_bars is not None:
        purge = max(purge, int(cfg.evaluation.purge_bars))
    train_p = [("train", cfg.data.train.start, cfg.data.train.end)]
    if cfg.data.validation is not None:
        check_held_out((cfg.data.validation.start, cfg.data.validation.end), train_p, purge_bars=purge, timeframe=timeframe)
    if cfg.data.test is not None:
        used = train_p + ([("validation", cfg.data.validation.start, cfg.data.validation.end)] if cfg.data.validation else [])
        check_held_out((cfg.data.test.start, cfg.data.test.end), used, purge_bars=purge, timeframe=timeframe)
    root = Path(runs_dir if runs_dir is not None else cfg.output.runs_dir)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S")
    group = f"{cfg.name}-{stamp}"
    group_dir = root / group
    if group_dir.exists():
        raise ConfigError(f"the run folder {group_dir} exists already; allowed: a new folder (wait a second or rename)")
    group_dir.mkdir(parents=True)
    dirs: list[Path] = []
    ids: list[str] = []
    try:
        for k, seed in enumerate(cfg.training.seeds):
            run_dir = group_dir / f"seed-{seed}"
            run_dir.mkdir()
            cb = None if progress is None else (lambda steps, _k=k: progress(_k, steps, cfg.training.total_timesteps))
            ids.append(_train_one(cfg, seed, run_dir, group, data=data, progress=cb))
            dirs.append(run_dir)
    except BaseException:
        if not dirs:
            shutil.rmtree(group_dir, ignore_errors=True)
        raise
    (group_dir / "group.json").write_text(json.dumps({"group": group, "name": cfg.name, "seeds": cfg.training.seeds,
                                                      "runs": [str(d.name) for d in dirs], "run_ids": ids}, indent=2))
    return TrainResult(group_dir, dirs, ids)


def train_from_file(path: str | Path, **kwargs: Any) -> TrainResult:
    """`load_config` then `train`."""
    return train(load_config(path), **kwargs)

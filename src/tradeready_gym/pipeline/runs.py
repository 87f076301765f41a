"""The run folder that ``tradeready train`` writes and ``evaluate`` / ``compare`` / ``report`` read.

Layout of one run (one seed)::

    RUN/
      run.json            what was trained: run id, env id and kwargs, periods, algorithm, seed, ...
      config.yaml         the resolved training config (every default filled in)
      env_spec.json       the env's spaces and settings (enough to rebuild it)
      model.zip           the final model (Stable-Baselines3)
      vecnormalize.pkl    the final observation-normalization statistics (when normalize: true)
      best/model.zip      the best model on the validation period
      best/vecnormalize.pkl   the statistics taken at the same step as best/model.zip
      evaluations.json    validation results during training (env steps, mean ROI, ...)
      eval/<stamp>/       evaluate's output: evaluation.json, curves.npz, report.html, *.png

A group of seeds is a folder holding one run folder per seed (``seed-0``, ``seed-1``, ...) and a
``group.json``.
"""

from __future__ import annotations

import json
import pickle
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from tradeready_gym.errors import ConfigError

__all__ = ["RunInfo", "load_agent", "read_run", "run_dirs"]

ALGORITHMS = ("PPO", "A2C", "DQN", "SAC", "TD3")


@dataclass
class RunInfo:
    """The content of ``run.json`` plus the folder."""

    path: Path
    data: dict[str, Any]

    @property
    def run_id(self) -> str:
        return str(self.data["run_id"])

    @property
    def name(self) -> str:
        return str(self.data.get("name") or self.path.name)

    @property
    def env_id(self) -> str:
        return str(self.data["env_id"])

    @property
    def env_kwargs(self) -> dict[str, Any]:
        return dict(self.data.get("env_kwargs") or {})

    def period(self, which: str) -> tuple[str, str] | None:
        """``(start, end)`` of ``"train"``, ``"validation"`` or ``"test"``, or None."""
        p = self.data.get("periods", {}).get(which)
        return None if not p else (str(p["start"]), str(p["end"]))


def read_run(path: str | Path) -> RunInfo:
    """Read a run folder (raises `ConfigError` naming the path when it is not one)."""
    p = Path(path)
    f = p / "run.json"
    if not f.is_file():
        raise ConfigError(f"run={str(path)!r} is not a run folder; allowed: a folder written by `tradeready train` (with run.json)")
    return RunInfo(p, json.loads(f.read_text()))


def run_dirs(path: str | Path) -> list[Path]:
    """The run folders under ``path``: itself when it is a run, its seed runs when it is a group."""
    p = Path(path)
    if (p / "run.json").is_file():
        return [p]
    if (p / "group.json").is_file():
        found = sorted(q.parent for q in p.glob("*/run.json"))
        if found:
            return found
    raise ConfigError(
        f"run={str(path)!r} is neither a run folder nor a group of runs; allowed: a folder written by `tradeready train`"
    )


def load_agent(run: RunInfo, which: str = "best", *, deterministic: bool = True) -> Callable[[np.ndarray], np.ndarray]:
    """The trained policy of a run as a batch policy ``obs (N, D) -> actions``.

    Args:
        run: the run.
        which: ``"best"`` (the best model on the validation period, with its own normalization
            statistics; the final model when training kept no best) or ``"final"``.
        deterministic: act greedily (default) instead of sampling.
    """
    if which not in ("best", "final"):
        raise ConfigError(f"which={which!r} is not allowed; allowed: 'best', 'final'")
    import stable_baselines3 as sb3

    algo = str(run.data["algorithm"])
    if algo not in ALGORITHMS:
        raise ConfigError(f"algorithm={algo!r} in {run.path / 'run.json'} is not supported; allowed: {', '.join(ALGORITHMS)}")
    folder = run.path / "best" if which == "best" and (run.path / "best" / "model.zip").is_file() else run.path
    model_file = folder / "model.zip"
    if not model_file.is_file():
        raise ConfigError(f"run={str(run.path)!r} has no model at {model_file}")
    model = getattr(sb3, algo).load(str(model_file), device="cpu")
    norm_file = folder / "vecnormalize.pkl"
    norm: Any = None
    if run.data.get("normalize") and not norm_file.is_file():
        # the model was trained on normalized observations: without its statistics it would act on raw ones
        raise ConfigError(f"run={str(run.path)!r} was trained with normalize: true but {norm_file} is missing")
    if norm_file.is_file():
        with norm_file.open("rb") as fh:
            norm = pickle.load(fh)  # the run's own file, written by VecNormalize.save
        norm.training = False
        norm.norm_reward = False

    def act(obs: np.ndarray) -> np.ndarray:
        x = norm.normalize_obs(obs) if norm is not None else obs
        actions, _ = model.predict(x, deterministic=deterministic)
        return np.asarray(actions)

    return act

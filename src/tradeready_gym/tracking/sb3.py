"""Stable-Baselines3 integration: SB3's logger scalars stored in the tracked run (table ``scalars``).

This module imports Stable-Baselines3 (``import tradeready_gym`` never does). Use::

    from stable_baselines3 import PPO
    from tradeready_gym.tracking.sb3 import TrackingCallback

    model = PPO("MlpPolicy", env)
    model.learn(10_000, callback=TrackingCallback())

or attach the output format yourself with `attach_tracking_logger(model)`. Every numeric value SB3
logs (``train/loss``, ``train/entropy_loss``, ``time/fps``, ``rollout/ep_rew_mean``, ...) is stored
under its key at SB3's step (``num_timesteps``); texts, images, videos and figures are skipped.
"""

from __future__ import annotations

import math
import time
from typing import Any

import numpy as np
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.logger import KVWriter, Logger, make_output_format

from tradeready_gym.errors import ConfigError
from tradeready_gym.tracking.tracker import TrainingTracker

__all__ = ["TrackingCallback", "TrackingOutputFormat", "attach_tracking_logger", "find_tracker"]

_HYPERPARAMS = (
    "learning_rate", "n_steps", "batch_size", "n_epochs", "gamma", "gae_lambda", "clip_range", "ent_coef",
    "vf_coef", "max_grad_norm", "buffer_size", "learning_starts", "tau", "train_freq", "gradient_steps",
    "target_update_interval", "exploration_fraction", "exploration_final_eps", "seed", "n_envs",
)


class TrackingOutputFormat(KVWriter):
    """An SB3 logger output format writing numeric scalars to a `TrainingTracker`'s run.

    Args:
        tracker: the run's tracker (registered on first use if needed).
    """

    def __init__(self, tracker: TrainingTracker) -> None:
        if not isinstance(tracker, TrainingTracker):
            raise ConfigError(f"tracker must be a TrainingTracker; got {type(tracker).__name__}")
        self.tracker = tracker

    def write(self, key_values: dict[str, Any], key_excluded: dict[str, Any], step: int = 0) -> None:
        now = time.time()
        rows = []
        for key, value in key_values.items():
            excluded = key_excluded.get(key)
            if excluded is not None and "tradeready" in excluded:
                continue
            if isinstance(value, (bool, np.bool_)):
                value = float(value)
            if isinstance(value, (int, float, np.integer, np.floating)):
                v = float(value)
                rows.append({"key": key, "step": int(step), "value": v if math.isfinite(v) else None, "wall_time": now})
            elif hasattr(value, "item") and getattr(value, "size", 0) == 1:  # 0-d tensors and arrays
                try:
                    v = float(value.item())
                except (TypeError, ValueError):
                    continue
                rows.append({"key": key, "step": int(step), "value": v if math.isfinite(v) else None, "wall_time": now})
        self.tracker.log_scalars(rows)

    def close(self) -> None:
        self.tracker.flush(timeout=30.0)


def find_tracker(env: Any) -> TrainingTracker | None:
    """The tracker of an env as SB3 holds it: our vector adapter, a ``DummyVecEnv`` / ``VecEnvWrapper``
    around tracked envs (the first sub-env's run), a Gymnasium wrapper, or a tracked env itself."""
    seen = 0
    while env is not None and seen < 20:
        seen += 1
        t = getattr(env, "_tracking", None)
        if isinstance(t, TrainingTracker):
            return t
        for attr in ("venv", "env", "unwrapped"):
            inner = getattr(env, attr, None)
            if inner is not None and inner is not env:
                t = find_tracker(inner) if attr != "unwrapped" else getattr(inner, "_tracking", None)
                if isinstance(t, TrainingTracker):
                    return t
        envs = getattr(env, "envs", None)
        if envs:
            return find_tracker(envs[0])
        return None
    return None


def _hyperparams(model: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in _HYPERPARAMS:
        if hasattr(model, name):
            v = getattr(model, name)
            if callable(v):
                try:
                    v = v(1.0)
                except Exception:
                    v = repr(v)
            out[name] = v if isinstance(v, (int, float, str, bool)) or v is None else repr(v)
    policy = getattr(model, "policy", None)
    if policy is not None:
        out["policy"] = type(policy).__name__
    return out


def attach_tracking_logger(model: Any, tracker: TrainingTracker | None = None) -> TrainingTracker:
    """Add a `TrackingOutputFormat` to ``model``'s logger (keeping its other formats).

    The tracker defaults to the one of the model's env (see `find_tracker`); the run also gets the
    algorithm's name and hyper-parameters.

    Raises:
        ConfigError: when no tracker is given and the model's env has none (``track_training=False``).
    """
    if tracker is None:
        tracker = find_tracker(model.get_env())
    if tracker is None:
        raise ConfigError(
            "the model's env has no TrainingTracker (track_training=False?); pass tracker=TrainingTracker(...)"
        )
    tracker.set_run_info(algorithm=type(model).__name__, hyperparams=_hyperparams(model))
    logger = getattr(model, "_logger", None)
    if logger is None:
        logger = Logger(folder=None, output_formats=[make_output_format("stdout", "")])
        model.set_logger(logger)
    if not any(isinstance(f, TrackingOutputFormat) and f.tracker is tracker for f in logger.output_formats):
        logger.output_formats.append(TrackingOutputFormat(tracker))
    return tracker


class TrackingCallback(BaseCallback):
    """Attaches `TrackingOutputFormat` to the model's logger when training starts.

    Args:
        tracker: the run's tracker (default: the model's env's).
        verbose: SB3's verbosity.
    """

    def __init__(self, tracker: TrainingTracker | None = None, verbose: int = 0) -> None:
        super().__init__(verbose)
        self.tracker = tracker

    def _on_training_start(self) -> None:
        self.tracker = attach_tracking_logger(self.model, self.tracker)

    def _on_step(self) -> bool:
        return True

    def _on_training_end(self) -> None:
        if self.tracker is not None:
            self.tracker.flush(timeout=30.0)

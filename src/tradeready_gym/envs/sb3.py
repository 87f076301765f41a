"""Stable-Baselines3 adapter for the native vector env.

This module imports Stable-Baselines3; ``import tradeready_gym`` never imports it. Use::

    from tradeready_gym.envs.sb3 import make_sb3_vec_env
    from stable_baselines3 import PPO

    venv = make_sb3_vec_env("TradeReady-BTC-v0", num_envs=8, start_time="2024-01-01", end_time="2024-06-01")
    PPO("MlpPolicy", venv).learn(10_000)
"""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium.vector import AutoresetMode
from stable_baselines3.common.vec_env.base_vec_env import VecEnv, VecEnvIndices, VecEnvObs, VecEnvStepReturn

from tradeready_gym.envs.vector_env import TradeReadyVectorEnv
from tradeready_gym.errors import ConfigError

__all__ = ["SB3VecEnvAdapter", "make_sb3_vec_env"]


class SB3VecEnvAdapter(VecEnv):
    """Presents a `TradeReadyVectorEnv` as a Stable-Baselines3 ``VecEnv``.

    SB3's convention is a reset inside the step: a finished env's last observation is in
    ``infos[i]["terminal_observation"]``, ``infos[i]["TimeLimit.truncated"]`` tells a truncation
    from a termination, and the returned observation is already the next episode's first. The
    adapter gives that for every autoreset mode of the vector env **without changing it**: with
    ``"same_step"`` the vector env resets by itself; with ``"next_step"`` or ``"disabled"`` the
    adapter resets the finished envs right after the step (``reset(options={"reset_mask": done})``,
    which also cancels a pending next-step reset). A finished env's info also holds
    ``final_equity`` and, when the env reports them, its ``episode_metrics`` (a dict of numbers).

    ``env_method``, ``get_attr`` and ``set_attr`` honour ``indices``: ``env_method("reset",
    indices=[i])`` resets env ``i`` only; a method with an env-index parameter ``i`` (``metrics``,
    ``price_history``) is called once per index; any other method acts on the whole batch and runs
    once. ``get_attr`` of an ``(N, ...)`` array gives each env its row; ``set_attr`` of a batch-level
    attribute needs every index (the envs share it).

    Args:
        venv: the native vector env (not reset yet, or reset again by `reset`).
        render_mode: None or ``"rgb_array"``: `get_images` returns one chart frame per env (drawn
            from the price and the equity the adapter records each step), so ``VecVideoRecorder``
            works.
        frame_size: ``(width, height)`` of the frames (default 640 x 400).
    """

    def __init__(
        self,
        venv: TradeReadyVectorEnv,
        *,
        render_mode: str | None = None,
        frame_size: tuple[int, int] = (640, 400),
    ) -> None:
        if not isinstance(venv, TradeReadyVectorEnv):
            raise ConfigError(f"venv must be a TradeReadyVectorEnv; got {type(venv).__name__}")
        if render_mode not in (None, "rgb_array"):
            raise ConfigError(f"render_mode={render_mode!r} is not supported by the adapter; allowed: None, 'rgb_array'")
        self.venv = venv
        self._render_mode = render_mode
        self._frame_size = (int(frame_size[0]), int(frame_size[1]))
        self._actions: np.ndarray | None = None
        self._equity: list[list[float]] = [[] for _ in range(venv.num_envs)]
        self._bars: list[list[int]] = [[] for _ in range(venv.num_envs)]
        super().__init__(venv.num_envs, venv.single_observation_space, venv.single_action_space)
        self.metadata: dict[str, Any] = {**self.metadata, "render_fps": 4}

    # ------------------------------------------------------------------ stepping
    def reset(self) -> VecEnvObs:
        seeds = self._seeds
        seed: list[int | None] | None = None if all(s is None for s in seeds) else list(seeds)
        obs, info = self.venv.reset(seed=seed)
        self._reset_seeds()
        self._reset_options()
        self.reset_infos = [{} for _ in range(self.num_envs)]
        self._record(np.ones(self.num_envs, dtype=bool), info, restart=True)
        return obs

    def step_async(self, actions: np.ndarray) -> None:
        self._actions = actions

    def step_wait(self) -> VecEnvStepReturn:
        if self._actions is None:
            raise RuntimeError("step_async() must be called before step_wait()")
        obs, reward, term, trunc, info = self.venv.step(self._actions)
        self._actions = None
        dones = term | trunc
        infos: list[dict[str, Any]] = [{} for _ in range(self.num_envs)]
        if not dones.any():
            self._record(None, info)
            return obs, reward.astype(np.float32), dones, infos
        if self.venv.autoreset_mode == AutoresetMode.SAME_STEP:
            final_obs, final = info["final_obs"], info["final_info"]
            self._record(None, final)
            self._record(dones, info, restart=True)
        else:
            final_obs, final = obs.copy(), info
            self._record(None, final)
            obs, after = self.venv.reset(options={"reset_mask": dones.copy()})
            self._record(dones, after, restart=True)
        metrics = final.get("episode_metrics")
        mask = final.get("_episode_metrics")
        for i in np.flatnonzero(dones):
            k = int(i)
            infos[k]["terminal_observation"] = final_obs[k]
            infos[k]["TimeLimit.truncated"] = bool(trunc[k] and not term[k])
            infos[k]["final_equity"] = float(final["equity"][k])
            if isinstance(metrics, dict) and (mask is None or bool(mask[k])):
                infos[k]["episode_metrics"] = {name: v[k].item() for name, v in metrics.items()}
        return obs, reward.astype(np.float32), dones, infos

    def close(self) -> None:
        self.venv.close()

    # ------------------------------------------------------------------ rendering
    def _record(self, mask: np.ndarray | None, info: dict[str, Any], *, restart: bool = False) -> None:
        """Keep each env's decision bars and equity (only when frames are drawn)."""
        if self._render_mode != "rgb_array":
            return
        clock = self.venv.clock
        equity = info["equity"]
        rows = range(self.num_envs) if mask is None else np.flatnonzero(mask)
        for i in rows:
            k = int(i)
            if restart:
                self._equity[k], self._bars[k] = [], []
            self._equity[k].append(float(equity[k]))
            self._bars[k].append(int(clock[k]))

    def get_images(self) -> Sequence[np.ndarray | None]:
        """One ``(H, W, 3)`` chart frame per env: price, equity and buy-and-hold since its reset."""
        if self._render_mode != "rgb_array":
            raise ConfigError(
                "get_images() needs SB3VecEnvAdapter(venv, render_mode='rgb_array'); "
                f"this adapter has render_mode={self._render_mode!r}"
            )
        from tradeready_gym.renderers.raster import draw_chart

        feed = self.venv.feed
        start = float(self.venv.portfolio.starting_balance)
        frames: list[np.ndarray | None] = []
        for k in range(self.num_envs):
            bars = np.asarray(self._bars[k], dtype=np.int64)
            if bars.size == 0:
                frames.append(np.full((self._frame_size[1], self._frame_size[0], 3), 255, dtype=np.uint8))
                continue
            close = feed.close[bars]
            hold = start * (close / close[0]).mean(axis=1)
            frames.append(draw_chart(self._frame_size[0], self._frame_size[1], close[:, 0], self._equity[k], hold))
        return frames

    # ------------------------------------------------------------------ VecEnv attribute access
    def _indices(self, indices: VecEnvIndices) -> list[int]:
        if indices is None:
            return list(range(self.num_envs))
        if isinstance(indices, int | np.integer):
            out = [int(indices)]
        else:
            out = [int(i) for i in indices]
        bad = [i for i in out if not 0 <= i < self.num_envs]
        if bad:
            raise ConfigError(f"indices={indices!r} holds {bad}; allowed: 0..{self.num_envs - 1}")
        return out

    def get_attr(self, attr_name: str, indices: VecEnvIndices = None) -> list[Any]:
        idx = self._indices(indices)
        if attr_name == "render_mode":
            return [self._render_mode for _ in idx]
        value = getattr(self.venv, attr_name)
        if isinstance(value, np.ndarray) and value.ndim >= 1 and value.shape[0] == self.num_envs:
            return [value[i] for i in idx]
        return [value for _ in idx]

    def set_attr(self, attr_name: str, value: Any, indices: VecEnvIndices = None) -> None:
        idx = self._indices(indices)
        if sorted(set(idx)) != list(range(self.num_envs)):
            raise ConfigError(
                f"set_attr({attr_name!r}, indices={indices!r}): the native vector env's attributes are shared by "
                f"all {self.num_envs} envs; set them with indices=None"
            )
        setattr(self.venv, attr_name, value)

    def env_method(
        self, method_name: str, *method_args: Any, indices: VecEnvIndices = None, **method_kwargs: Any
    ) -> list[Any]:
        idx = self._indices(indices)
        if method_name == "reset":
            mask = np.zeros(self.num_envs, dtype=bool)
            mask[idx] = True
            options = {"reset_mask": mask} if not mask.all() else None
            obs, info = self.venv.reset(*method_args, options=options, **method_kwargs)
            self._record(mask, info, restart=True)
            return [(obs[i], {}) for i in idx]
        method = getattr(self.venv, method_name)
        try:
            per_env = "i" in inspect.signature(method).parameters
        except (TypeError, ValueError):
            per_env = False
        if per_env:
            return [method(*method_args, i=i, **method_kwargs) for i in idx]
        result = method(*method_args, **method_kwargs)  # a batch-level method: once for the whole batch
        return [result for _ in idx]

    def env_is_wrapped(self, wrapper_class: type[gym.Wrapper], indices: VecEnvIndices = None) -> list[bool]:
        return [False for _ in self._indices(indices)]


def make_sb3_vec_env(env_id: str, num_envs: int = 1, *, render_mode: str | None = None, **kwargs: Any) -> SB3VecEnvAdapter:
    """``gymnasium.make_vec(env_id, num_envs, autoreset_mode="same_step", **kwargs)`` wrapped for SB3.

    ``render_mode="rgb_array"`` is the adapter's (see `SB3VecEnvAdapter`).
    """
    kwargs.setdefault("autoreset_mode", "same_step")
    venv = gym.make_vec(env_id, num_envs=num_envs, **kwargs)
    if not isinstance(venv, TradeReadyVectorEnv):
        raise ConfigError(f"env_id={env_id!r} is not a TradeReady environment with a native vector env")
    return SB3VecEnvAdapter(venv, render_mode=render_mode)

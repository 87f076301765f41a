"""Stable-Baselines3 adapter for the native vector env.

This module imports Stable-Baselines3; ``import tradeready_gym`` never imports it. Use::

    from tradeready_gym.envs.sb3 import make_sb3_vec_env
    from stable_baselines3 import PPO

    venv = make_sb3_vec_env("TradeReady-BTC-v0", num_envs=8, start_time="2024-01-01", end_time="2024-06-01")
    PPO("MlpPolicy", venv).learn(10_000)
"""

from __future__ import annotations

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

    The vector env is switched to same-step autoreset (SB3's convention): a finished env is reset
    inside the step, its last observation is in ``infos[i]["terminal_observation"]`` and
    ``infos[i]["TimeLimit.truncated"]`` tells a truncation from a termination.

    Args:
        venv: the native vector env (not reset yet, or reset again by `reset`).
    """

    def __init__(self, venv: TradeReadyVectorEnv) -> None:
        if not isinstance(venv, TradeReadyVectorEnv):
            raise ConfigError(f"venv must be a TradeReadyVectorEnv; got {type(venv).__name__}")
        venv.autoreset_mode = AutoresetMode.SAME_STEP
        venv.metadata = {**venv.metadata, "autoreset_mode": AutoresetMode.SAME_STEP}
        self.venv = venv
        self._actions: np.ndarray | None = None
        super().__init__(venv.num_envs, venv.single_observation_space, venv.single_action_space)

    def reset(self) -> VecEnvObs:
        seeds = self._seeds
        seed: list[int | None] | None = None if all(s is None for s in seeds) else list(seeds)
        obs, _ = self.venv.reset(seed=seed)
        self._reset_seeds()
        self._reset_options()
        self.reset_infos = [{} for _ in range(self.num_envs)]
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
        if dones.any():
            final_obs = info["final_obs"]
            final_equity = info["final_info"]["equity"]
            for i in np.flatnonzero(dones):
                k = int(i)
                infos[k]["terminal_observation"] = final_obs[k]
                infos[k]["TimeLimit.truncated"] = bool(trunc[k] and not term[k])
                infos[k]["final_equity"] = float(final_equity[k])
        return obs, reward.astype(np.float32), dones, infos

    def close(self) -> None:
        self.venv.close()

    def _indices(self, indices: VecEnvIndices) -> Sequence[int]:
        if indices is None:
            return range(self.num_envs)
        if isinstance(indices, int):
            return [indices]
        return list(indices)

    def get_attr(self, attr_name: str, indices: VecEnvIndices = None) -> list[Any]:
        value = getattr(self.venv, attr_name)
        return [value for _ in self._indices(indices)]

    def set_attr(self, attr_name: str, value: Any, indices: VecEnvIndices = None) -> None:
        setattr(self.venv, attr_name, value)

    def env_method(self, method_name: str, *method_args: Any, indices: VecEnvIndices = None, **method_kwargs: Any) -> list[Any]:
        method = getattr(self.venv, method_name)
        return [method(*method_args, **method_kwargs) for _ in self._indices(indices)]

    def env_is_wrapped(self, wrapper_class: type[gym.Wrapper], indices: VecEnvIndices = None) -> list[bool]:
        return [False for _ in self._indices(indices)]


def make_sb3_vec_env(env_id: str, num_envs: int = 1, **kwargs: Any) -> SB3VecEnvAdapter:
    """``gymnasium.make_vec(env_id, num_envs, **kwargs)`` wrapped for Stable-Baselines3."""
    venv = gym.make_vec(env_id, num_envs=num_envs, **kwargs)
    if not isinstance(venv, TradeReadyVectorEnv):
        raise ConfigError(f"env_id={env_id!r} is not a TradeReady environment with a native vector env")
    return SB3VecEnvAdapter(venv)

"""`TradeReadyVectorEnv`: N trading accounts stepped by one engine kernel call.

All envs share the feed (candles and feature matrices); their state lives in the engine's arrays
with the env index first. Observations are gathered with one fancy-indexing call, never a per-env
Python loop. Gymnasium's autoreset semantics are declared in ``metadata["autoreset_mode"]``:

* ``NEXT_STEP`` (Gymnasium's default): the step after an episode ends resets that env, ignores its
  action and returns its first observation with reward 0;
* ``SAME_STEP``: a finished env is reset inside the same step; its last observation and info are in
  ``info["final_obs"]`` / ``info["final_info"]`` (masks ``info["_final_obs"]``, ``info["_final_info"]``);
* ``DISABLED``: finished envs are reset by ``reset(options={"reset_mask": mask})``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space

from tradeready_gym.actions.schemes import ActionScheme
from tradeready_gym.envs._episode_end import batch_episode_metrics, install_reward_sums
from tradeready_gym.envs.core import BatchCore, CoreViews
from tradeready_gym.envs.feed import DataFeed
from tradeready_gym.envs.portfolio import Portfolio
from tradeready_gym.errors import ConfigError
from tradeready_gym.informers.informers import Informer
from tradeready_gym.observers.window import Observer
from tradeready_gym.stoppers.stoppers import Stopper

__all__ = ["TradeReadyVectorEnv"]

_MODES: dict[str, AutoresetMode] = {
    "next_step": AutoresetMode.NEXT_STEP,
    "same_step": AutoresetMode.SAME_STEP,
    "disabled": AutoresetMode.DISABLED,
}


class TradeReadyVectorEnv(CoreViews, VectorEnv[np.ndarray, np.ndarray, np.ndarray]):
    """A batch of ``num_envs`` trading envs on one feed, built from the same components as `TradingEnv`.

    With the same components, actions and seeds, env ``i`` behaves exactly like a `TradingEnv`
    seeded with ``seed + i``.

    Args:
        num_envs: number of envs (accounts), >= 1.
        portfolio, feed, action_scheme, reward_scheme, observer, stopper, informer, random_start_pct:
            as in `TradingEnv`; the components are bound to the whole batch.
        autoreset_mode: ``"next_step"`` (default), ``"same_step"`` or ``"disabled"`` (or an
            ``AutoresetMode``).
        info_details: also put the per-env info dicts (with ``filled_orders``) under
            ``info["details"]`` (slower; default False).
    """

    metadata: dict[str, Any] = {"autoreset_mode": AutoresetMode.NEXT_STEP, "render_modes": []}  # noqa: RUF012

    def __init__(
        self,
        num_envs: int,
        portfolio: Portfolio,
        feed: DataFeed,
        action_scheme: ActionScheme,
        reward_scheme: Any,
        observer: Observer,
        *,
        stopper: Stopper | None = None,
        informer: Informer | None = None,
        random_start_pct: float = 0.0,
        autoreset_mode: str | AutoresetMode = AutoresetMode.NEXT_STEP,
        info_details: bool = False,
    ) -> None:
        if isinstance(num_envs, bool) or not isinstance(num_envs, (int, np.integer)) or num_envs < 1:
            raise ConfigError(f"num_envs={num_envs!r} is not allowed; allowed: an integer >= 1")
        mode = autoreset_mode if isinstance(autoreset_mode, AutoresetMode) else _MODES.get(str(autoreset_mode).lower())
        if mode is None:
            raise ConfigError(f"autoreset_mode={autoreset_mode!r} is not allowed; allowed: {', '.join(_MODES)}")
        self._core = BatchCore(
            int(num_envs),
            portfolio,
            feed,
            action_scheme,
            reward_scheme,
            observer,
            stopper=stopper,
            informer=informer,
            random_start_pct=random_start_pct,
        )
        self.num_envs = int(num_envs)
        self.metadata = {**type(self).metadata, "autoreset_mode": mode}
        self.autoreset_mode = mode
        self.info_details = bool(info_details)
        self.single_action_space = action_scheme.action_space
        self.single_observation_space = observer.observation_space
        self.action_space = batch_space(self.single_action_space, self.num_envs)
        self.observation_space = batch_space(self.single_observation_space, self.num_envs)
        #: The keyword arguments a preset was built with (tracking settings included); {} otherwise.
        self.settings: dict[str, Any] = {}
        #: The attached `tradeready_gym.tracking.TrainingTracker` (None: not tracked).
        self._tracking: Any = None
        install_reward_sums(self._core)
        self._rngs: list[np.random.Generator] = [np.random.default_rng() for _ in range(self.num_envs)]
        self._autoreset = np.zeros(self.num_envs, dtype=bool)
        self._done = np.ones(self.num_envs, dtype=bool)
        self._started = False

    # ------------------------------------------------------------------ properties
    @property
    def clock(self) -> np.ndarray:
        """``(N,)`` bar index of each env's decision."""
        return np.array(self._core.engine.t, dtype=np.int64)

    def price_history(self, n: int, i: int = 0) -> np.ndarray:
        """Closes of the last ``n`` bars up to and including env ``i``'s clock, oldest first."""
        return self._core.feed.price_history(int(self._core.engine.t[i]), n)

    def metrics(self, i: int) -> Any:
        """`EpisodeMetrics` of env ``i``'s episode so far."""
        return self._core.engine.metrics(i)

    # ------------------------------------------------------------------ reset / step
    def _seed(self, seed: int | Sequence[int | None] | None) -> None:
        if seed is None:
            return
        if isinstance(seed, bool):
            raise ConfigError(f"seed={seed!r} is not allowed; allowed: an int, a list of ints, or None")
        if isinstance(seed, (int, np.integer)):
            seeds: list[int | None] = [int(seed) + i for i in range(self.num_envs)]
        else:
            seeds = list(seed)
            if len(seeds) != self.num_envs:
                raise ConfigError(f"seed has {len(seeds)} values; allowed: an int or exactly {self.num_envs} seeds")
        for i, s in enumerate(seeds):
            if s is not None:
                self._rngs[i], _ = gym.utils.seeding.np_random(int(s))
        self._np_random, self._np_random_seed = gym.utils.seeding.np_random(seeds[0])

    def _reset_mask(self, mask: np.ndarray) -> None:
        core = self._core
        starts = np.asarray(core.engine.t, dtype=np.int64).copy()
        for i in np.flatnonzero(mask):
            starts[i] = core.draw_start(self._rngs[int(i)])
        core.reset_envs(mask, starts)
        self._done[mask] = False
        self._autoreset[mask] = False

    def reset(
        self,
        *,
        seed: int | Sequence[int | None] | None = None,
        options: dict[str, Any] | None = None,
    ) -> tuple[np.ndarray, dict[str, Any]]:
        """Reset every env (or those in ``options["reset_mask"]``); ``seed`` seeds env i with ``seed + i``."""
        self._seed(seed)
        mask = np.ones(self.num_envs, dtype=bool)
        if options:
            unknown = set(options) - {"reset_mask"}
            if unknown:
                raise ConfigError(f"options has unknown keys {sorted(unknown)}; allowed: reset_mask")
            m = np.asarray(options["reset_mask"])
            if m.shape != (self.num_envs,) or m.dtype != np.bool_:
                raise ConfigError(f"reset_mask must be a bool array of shape ({self.num_envs},); got {m.dtype} {m.shape}")
            if not self._started and not m.all():
                raise ConfigError("the first reset must reset every env; reset_mask may be partial only later")
            mask = m
        self._reset_mask(mask)
        self._started = True
        if self._tracking is not None:
            self._tracking.on_reset(self, mask)
        obs = self._core.observe()
        return obs, self._infos()

    def _infos(self, extra: list[dict[str, Any]] | None = None) -> dict[str, Any]:
        info = self._core.informer.batch_info()
        if self.info_details:
            info["details"] = extra if extra is not None else [
                self._core.informer.info(i) for i in range(self.num_envs)
            ]
        return info

    def step(self, actions: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, dict[str, Any]]:
        """Step every env with ``actions`` (env index first); see the module doc for autoreset."""
        if not self._started:
            raise gym.error.ResetNeeded("call reset() before step()")
        core = self._core
        mode = self.autoreset_mode
        pending = self._autoreset if mode == AutoresetMode.NEXT_STEP else None
        if mode == AutoresetMode.DISABLED and self._done.any():
            raise gym.error.ResetNeeded(
                f"env(s) {np.flatnonzero(self._done).tolist()} have finished; with autoreset_mode='disabled' "
                "reset them with reset(options={'reset_mask': mask})"
            )
        active = None if pending is None or not pending.any() else ~pending
        res = core.step(actions, active, with_infos=self.info_details)
        obs, term, trunc = res.obs, res.terminated, res.truncated
        done = term | trunc
        ended = self._episode_end(done, term, trunc) if done.any() else None
        infos_extra = res.infos
        if active is not None:
            reset_now = ~active
            self._reset_mask(reset_now)
            obs[reset_now] = core.observe()[reset_now]
            infos_extra = None
        info: dict[str, Any]
        if mode == AutoresetMode.SAME_STEP and ended is not None:
            final_obs = obs.copy()
            final_info = self._infos(infos_extra)
            final_info["episode_metrics"], final_info["_episode_metrics"] = ended
            self._reset_mask(done)
            obs[done] = core.observe()[done]
            info = self._infos()
            info["final_obs"] = final_obs
            info["_final_obs"] = done.copy()
            info["final_info"] = final_info
            info["_final_info"] = done.copy()
        else:
            info = self._infos(infos_extra)
            if ended is not None:
                info["episode_metrics"], info["_episode_metrics"] = ended
        if mode == AutoresetMode.NEXT_STEP:
            self._autoreset = done.copy()
        elif mode == AutoresetMode.DISABLED:
            self._done |= done
        return obs, res.reward, term, trunc, info

    def _episode_end(
        self, done: np.ndarray, term: np.ndarray, trunc: np.ndarray
    ) -> tuple[dict[str, np.ndarray], np.ndarray]:
        """Metrics of the envs whose episode just ended (``(N,)`` arrays, NaN elsewhere) and the mask."""
        idx = np.flatnonzero(done)
        rows = batch_episode_metrics(self._core, idx)
        full: dict[str, np.ndarray] = {}
        for k, v in rows.items():
            arr = np.full(self.num_envs, np.nan) if v.dtype.kind == "f" else np.zeros(self.num_envs, dtype=v.dtype)
            arr[idx] = v
            full[k] = arr
        if self._tracking is not None:
            self._tracking.on_vector_episodes(self, idx, rows, term, trunc)
        return full, done.copy()

    def close_extras(self, **kwargs: Any) -> None:
        """Complete the tracked run, if any (the envs hold arrays only)."""
        if self._tracking is not None:
            self._tracking.close()

    def __repr__(self) -> str:
        return f"TradeReadyVectorEnv({list(self.symbols)}, num_envs={self.num_envs})"

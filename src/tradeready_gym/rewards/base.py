"""The reward protocol: batch-first for the environments, one scalar method for users.

The environment core drives every reward through three calls, for one env or a thousand:

* ``reward.bind(n_envs)`` allocates per-env state (called when the env is built);
* ``reward.reset_envs(mask)`` clears the state of the envs where ``mask`` is True (on reset);
* ``reward.compute_batch(prev_equity, curr_equity, infos)`` returns one float64 reward per env.

``reward.needs_info`` tells the env whether ``infos`` must be built; the built-in rewards do not need
it (the vector env then passes ``infos=None``).

A user's reward is one subclass with one method::

    class ProfitOverFees(RewardFunction):
        def compute(self, prev_equity, curr_equity, info):
            return curr_equity - prev_equity - 0.5 * sum(f["fee"] for f in info["filled_orders"])

Such a subclass gets the batch protocol from this base class: it keeps one deep copy of itself per
env, resets a copy with its ``reset()``, and loops over the copies in ``compute_batch``.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from tradeready_gym.errors import ConfigError

__all__ = ["CustomReward", "RewardFunction", "ScalarReward", "as_bool_mask", "as_equity", "bind_reward"]


def as_equity(values: Any, name: str, n: int | None) -> np.ndarray:
    """``values`` as a finite float64 ``(n,)`` array; `ConfigError` naming ``name`` otherwise."""
    a = np.asarray(values, dtype=np.float64)
    if a.ndim == 0:
        a = a.reshape(1)
    if a.ndim != 1 or (n is not None and a.shape[0] != n):
        want = "(n_envs,)" if n is None else f"({n},)"
        raise ConfigError(f"{name} must have shape {want}; got shape {a.shape}")
    if not np.isfinite(a).all():
        i = int(np.flatnonzero(~np.isfinite(a))[0])
        raise ConfigError(f"{name}[{i}]={a[i]} is not finite; equity must be a finite number")
    return a


def as_bool_mask(mask: Any, n: int) -> np.ndarray:
    """``mask`` as a bool ``(n,)`` array; `ConfigError` otherwise."""
    m = np.asarray(mask)
    if m.ndim == 0:
        m = np.full(n, bool(m))
    if m.shape != (n,) or not (m.dtype == np.bool_ or np.issubdtype(m.dtype, np.integer)):
        raise ConfigError(f"mask must be a bool array of shape ({n},); got dtype={m.dtype}, shape={m.shape}")
    return m.astype(bool)


class RewardFunction:
    """Base class of every reward: subclass it and implement `compute`.

    Example:
        >>> class Gain(RewardFunction):
        ...     def compute(self, prev_equity, curr_equity, info):
        ...         return 1.0 if curr_equity > prev_equity else 0.0
        >>> r = Gain()
        >>> r.bind(3)
        >>> r.compute_batch(np.array([10.0, 10, 10]), np.array([11.0, 9, 10]), None).tolist()
        [1.0, 0.0, 0.0]
    """

    needs_info: bool = True
    """Whether `compute_batch` reads ``infos``. True for user rewards, False for the built-ins."""

    _copies: list[RewardFunction] | None = None

    # ------------------------------------------------------------------ the user's interface
    def compute(self, prev_equity: float, curr_equity: float, info: dict[str, Any]) -> float:
        """The reward of one step of one env.

        Args:
            prev_equity: equity before the step (cash + positions at the previous close).
            curr_equity: equity after the step.
            info: the step's info dict (``equity``, ``filled_orders``, ... see the env docs); an
                empty dict when the env was told the reward does not need it.

        Returns:
            The reward as a float.
        """
        raise NotImplementedError(
            f"{type(self).__name__} must implement compute(prev_equity, curr_equity, info)"
        )

    def reset(self) -> None:
        """Clear per-episode state (called when the env resets). The default does nothing."""

    # ------------------------------------------------------------------ the batch protocol
    @property
    def n_envs(self) -> int | None:
        """Number of envs this reward is bound to (None before `bind`)."""
        return None if self._copies is None else len(self._copies)

    def bind(self, n_envs: int) -> None:
        """Allocate fresh per-env state for ``n_envs`` envs (a deep copy of this reward per env)."""
        n = _check_n_envs(n_envs)
        self._copies = None  # never copy earlier copies
        template = copy.deepcopy(self)
        self._copies = [copy.deepcopy(template) for _ in range(n)]
        for c in self._copies:
            c.reset()

    def reset_envs(self, mask: Any) -> None:
        """Reset the per-env state where ``mask`` is True (calls each copy's `reset`)."""
        copies = self._bound_copies()
        for i in np.flatnonzero(as_bool_mask(mask, len(copies))):
            copies[int(i)].reset()

    def compute_batch(
        self,
        prev_equity: np.ndarray,
        curr_equity: np.ndarray,
        infos: Sequence[dict[str, Any]] | None = None,
    ) -> np.ndarray:
        """One reward per env: ``(N,)`` float64 from ``(N,)`` equities before and after the step.

        Binds to ``N`` envs first when `bind` was not called.
        """
        prev = as_equity(prev_equity, "prev_equity", None)
        if self._copies is None:
            self.bind(prev.shape[0])
        copies = self._bound_copies()
        n = len(copies)
        prev = as_equity(prev, "prev_equity", n)
        curr = as_equity(curr_equity, "curr_equity", n)
        if infos is not None and len(infos) != n:
            raise ConfigError(f"infos must hold one dict per env ({n}); got {len(infos)}")
        out = np.empty(n, dtype=np.float64)
        for i, c in enumerate(copies):
            info = {} if infos is None else infos[i]
            v = float(c.compute(float(prev[i]), float(curr[i]), info))
            if not math.isfinite(v):
                raise ConfigError(
                    f"{type(self).__name__}.compute returned {v} for env {i}; rewards must be finite"
                )
            out[i] = v
        return out

    # ------------------------------------------------------------------ configuration
    def get_config(self) -> dict[str, Any]:
        """A JSON-friendly description that `reward_from_config` turns back into an equal reward.

        ``{"type": <built-in name or "module:Class">, "params": <constructor keyword arguments>}``.
        A user reward reports no parameters unless it overrides `config_params`.
        """
        cls = type(self)
        name = (
            cls.__name__
            if cls.__module__.startswith("tradeready_gym.rewards")
            else (f"{cls.__module__}:{cls.__qualname__}")
        )
        return {"type": name, "params": self.config_params()}

    def config_params(self) -> dict[str, Any]:
        """The constructor keyword arguments of this reward (override in a reward that takes any)."""
        return {}

    def _bound_copies(self) -> list[RewardFunction]:
        if self._copies is None:
            raise ConfigError(f"{type(self).__name__} is not bound to any env; call bind(n_envs) first")
        return self._copies

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


CustomReward = RewardFunction
"""Alias of `RewardFunction` for user rewards."""


class ScalarReward(RewardFunction):
    """A `RewardFunction` around an object that only has ``compute(prev, curr, info)`` (and maybe
    ``reset()``): the env runs such an object through this class, with one deep copy per env.

    Args:
        reward: the user's object; ``reward.reward`` of the running copy is that env's copy.
    """

    def __init__(self, reward: Any) -> None:
        if not callable(getattr(reward, "compute", None)):
            raise ConfigError(
                f"reward_function={reward!r} is not a reward; allowed: a tradeready_gym.rewards reward or an object "
                "with compute(prev_equity, curr_equity, info) -> float"
            )
        self.reward = reward

    def compute(self, prev_equity: float, curr_equity: float, info: dict[str, Any]) -> float:
        return float(self.reward.compute(prev_equity, curr_equity, info))

    def reset(self) -> None:
        reset = getattr(self.reward, "reset", None)
        if callable(reset):
            reset()

    def __repr__(self) -> str:
        return f"ScalarReward({self.reward!r})"


def bind_reward(reward: Any, n_envs: int) -> Any:
    """The reward an env runs: a private copy of ``reward`` bound to ``n_envs`` envs.

    A `RewardFunction` (every built-in and every user subclass) is deep-copied and bound; an object
    with only ``compute`` is wrapped in `ScalarReward` first. The copy keeps one reward object
    passed to several envs (``make_vec_env(env_kwargs=...)``, a registered default) from sharing
    its rolling state between them. Every reward then runs through the same three calls: ``bind``,
    ``reset_envs`` and ``compute_batch``.
    """
    if isinstance(reward, type):
        raise ConfigError(
            f"reward_function={reward!r} is not allowed; allowed: an instance such as {reward.__name__}()"
        )
    if isinstance(reward, RewardFunction) or all(
        callable(getattr(reward, name, None)) for name in ("bind", "reset_envs", "compute_batch")
    ):
        bound = copy.deepcopy(reward)  # a reward with the batch protocol (a duck-typed one too)
    else:
        bound = ScalarReward(reward)
    bound.bind(n_envs)
    return bound


def _check_n_envs(n_envs: Any) -> int:
    if isinstance(n_envs, bool) or not isinstance(n_envs, int | np.integer) or n_envs < 1:
        raise ConfigError(f"n_envs={n_envs!r} must be an integer >= 1")
    return int(n_envs)

"""The built-in rewards, computed natively on ``(n_envs,)`` arrays.

All of them score one step from the equity before (``E_{t-1}``) and after (``E_t``) the step; the
per-step simple return is ``r_t = E_t / E_{t-1} - 1`` (0 when ``E_{t-1} <= 0``). The exact formulas,
and what happens at the edges, are in ``docs/rewards.md``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from tradeready_gym.errors import ConfigError
from tradeready_gym.rewards import _kernels as _k
from tradeready_gym.rewards.base import RewardFunction, _check_n_envs, as_bool_mask, as_equity

__all__ = [
    "BUILTIN_REWARDS",
    "LOG_EQUITY_FLOOR",
    "ZERO_DEVIATION",
    "BatchReward",
    "CompositeReward",
    "DrawdownPenaltyReward",
    "LogReturnReward",
    "PnLReward",
    "SharpeReward",
    "SortinoReward",
    "reward_from_config",
    "simple_returns",
]

LOG_EQUITY_FLOOR = 1e-12
"""`LogReturnReward` floors both equities at this value so a wiped-out account gives a finite reward."""
ZERO_DEVIATION = 1e-12
"""A deviation at or below this counts as zero in `SharpeReward` / `SortinoReward` (ratio 0)."""


def simple_returns(prev_equity: np.ndarray, curr_equity: np.ndarray) -> np.ndarray:
    """``curr / prev - 1`` per env, 0 where ``prev <= 0``."""
    safe = np.where(prev_equity > 0, prev_equity, 1.0)
    return np.where(prev_equity > 0, curr_equity / safe - 1.0, 0.0)


class BatchReward(RewardFunction):
    """Base of rewards implemented on arrays: implement `_allocate`, `_reset` and `_step`.

    The scalar `compute` / `reset` run the same array code with one env (binding to one env on first
    use). A subclass that overrides the scalar `compute` is treated like any user reward: the batch
    protocol then loops over one copy per env and passes ``info``.
    """

    needs_info = False
    _override = False
    _n: int | None = None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "compute" in cls.__dict__:
            cls._override = True
            if "needs_info" not in cls.__dict__:
                cls.needs_info = True

    # ------------------------------------------------------------------ to implement
    def _allocate(self, n: int) -> None:
        """Create fresh state for ``n`` envs."""

    def _reset(self, mask: np.ndarray) -> None:
        """Clear the state of the envs where ``mask`` is True."""

    def _step(self, prev: np.ndarray, curr: np.ndarray, infos: Sequence[dict[str, Any]] | None) -> np.ndarray:
        raise NotImplementedError

    # ------------------------------------------------------------------ batch protocol
    @property
    def n_envs(self) -> int | None:
        return super().n_envs if self._override else self._n

    def bind(self, n_envs: int) -> None:
        if self._override:
            super().bind(n_envs)
        else:
            self._native_bind(n_envs)

    def reset_envs(self, mask: Any) -> None:
        if self._override:
            super().reset_envs(mask)
            return
        if self._n is None:
            raise ConfigError(f"{type(self).__name__} is not bound to any env; call bind(n_envs) first")
        self._reset(as_bool_mask(mask, self._n))

    def compute_batch(
        self,
        prev_equity: np.ndarray,
        curr_equity: np.ndarray,
        infos: Sequence[dict[str, Any]] | None = None,
    ) -> np.ndarray:
        if self._override:
            return super().compute_batch(prev_equity, curr_equity, infos)
        return self._native_batch(prev_equity, curr_equity, infos)

    def _native_bind(self, n_envs: int) -> None:
        self._n = _check_n_envs(n_envs)
        self._allocate(self._n)

    def _native_batch(
        self, prev_equity: Any, curr_equity: Any, infos: Sequence[dict[str, Any]] | None
    ) -> np.ndarray:
        prev = as_equity(prev_equity, "prev_equity", self._n)
        if self._n is None:
            self._native_bind(prev.shape[0])
        curr = as_equity(curr_equity, "curr_equity", self._n)
        if infos is not None and len(infos) != self._n:
            raise ConfigError(f"infos must hold one dict per env ({self._n}); got {len(infos)}")
        return np.asarray(self._step(prev, curr, infos), dtype=np.float64)

    # ------------------------------------------------------------------ scalar interface (N = 1)
    def compute(self, prev_equity: float, curr_equity: float, info: dict[str, Any] | None = None) -> float:
        """The reward of one step of a single env (the batch code with one env)."""
        if self._n is None:
            self._native_bind(1)
        elif self._n != 1:
            raise ConfigError(
                f"{type(self).__name__} is bound to {self._n} envs; the scalar compute() serves one env, "
                "use compute_batch()"
            )
        infos = [info if info is not None else {}] if self.needs_info else None
        return float(self._native_batch([prev_equity], [curr_equity], infos)[0])

    def reset(self) -> None:
        """Start a new episode of a single env."""
        if self._n is None or self._n == 1:
            self._native_bind(1)
        else:
            raise ConfigError(
                f"{type(self).__name__} is bound to {self._n} envs; the scalar reset() serves one env, "
                "use reset_envs(mask)"
            )


class PnLReward(BatchReward):
    """Equity change of the step, in quote currency: ``E_t - E_{t-1}``.

    Example:
        >>> PnLReward().compute(10_000.0, 10_025.5, {})
        25.5
    """

    def _step(self, prev: np.ndarray, curr: np.ndarray, infos: Sequence[dict[str, Any]] | None) -> np.ndarray:
        out = np.empty(prev.shape[0], dtype=np.float64)
        _k.pnl_step(prev, curr, out)
        return out


class LogReturnReward(BatchReward):
    """Log return of the step: ``ln(E_t / E_{t-1})`` (equities floored at `LOG_EQUITY_FLOOR`).

    Example:
        >>> round(LogReturnReward().compute(100.0, 110.0, {}), 6)
        0.09531
    """

    def _step(self, prev: np.ndarray, curr: np.ndarray, infos: Sequence[dict[str, Any]] | None) -> np.ndarray:
        return np.log(np.maximum(curr, LOG_EQUITY_FLOOR)) - np.log(np.maximum(prev, LOG_EQUITY_FLOOR))


class _RollingRatio(BatchReward):
    """Change of a rolling ratio over the last ``window`` per-step simple returns of the episode."""

    def __init__(self, window: int = 50) -> None:
        if isinstance(window, bool) or not isinstance(window, int | np.integer) or window < 2:
            raise ConfigError(f"window={window!r} must be an integer >= 2")
        self.window = int(window)

    def _allocate(self, n: int) -> None:
        self._buf = np.zeros((n, self.window))
        self._count = np.zeros(n, dtype=np.int64)
        self._pos = np.zeros(n, dtype=np.int64)
        self._prev_ratio = np.zeros(n)

    def _reset(self, mask: np.ndarray) -> None:
        self._buf[mask] = 0.0
        self._count[mask] = 0
        self._pos[mask] = 0
        self._prev_ratio[mask] = 0.0

    _kind = _k.SHARPE

    def _step(self, prev: np.ndarray, curr: np.ndarray, infos: Sequence[dict[str, Any]] | None) -> np.ndarray:
        return _k.rolling_ratio_step(
            self._buf, self._count, self._pos, self._prev_ratio, prev, curr, self._kind, ZERO_DEVIATION
        )

    def config_params(self) -> dict[str, Any]:
        return {"window": self.window}

    def __repr__(self) -> str:
        return f"{type(self).__name__}(window={self.window})"


class SharpeReward(_RollingRatio):
    """Change of the rolling Sharpe ratio: ``S_t - S_{t-1}``.

    ``S_t = mean(r) / std(r)`` over the last ``window`` returns of the episode (sample std, ddof 1,
    not annualised). ``S_t = 0`` with fewer than 2 returns or a std <= `ZERO_DEVIATION`; ``S_0 = 0``
    at reset, so the first reward of an episode is 0.

    Example:
        >>> r = SharpeReward(window=3)
        >>> [round(r.compute(a, b, {}), 4) for a, b in [(100, 110), (110, 104.5), (104.5, 114.95)]]
        [0.0, 0.2357, 0.3416]
    """

    _kind = _k.SHARPE


class SortinoReward(_RollingRatio):
    """Change of the rolling Sortino ratio: ``So_t - So_{t-1}``.

    ``So_t = mean(r) / DD`` with the downside deviation ``DD = sqrt(mean(min(r, 0)^2))`` over the
    last ``window`` returns of the episode (target 0, not annualised). ``So_t = 0`` with fewer than 2
    returns or ``DD <= ZERO_DEVIATION`` (no losing step in the window); ``So_0 = 0`` at reset.
    """

    _kind = _k.SORTINO


class DrawdownPenaltyReward(BatchReward):
    """Per-step return minus a drawdown penalty, both as fractions.

    ``reward_t = r_t - penalty_coeff * D_t`` with ``D_t = 1 - E_t / P_t`` the current drawdown from
    the episode's peak ``P_t = max(E_0, ..., E_t)`` (``E_0``: the equity before the first step).

    Args:
        penalty_coeff: weight of the drawdown fraction (>= 0); 0 gives the plain simple return.

    Example:
        >>> r = DrawdownPenaltyReward(penalty_coeff=0.5)
        >>> [round(r.compute(a, b, {}), 6) for a, b in [(100, 110), (110, 99)]]
        [0.1, -0.15]
    """

    def __init__(self, penalty_coeff: float = 0.5) -> None:
        try:
            c = float(penalty_coeff)
        except (TypeError, ValueError):
            c = math.nan
        if not math.isfinite(c) or c < 0 or isinstance(penalty_coeff, bool):
            raise ConfigError(f"penalty_coeff={penalty_coeff!r} must be a finite number >= 0")
        self.penalty_coeff = c

    def _allocate(self, n: int) -> None:
        self._peak = np.full(n, np.nan)

    def _reset(self, mask: np.ndarray) -> None:
        self._peak[mask] = np.nan

    def _step(self, prev: np.ndarray, curr: np.ndarray, infos: Sequence[dict[str, Any]] | None) -> np.ndarray:
        return _k.drawdown_penalty_step(self._peak, prev, curr, self.penalty_coeff)

    def config_params(self) -> dict[str, Any]:
        return {"penalty_coeff": self.penalty_coeff}

    def __repr__(self) -> str:
        return f"DrawdownPenaltyReward(penalty_coeff={self.penalty_coeff})"


class CompositeReward(BatchReward):
    """Weighted sum of rewards: ``sum_i w_i * reward_i``.

    Every component keeps its own state; they are bound, reset and stepped together. Components may
    be user rewards; the composite then passes ``info`` on (its `needs_info` is True if any
    component needs it).

    Args:
        rewards: the component rewards (distinct instances).
        weights: one finite weight per reward; all 1.0 when omitted.

    Example:
        >>> r = CompositeReward([PnLReward(), DrawdownPenaltyReward(1.0)], weights=[0.01, 1.0])
        >>> round(r.compute(100.0, 110.0, {}), 6)  # 0.01 * 10 + (0.1 - 0)
        0.2
    """

    def __init__(self, rewards: Sequence[RewardFunction], weights: Sequence[float] | None = None) -> None:
        rs = list(rewards) if not isinstance(rewards, RewardFunction) else [rewards]
        if not rs:
            raise ConfigError("rewards=[] must hold at least one RewardFunction")
        for i, r in enumerate(rs):
            if not isinstance(r, RewardFunction):
                raise ConfigError(f"rewards[{i}]={r!r} is not a RewardFunction")
        if len({id(r) for r in rs}) != len(rs):
            raise ConfigError("rewards holds the same instance twice; pass a separate instance per component")
        if weights is None:
            ws = [1.0] * len(rs)
        else:
            ws = [float(w) for w in weights]
            if len(ws) != len(rs):
                raise ConfigError(
                    f"weights has {len(ws)} values for {len(rs)} rewards; give one weight per reward"
                )
            bad = [w for w in ws if not math.isfinite(w)]
            if bad:
                raise ConfigError(f"weights={list(weights)!r} must all be finite numbers")
        self.rewards = rs
        self.weights = ws
        self.needs_info = any(r.needs_info for r in rs)

    def _allocate(self, n: int) -> None:
        for r in self.rewards:
            r.bind(n)

    def _reset(self, mask: np.ndarray) -> None:
        for r in self.rewards:
            r.reset_envs(mask)

    def _step(self, prev: np.ndarray, curr: np.ndarray, infos: Sequence[dict[str, Any]] | None) -> np.ndarray:
        total = np.zeros(prev.shape[0])
        for w, r in zip(self.weights, self.rewards, strict=True):
            total += w * r.compute_batch(prev, curr, infos if r.needs_info else None)
        return total

    def config_params(self) -> dict[str, Any]:
        return {"rewards": [r.get_config() for r in self.rewards], "weights": list(self.weights)}

    def __repr__(self) -> str:
        parts = ", ".join(f"{w}*{r!r}" for w, r in zip(self.weights, self.rewards, strict=True))
        return f"CompositeReward({parts})"


BUILTIN_REWARDS: dict[str, type[RewardFunction]] = {
    "PnLReward": PnLReward,
    "LogReturnReward": LogReturnReward,
    "SharpeReward": SharpeReward,
    "SortinoReward": SortinoReward,
    "DrawdownPenaltyReward": DrawdownPenaltyReward,
    "CompositeReward": CompositeReward,
}
"""Name -> class of every built-in reward."""


def reward_from_config(config: Any) -> RewardFunction:
    """Rebuild a reward from `RewardFunction.get_config` output.

    ``type`` is a built-in name (see `BUILTIN_REWARDS`) or ``"module:Class"`` of an importable
    `RewardFunction` subclass; ``params`` are its keyword arguments (a composite's ``rewards`` are
    configs themselves).

    Example:
        >>> reward_from_config(SharpeReward(window=20).get_config())
        SharpeReward(window=20)

    Raises:
        ConfigError: a malformed config, an unknown type, or parameters the class rejects.
    """
    if not isinstance(config, dict) or not isinstance(config.get("type"), str):
        raise ConfigError(f"config={config!r} must be a dict with a 'type' string and optional 'params'")
    name = config["type"]
    params = config.get("params") or {}
    if not isinstance(params, dict):
        raise ConfigError(f"params={params!r} of reward {name!r} must be a dict of keyword arguments")
    cls: Any
    if name in BUILTIN_REWARDS:
        cls = BUILTIN_REWARDS[name]
    elif ":" in name:
        import importlib

        module, _, qual = name.partition(":")
        try:
            cls = importlib.import_module(module)
            for part in qual.split("."):
                cls = getattr(cls, part)
        except (ImportError, AttributeError):
            raise ConfigError(f"reward type={name!r} cannot be imported") from None
        if not (isinstance(cls, type) and issubclass(cls, RewardFunction)):
            raise ConfigError(f"reward type={name!r} is not a RewardFunction subclass")
    else:
        raise ConfigError(
            f"reward type={name!r} is unknown; allowed: {', '.join(BUILTIN_REWARDS)} or 'module:Class'"
        )
    if cls is CompositeReward:
        params = dict(params)
        params["rewards"] = [reward_from_config(c) for c in params.get("rewards", [])]
    try:
        reward: RewardFunction = cls(**params)
    except TypeError as e:
        raise ConfigError(f"params={params!r} do not fit reward {name!r}: {e}") from None
    return reward

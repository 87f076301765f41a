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
    "COMPOSITE_DEFAULTS",
    "LOG_EQUITY_FLOOR",
    "ZERO_DEVIATION",
    "ActivityReward",
    "BatchReward",
    "CompositeReward",
    "DrawdownPenaltyReward",
    "DrawdownReward",
    "LogReturnReward",
    "NormalizedPnLReward",
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


class NormalizedPnLReward(BatchReward):
    """Equity change as a fraction of the starting balance: ``(E_t - E_{t-1}) / starting_balance``.

    Args:
        starting_balance: the denominator (> 0), normally the env's starting balance.

    Example:
        >>> NormalizedPnLReward(10_000).compute(10_000.0, 10_100.0, {})
        0.01
    """

    def __init__(self, starting_balance: float = 10_000.0) -> None:
        self.starting_balance = _finite(starting_balance, "starting_balance", positive=True)

    def _step(self, prev: np.ndarray, curr: np.ndarray, infos: Sequence[dict[str, Any]] | None) -> np.ndarray:
        return (curr - prev) / self.starting_balance

    def config_params(self) -> dict[str, Any]:
        return {"starting_balance": self.starting_balance}

    def __repr__(self) -> str:
        return f"NormalizedPnLReward(starting_balance={self.starting_balance})"


class ActivityReward(BatchReward):
    """``+bonus`` on a step with at least one fill; otherwise ``-bonus * min(idle / window, 1)``.

    ``idle`` counts the consecutive steps without a fill (1 on the first idle step), so holding cash
    is penalised more the longer it lasts, up to ``-bonus``. Reads ``info["filled_orders"]``.

    Args:
        bonus: size of the bonus and of the largest penalty (>= 0).
        window: idle steps until the penalty reaches ``-bonus`` (>= 1).

    Example:
        >>> r = ActivityReward(bonus=1.0, window=4)
        >>> [r.compute(1.0, 1.0, {"filled_orders": f}) for f in ([], [], [{}], [])]
        [-0.25, -0.5, 1.0, -0.25]
    """

    needs_info = True

    def __init__(self, bonus: float = 1.0, window: int = 50) -> None:
        self.bonus = _finite(bonus, "activity_bonus", positive=False)
        if isinstance(window, bool) or not isinstance(window, int | np.integer) or window < 1:
            raise ConfigError(f"window={window!r} must be an integer >= 1")
        self.window = int(window)

    def _allocate(self, n: int) -> None:
        self._idle = np.zeros(n, dtype=np.int64)

    def _reset(self, mask: np.ndarray) -> None:
        self._idle[mask] = 0

    def _step(self, prev: np.ndarray, curr: np.ndarray, infos: Sequence[dict[str, Any]] | None) -> np.ndarray:
        n = prev.shape[0]
        traded = np.zeros(n, dtype=bool)
        if infos is not None:
            for i, info in enumerate(infos):
                traded[i] = bool(info.get("filled_orders"))
        self._idle = np.where(traded, 0, self._idle + 1)
        penalty = -self.bonus * np.minimum(self._idle / self.window, 1.0)
        return np.where(traded, self.bonus, penalty)

    def config_params(self) -> dict[str, Any]:
        return {"bonus": self.bonus, "window": self.window}

    def __repr__(self) -> str:
        return f"ActivityReward(bonus={self.bonus}, window={self.window})"


class DrawdownReward(BatchReward):
    """Minus the current drawdown fraction: ``-(P_t - E_t) / P_t`` with ``P_t = max(E_1, ..., E_t)``.

    The peak starts from the first equity after a step (0 when the peak is not positive).

    Example:
        >>> r = DrawdownReward()
        >>> [round(r.compute(a, b, {}), 6) for a, b in [(100, 110), (110, 99)]]
        [0.0, -0.1]
    """

    def _allocate(self, n: int) -> None:
        self._peak = np.zeros(n)

    def _reset(self, mask: np.ndarray) -> None:
        self._peak[mask] = 0.0

    def _step(self, prev: np.ndarray, curr: np.ndarray, infos: Sequence[dict[str, Any]] | None) -> np.ndarray:
        self._peak = np.maximum(self._peak, curr)
        safe = np.where(self._peak > 0.0, self._peak, 1.0)
        return np.where(self._peak > 0.0, (curr - self._peak) / safe, 0.0)


#: The keyword weights of `CompositeReward` and their defaults (they must sum to 1).
COMPOSITE_DEFAULTS: dict[str, float] = {
    "sortino_weight": 0.4,
    "pnl_weight": 0.3,
    "activity_weight": 0.2,
    "drawdown_weight": 0.1,
}


def _finite(value: Any, name: str, *, positive: bool) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        v = math.nan
    if isinstance(value, bool) or not math.isfinite(v) or (v <= 0 if positive else v < 0):
        raise ConfigError(f"{name}={value!r} must be a finite number {'> 0' if positive else '>= 0'}")
    return v


class CompositeReward(BatchReward):
    """Weighted sum of rewards: ``sum_i w_i * reward_i``, in one of two forms.

    **Keyword form** (the published package's ``CompositeReward()``; every argument optional)::

        reward = sortino_weight  * (So_t - So_{t-1})             # SortinoReward(sortino_window)
               + pnl_weight      * (E_t - E_{t-1}) / starting_balance
               + activity_weight * activity                       # ActivityReward(activity_bonus, sortino_window)
               + drawdown_weight * -(P_t - E_t) / P_t             # DrawdownReward

    with defaults 0.4 / 0.3 / 0.2 / 0.1 (the four weights must sum to 1), ``sortino_window=50``,
    ``activity_bonus=1.0``, ``starting_balance=10000``.

    **List form**: ``CompositeReward([r1, r2, ...], weights=[w1, w2, ...])`` with any rewards.

    Every component keeps its own state; they are bound, reset and stepped together. Components may
    be user rewards; the composite then passes ``info`` on (its `needs_info` is True if any
    component needs it).

    Args:
        rewards: the component rewards (distinct instances); omit for the keyword form.
        weights: one finite weight per reward; all 1.0 when omitted.
        sortino_weight, pnl_weight, activity_weight, drawdown_weight: keyword-form weights.
        sortino_window: keyword form: Sortino window and the activity penalty's ramp (>= 2).
        activity_bonus: keyword form: the activity bonus (>= 0).
        starting_balance: keyword form: the PnL denominator (> 0).

    Example:
        >>> r = CompositeReward([PnLReward(), DrawdownPenaltyReward(1.0)], weights=[0.01, 1.0])
        >>> round(r.compute(100.0, 110.0, {}), 6)  # 0.01 * 10 + (0.1 - 0)
        0.2
        >>> round(CompositeReward(starting_balance=100.0).compute(100.0, 110.0, {"filled_orders": [{}]}), 6)
        0.23
    """

    def __init__(
        self,
        rewards: Sequence[RewardFunction] | None = None,
        weights: Sequence[float] | None = None,
        *,
        sortino_weight: float | None = None,
        pnl_weight: float | None = None,
        activity_weight: float | None = None,
        drawdown_weight: float | None = None,
        sortino_window: int | None = None,
        activity_bonus: float | None = None,
        starting_balance: float | None = None,
    ) -> None:
        given = {
            k: v
            for k, v in (
                ("sortino_weight", sortino_weight),
                ("pnl_weight", pnl_weight),
                ("activity_weight", activity_weight),
                ("drawdown_weight", drawdown_weight),
                ("sortino_window", sortino_window),
                ("activity_bonus", activity_bonus),
                ("starting_balance", starting_balance),
            )
            if v is not None
        }
        self._keywords: dict[str, Any] | None = None
        if rewards is None:
            if weights is not None:
                raise ConfigError("weights= needs rewards=; the keyword form takes sortino_weight=, pnl_weight=, ...")
            rewards, weights = self._keyword_form(given)
        elif given:
            raise ConfigError(
                f"CompositeReward takes either rewards= (with weights=) or the keywords {sorted(given)}, not both"
            )
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

    def _keyword_form(self, given: dict[str, Any]) -> tuple[list[RewardFunction], list[float]]:
        kw: dict[str, Any] = {**COMPOSITE_DEFAULTS, "sortino_window": 50, "activity_bonus": 1.0,
                              "starting_balance": 10_000.0, **given}
        ws = []
        for name in COMPOSITE_DEFAULTS:
            try:
                w = float(kw[name])
            except (TypeError, ValueError):
                w = math.nan
            if not math.isfinite(w):
                raise ConfigError(f"{name}={kw[name]!r} must be a finite number")
            ws.append(w)
        if not math.isclose(sum(ws), 1.0, abs_tol=1e-6):
            parts = ", ".join(f"{n}={w}" for n, w in zip(COMPOSITE_DEFAULTS, ws, strict=True))
            raise ConfigError(f"the weights must sum to 1; got {sum(ws):.6f} ({parts})")
        window = kw["sortino_window"]
        if isinstance(window, bool) or not isinstance(window, int | np.integer) or window < 2:
            raise ConfigError(f"sortino_window={window!r} must be an integer >= 2")
        self._keywords = kw
        rewards: list[RewardFunction] = [
            SortinoReward(int(window)),
            NormalizedPnLReward(kw["starting_balance"]),
            ActivityReward(kw["activity_bonus"], int(window)),
            DrawdownReward(),
        ]
        return rewards, ws

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
        if self._keywords is not None:
            return dict(self._keywords)
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
    "NormalizedPnLReward": NormalizedPnLReward,
    "ActivityReward": ActivityReward,
    "DrawdownReward": DrawdownReward,
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
    if cls is CompositeReward and "rewards" in params:
        params = dict(params)
        params["rewards"] = [reward_from_config(c) for c in params.get("rewards", [])]
    try:
        reward: RewardFunction = cls(**params)
    except TypeError as e:
        raise ConfigError(f"params={params!r} do not fit reward {name!r}: {e}") from None
    return reward

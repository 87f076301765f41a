"""Action schemes: turn a batch of agent actions into signed market-order quantities.

Every scheme is batch-first: `orders` takes actions with the env index first and returns an
``(N, S)`` array of signed base quantities (buy > 0, sell < 0) that the engine fills at the next
bar (sells before buys). Sizes are computed from what the account knows at the decision: equity,
cash, holdings and the close of the current bar. Sells are capped at the holding, so no scheme can
send a "naked" sell; the engine clips buys to what the cash affords.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

import gymnasium as gym
import numpy as np

from tradeready_gym._jit import kernel
from tradeready_gym.actions._kernels import continuous_orders, discrete_orders
from tradeready_gym.components import Component
from tradeready_gym.errors import ConfigError, InvalidActionError

__all__ = [
    "ActionScheme",
    "ContinuousActions",
    "DiscreteActions",
    "PortfolioWeightActions",
    "SchemeParams",
    "TargetExposureActions",
]



class SchemeParams(NamedTuple):
    """What a compiled step reads of a single-asset scheme (`DiscreteActions.compiled_params`)."""

    asset: int
    trade_fraction: float
    dead_zone: float


class ActionScheme(Component):
    """Base class: an action space plus the rule that turns actions into orders.

    A custom scheme overrides `action_space` (the space of ONE env's action) and `orders`.
    """

    registered_name = "actions"

    @property
    def action_space(self) -> gym.Space[Any]:
        """The action space of one environment."""
        raise NotImplementedError

    def orders(self, actions: np.ndarray) -> np.ndarray:
        """``(N, S)`` float64 signed base quantities for the validated ``(N, ...)`` actions."""
        raise NotImplementedError

    def noop_action(self) -> Any:
        """An action of one env that places no order."""
        raise NotImplementedError

    def validate(self, actions: Any) -> np.ndarray:
        """Check a batch of actions (env index first); return them as an array.

        Raises:
            InvalidActionError: NaN, wrong shape, or outside a discrete space (finite Box values are
                clipped to the bounds).
        """
        return np.asarray(actions)

    def perform(self, actions: Any) -> np.ndarray:
        """Validate ``actions`` and return the ``(N, S)`` orders."""
        return self.orders(self.validate(actions))

    # shared by the built-in schemes ----------------------------------------------------------
    def _prices(self) -> np.ndarray:
        return np.asarray(self.state.engine.clock_close(), dtype=np.float64)

    def _equity(self) -> np.ndarray:
        return np.asarray(self.state.engine.equity, dtype=np.float64)


@kernel(nogil=True)
def _copy_in_range(actions: np.ndarray, n: int, out: np.ndarray) -> bool:
    """Copy ``actions`` into ``out`` while each is in ``0..n-1``; False at the first that is not."""
    for i in range(actions.shape[0]):
        a = actions[i]
        if a < 0 or a >= n:
            return False
        out[i] = a
    return True


def _validate_discrete(actions: Any, n: int, n_envs: int) -> np.ndarray:
    if type(actions) is np.ndarray and actions.dtype == np.int64 and actions.shape == (n_envs,):
        # the common case (int64 actions, one per env): checked and copied in one pass
        if n_envs == 1:
            if 0 <= actions[0] < n:
                return actions.copy()
        else:
            out = np.empty(n_envs, dtype=np.int64)
            if _copy_in_range(actions, n, out):
                return out
    arr = np.asarray(actions)
    if arr.shape == (n_envs, 1):
        arr = arr.reshape(n_envs)
    if arr.shape != (n_envs,):
        raise InvalidActionError(
            f"action={_short(actions)} has shape {arr.shape}; allowed: {n_envs} integer(s) in 0..{n - 1}"
        )
    if arr.dtype.kind == "f":
        if not np.isfinite(arr).all() or (arr != np.round(arr)).any():
            raise InvalidActionError(f"action={_short(actions)} is not an integer; allowed: integers 0..{n - 1}")
    elif arr.dtype.kind not in "iub":
        raise InvalidActionError(f"action={_short(actions)} (dtype {arr.dtype}) is not an integer; allowed: 0..{n - 1}")
    ints = arr.astype(np.int64)
    if ((ints < 0) | (ints >= n)).any():
        raise InvalidActionError(f"action={_short(actions)} is outside Discrete({n}); allowed: 0..{n - 1}")
    return ints


def _validate_box(actions: Any, space: gym.spaces.Box, n_envs: int) -> np.ndarray:
    try:
        arr = np.asarray(actions, dtype=np.float64)
    except (TypeError, ValueError):
        raise InvalidActionError(f"action={_short(actions)} is not numeric; allowed: {space}") from None
    shape = (n_envs, *space.shape)
    if arr.shape != shape:
        if arr.size == int(np.prod(shape)):
            arr = arr.reshape(shape)
        else:
            raise InvalidActionError(f"action={_short(actions)} has shape {arr.shape}; allowed: {space}")
    if not np.isfinite(arr).all():
        raise InvalidActionError(f"action={_short(actions)} contains NaN or infinity; allowed: {space}")
    # finite values outside the bounds are clipped to them, as the published package did (and as
    # Stable-Baselines3 does before an action reaches the env)
    return np.clip(arr, space.low, space.high)


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _check_levels(levels: Any) -> np.ndarray:
    try:
        lv = np.array(list(levels), dtype=np.float64)
    except (TypeError, ValueError):
        raise ConfigError(f"levels={levels!r} must be a non-empty list of numbers in [0, 1]") from None
    if lv.ndim != 1 or lv.size == 0 or not np.isfinite(lv).all() or (lv < 0).any() or (lv > 1).any():
        raise ConfigError(f"levels={list(levels)!r} must be a non-empty list of numbers in [0, 1]")
    lv.setflags(write=False)
    return lv


def _check_fraction(name: str, value: float, *, upper: float = 1.0) -> float:
    if isinstance(value, (bool, str, bytes)):
        raise ConfigError(f"{name}={value!r} is not a number; allowed: 0 < {name} <= {upper}")
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{name}={value!r} is not a number; allowed: 0 < {name} <= {upper}") from None
    if not (0.0 < v <= upper):
        raise ConfigError(f"{name}={value!r} is out of range; allowed: 0 < {name} <= {upper}")
    return v


class _SingleAssetScheme(ActionScheme):
    """A scheme trading one column; ``asset`` and ``trade_fraction`` may change between steps."""

    def __init__(self, asset: int = 0, trade_fraction: float = 0.1) -> None:
        self.asset = asset
        self.trade_fraction = trade_fraction

    @property
    def asset(self) -> int:
        """Column of the traded symbol."""
        return self._asset

    @asset.setter
    def asset(self, value: int) -> None:
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
            raise ConfigError(f"asset={value!r} must be a non-negative column index")
        if self._state is not None:
            self._check_asset(int(value), self._state)
        self._asset = int(value)
        self.settings_changed()

    @property
    def trade_fraction(self) -> float:
        """Fraction of current equity one full-size action trades."""
        return self._trade_fraction

    @trade_fraction.setter
    def trade_fraction(self, value: float) -> None:
        self._trade_fraction = _check_fraction("trade_fraction", value)
        self.settings_changed()

    @staticmethod
    def _check_asset(asset: int, state: Any) -> None:
        if asset >= state.n_symbols:
            raise ConfigError(
                f"asset={asset} is out of range for symbols {list(state.symbols)}; "
                f"allowed: 0..{state.n_symbols - 1}"
            )

    def bind(self, state: Any) -> None:
        self._check_asset(self._asset, state)
        super().bind(state)

    def compiled_params(self) -> SchemeParams:
        """What the compiled steps read: the traded column, the trade fraction and the dead zone."""
        return SchemeParams(self._asset, self._trade_fraction, float(getattr(self, "_dead_zone", 0.0)))


class DiscreteActions(_SingleAssetScheme):
    """``Discrete(3)``: 0 holds, 1 buys with ``trade_fraction`` of current equity, 2 closes the position.

    Buys stack (each one adds ``trade_fraction`` of equity) and are limited by the cash; closing sells
    the whole holding of the asset.

    Args:
        trade_fraction: fraction of current equity a buy spends (default 0.1).
        asset: column of the traded symbol (default 0).
    """

    HOLD, BUY, CLOSE = 0, 1, 2

    def __init__(self, trade_fraction: float = 0.1, *, asset: int = 0) -> None:
        super().__init__(asset, trade_fraction)
        self._space = gym.spaces.Discrete(3)

    @property
    def action_space(self) -> gym.spaces.Discrete:
        return self._space

    def validate(self, actions: Any) -> np.ndarray:
        return _validate_discrete(actions, 3, self.state.n_envs)

    def orders(self, actions: np.ndarray) -> np.ndarray:
        st = self.state
        eng = st.engine
        out = np.zeros((st.n_envs, st.n_symbols), dtype=np.float64)
        discrete_orders(
            actions, self.asset, self.trade_fraction, eng.t, st.feed.close, eng.equity, eng.cash, eng.qty, out
        )
        return out

    def noop_action(self) -> int:
        return self.HOLD


class ContinuousActions(_SingleAssetScheme):
    """``Box(-1, 1, (1,))``: a signed trade size.

    ``|a| < dead_zone`` holds; otherwise trade ``|a| * trade_fraction`` of current equity: buy for
    ``a > 0`` (limited by cash), sell for ``a < 0`` (capped at the holding).

    Args:
        trade_fraction: fraction of equity traded at ``|a| = 1`` (default 0.1).
        dead_zone: actions with ``|a|`` below this hold (default 0.05).
        asset: column of the traded symbol (default 0).
    """

    def __init__(self, trade_fraction: float = 0.1, *, dead_zone: float = 0.05, asset: int = 0) -> None:
        super().__init__(asset, trade_fraction)
        self.dead_zone = dead_zone
        self._space = gym.spaces.Box(-1.0, 1.0, (1,), dtype=np.float32)

    @property
    def dead_zone(self) -> float:
        """Actions with ``|a|`` below this hold."""
        return self._dead_zone

    @dead_zone.setter
    def dead_zone(self, value: float) -> None:
        try:
            v = float(value)
        except (TypeError, ValueError):
            v = -1.0
        if not (0.0 <= v < 1.0):
            raise ConfigError(f"dead_zone={value!r} is out of range; allowed: 0 <= dead_zone < 1")
        self._dead_zone = v
        self.settings_changed()

    @property
    def action_space(self) -> gym.spaces.Box:
        return self._space

    def validate(self, actions: Any) -> np.ndarray:
        return _validate_box(actions, self._space, self.state.n_envs)

    def orders(self, actions: np.ndarray) -> np.ndarray:
        st = self.state
        eng = st.engine
        out = np.zeros((st.n_envs, st.n_symbols), dtype=np.float64)
        continuous_orders(
            actions,
            self.asset,
            self.trade_fraction,
            self.dead_zone,
            eng.t,
            st.feed.close,
            eng.equity,
            eng.cash,
            eng.qty,
            out,
        )
        return out

    def noop_action(self) -> np.ndarray:
        return np.zeros(1, dtype=np.float32)


def _rebalance(target_value: np.ndarray, qty: np.ndarray, price: np.ndarray, band: np.ndarray) -> np.ndarray:
    """Orders moving holdings toward ``target_value`` where the gap exceeds ``band`` (N,) of equity."""
    current = qty * price
    gap = target_value - current
    trade = np.abs(gap) > band[:, None]
    orders = np.where(trade, gap / price, 0.0)
    # sells are capped at the holding (never naked); buys are clipped to cash by the engine
    return np.maximum(orders, -np.maximum(qty, 0.0))


class PortfolioWeightActions(ActionScheme):
    """``Box(0, 1, (N,))``: target weights of equity per asset, the rest in cash.

    Weights are clipped to ``[0, 1]`` and scaled down when their sum exceeds 1. An asset is
    rebalanced only where the gap between its target and current value exceeds ``band`` of equity;
    the engine executes the sells before the buys.

    Args:
        band: minimum gap, as a fraction of equity, that triggers a trade (default 0.01).
    """

    def __init__(self, band: float = 0.01) -> None:
        self.band = band
        self._space: gym.spaces.Box | None = None

    @property
    def band(self) -> float:
        """Minimum gap, as a fraction of equity, that triggers a trade (0 < band <= 1)."""
        return self._band

    @band.setter
    def band(self, value: float) -> None:
        self._band = _check_fraction("band", value)

    def bind(self, state: Any) -> None:
        super().bind(state)
        self._space = gym.spaces.Box(0.0, 1.0, (state.n_symbols,), dtype=np.float32)

    @property
    def action_space(self) -> gym.spaces.Box:
        if self._space is None:
            raise RuntimeError("PortfolioWeightActions needs an environment to know the number of assets")
        return self._space

    def validate(self, actions: Any) -> np.ndarray:
        return _validate_box(actions, self.action_space, self.state.n_envs)

    def target_weights(self, actions: np.ndarray) -> np.ndarray:
        """Clip to [0, 1] and scale each row down to a sum of at most 1."""
        w = np.clip(actions, 0.0, 1.0)
        total = w.sum(axis=1, keepdims=True)
        return np.where(total > 1.0, w / np.where(total > 0, total, 1.0), w)

    def orders(self, actions: np.ndarray) -> np.ndarray:
        eng = self.state.engine
        equity = self._equity()
        target = self.target_weights(actions) * np.maximum(equity, 0.0)[:, None]
        return _rebalance(target, np.asarray(eng.qty, dtype=np.float64), self._prices(), self.band * equity)

    def noop_action(self) -> np.ndarray:
        """The current weights of env 0 (every gap is within the band, so nothing trades)."""
        eng = self.state.engine
        equity = float(np.asarray(eng.equity)[0])
        value = np.asarray(eng.qty, dtype=np.float64)[0] * self._prices()[0]
        w = value / equity if equity > 0 else np.zeros_like(value)
        return np.clip(w, 0.0, 1.0).astype(np.float32)


class TargetExposureActions(ActionScheme):
    """``Discrete(len(levels) + 1)``: 0 holds; action ``k >= 1`` targets ``levels[k - 1]`` of equity invested.

    The invested part is spread over the assets by ``mix`` (equal by default). Like the portfolio
    scheme, an asset trades only where its gap exceeds ``band`` of equity.

    Args:
        levels: exposure levels in [0, 1], e.g. ``(0.0, 0.5, 1.0)``.
        band: minimum gap, as a fraction of equity, that triggers a trade (default 0.01).
        mix: optional weights of the assets inside the invested part (normalised to sum 1).
    """

    def __init__(
        self,
        levels: Sequence[float] = (0.0, 0.25, 0.5, 0.75, 1.0),
        *,
        band: float = 0.01,
        mix: Sequence[float] | None = None,
    ) -> None:
        self._levels = _check_levels(levels)
        self.band = band
        self._mix: np.ndarray | None = None
        self.mix = mix
        self._space = gym.spaces.Discrete(self._levels.size + 1)

    @property
    def levels(self) -> np.ndarray:
        """The exposure levels of actions ``1 ..`` (read-only: their number fixes the action space)."""
        return self._levels

    @levels.setter
    def levels(self, value: Sequence[float]) -> None:
        raise ConfigError(
            f"levels={value!r} cannot be set: the number of levels fixes the action space; allowed: build a new "
            "TargetExposureActions(levels)"
        )

    @property
    def band(self) -> float:
        """Minimum gap, as a fraction of equity, that triggers a trade (0 < band <= 1)."""
        return self._band

    @band.setter
    def band(self, value: float) -> None:
        self._band = _check_fraction("band", value)

    @property
    def mix(self) -> np.ndarray | None:
        """Weights of the assets inside the invested part (None: equal), one per symbol."""
        return self._mix

    @mix.setter
    def mix(self, value: Sequence[float] | None) -> None:
        if value is None:
            self._mix = None
            return
        try:
            m = np.array(list(value), dtype=np.float64)
        except (TypeError, ValueError):
            raise ConfigError(f"mix={value!r} must be non-negative weights with a positive sum") from None
        if m.ndim != 1 or (m < 0).any() or not np.isfinite(m).all() or m.sum() <= 0:
            raise ConfigError(f"mix={list(value)!r} must be non-negative weights with a positive sum")
        if self._state is not None:
            self._check_mix(m, self._state)
        m.setflags(write=False)
        self._mix = m

    @staticmethod
    def _check_mix(mix: np.ndarray, state: Any) -> None:
        if mix.size != state.n_symbols:
            raise ConfigError(
                f"mix has {mix.size} weights; allowed: one per symbol ({state.n_symbols}: {list(state.symbols)})"
            )

    def bind(self, state: Any) -> None:
        if self._mix is not None:
            self._check_mix(self._mix, state)
        super().bind(state)

    @property
    def action_space(self) -> gym.spaces.Discrete:
        return self._space

    def validate(self, actions: Any) -> np.ndarray:
        return _validate_discrete(actions, int(self._space.n), self.state.n_envs)

    def orders(self, actions: np.ndarray) -> np.ndarray:
        st = self.state
        s = st.n_symbols
        mix = np.full(s, 1.0 / s) if self.mix is None else self.mix / self.mix.sum()
        equity = self._equity()
        level = self.levels[np.maximum(actions - 1, 0)]
        target = (level * np.maximum(equity, 0.0))[:, None] * mix[None, :]
        out = _rebalance(target, np.asarray(st.engine.qty, dtype=np.float64), self._prices(), self.band * equity)
        out[actions == 0] = 0.0
        return out

    def noop_action(self) -> int:
        return 0

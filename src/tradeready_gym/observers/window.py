"""Observers: build the observation of every env in a batch from the precomputed feature matrix."""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import gymnasium as gym
import numpy as np

from tradeready_gym.components import BatchState, Component
from tradeready_gym.errors import ConfigError
from tradeready_gym.observers._kernels import SCALAR_CODES, observe_kernel, observe_kernel_parallel

__all__ = ["PARALLEL_MIN_ENVS", "SCALARS", "Observer", "ObserverParams", "WindowObserver"]

#: Batches of at least this many envs gather their observations on all cores.
PARALLEL_MIN_ENVS = 128

#: Account scalars an observer may append, name -> description.
SCALARS: dict[str, str] = {
    "balance": "cash / starting balance (1 value)",
    "position": "position value / equity, per asset (one value per symbol)",
    "unrealized_pnl": "unrealized PnL / equity (1 value)",
}


class ObserverParams(NamedTuple):
    """What a compiled step reads of a `WindowObserver` (`WindowObserver.compiled_params`)."""

    rows: np.ndarray
    lookback: int
    codes: np.ndarray


_READ_ONLY = frozenset({"features", "lookback", "scalars", "n_features", "warmup"})


class Observer(Component):
    """Base class: an observation space and `observe`, which fills ``(N, D)`` observations."""

    registered_name = "observer"

    @property
    def observation_space(self) -> gym.spaces.Box:
        """The observation space of one environment."""
        raise NotImplementedError

    @property
    def min_index(self) -> int:
        """The earliest bar index at which a full, warmed-up observation exists."""
        return 0

    def observe(self, out: np.ndarray | None = None) -> np.ndarray:
        """``(N, D)`` float32 observations at every env's clock (written into ``out`` when given)."""
        raise NotImplementedError


class WindowObserver(Observer):
    """The last ``lookback`` rows of the chosen features per asset, then the account scalars.

    The window ends at the env's clock ``t`` (the bar whose close the decision is made at) and is
    oldest first: rows ``t - lookback + 1 .. t`` of the ``(T, S, F)`` feature matrix, flattened as
    ``(lookback, S, F)``. It then appends the scalars in the order given: ``balance``
    (cash / starting balance), ``position`` (position value / equity, one per asset) and
    ``unrealized_pnl`` (/ equity). The size is ``lookback * S * F + 1 + S + 1`` with all three.

    Look-ahead is impossible by construction: the observer reads rows ``<= t`` of a matrix whose row
    ``t`` depends on bars ``<= t`` only. The first decision index is at least
    ``warmup_bars(features) + lookback - 1``, so an observation never holds padding or NaN.

    Args:
        features: feature names (see ``tradeready_gym.features.FEATURES``), default ``["ohlcv"]``.
        lookback: rows per observation, >= 1 (default 30).
        scalars: account scalars to append, from `SCALARS` (default all three).
    """

    def __init__(
        self,
        features: Sequence[str] = ("ohlcv",),
        lookback: int = 30,
        scalars: Sequence[str] = ("balance", "position", "unrealized_pnl"),
    ) -> None:
        from tradeready_gym.features import FEATURES, validate_feature_names, warmup_bars

        self._features = validate_feature_names(features, param="observation_features")
        if isinstance(lookback, bool) or not isinstance(lookback, (int, np.integer)) or lookback < 1:
            raise ConfigError(f"lookback_window={lookback!r} is not allowed; allowed: an integer >= 1")
        self._lookback = int(lookback)
        if isinstance(scalars, str):
            raise ConfigError(f"scalars={scalars!r} must be a list; allowed: {', '.join(SCALARS)}")
        for s in scalars:
            if s not in SCALARS:
                raise ConfigError(f"scalars holds unknown scalar {s!r}; allowed: {', '.join(SCALARS)}")
        self._scalars = tuple(scalars)
        self._n_features = sum(FEATURES[n] for n in self._features)
        self._warmup = int(warmup_bars(self._features))
        self._space: gym.spaces.Box | None = None
        self._rows: np.ndarray = np.zeros((0, 0), dtype=np.float32)
        self._codes = np.array([SCALAR_CODES[name] for name in self._scalars], dtype=np.int64)
        self._codes.setflags(write=False)

    # the settings fix the observation's size and the feature matrix the compiled code reads, so
    # they are read-only: a new lookback or feature list needs a new observer (and env)
    @property
    def features(self) -> tuple[str, ...]:
        """The feature names, in observation order (read-only)."""
        return self._features

    @property
    def lookback(self) -> int:
        """Rows per observation (read-only: it fixes the observation size)."""
        return self._lookback

    @property
    def scalars(self) -> tuple[str, ...]:
        """The account scalars appended after the window (read-only)."""
        return self._scalars

    @property
    def n_features(self) -> int:
        """Columns per asset and row (read-only)."""
        return self._n_features

    @property
    def warmup(self) -> int:
        """Bars the features need before their first finite value (read-only)."""
        return self._warmup

    def __setattr__(self, name: str, value: object) -> None:
        if name in _READ_ONLY:
            raise ConfigError(
                f"{name}={value!r} cannot be set: WindowObserver.{name} is fixed when the observer is made "
                "(it sets the observation size); allowed: build a new WindowObserver(features, lookback, scalars)"
            )
        super().__setattr__(name, value)

    def compiled_params(self) -> ObserverParams:
        """What the compiled steps read: the ``(T, S*F)`` feature rows, the lookback and the scalar codes."""
        return ObserverParams(self._rows, self._lookback, self._codes)

    def bind(self, state: BatchState) -> None:
        super().bind(state)
        matrix = state.feed.features(self.features)
        t, s, f = matrix.shape
        rows = matrix.reshape(t, s * f)  # zero-copy: one row per bar, assets then features
        if rows.dtype != np.float32 or not rows.flags.c_contiguous:
            rows = np.ascontiguousarray(rows, dtype=np.float32)
        self._rows = rows
        self._window_size = self.lookback * s * f
        self._scalar_size = sum(s if name == "position" else 1 for name in self.scalars)
        size = self._window_size + self._scalar_size
        self._space = gym.spaces.Box(-np.inf, np.inf, (size,), dtype=np.float32)
        tail = self._rows[self.min_index :]
        if tail.size and not np.isfinite(tail).all():
            bad = int(np.argwhere(~np.isfinite(tail))[0][0]) + self.min_index
            raise ConfigError(
                f"observation_features={list(self.features)} are not finite at bar {bad} "
                f"({state.feed.time_iso(bad)}) although warm-up ends at bar {self.warmup}"
            )

    @property
    def observation_space(self) -> gym.spaces.Box:
        if self._space is None:
            raise RuntimeError("WindowObserver needs an environment to know its observation size")
        return self._space

    @property
    def min_index(self) -> int:
        return self.warmup + self.lookback - 1

    @property
    def size(self) -> int:
        return int(self.observation_space.shape[0])

    def observe(self, out: np.ndarray | None = None, *, parallel: bool | None = None) -> np.ndarray:
        """``(N, D)`` float32 observations (into ``out`` when given).

        ``parallel`` splits the envs over threads (same values); None decides by the batch size.
        """
        st = self.state
        n = st.n_envs
        if out is None:
            out = np.empty((n, self.size), dtype=np.float32)
        elif type(out) is not np.ndarray or out.shape != (n, self.size) or out.dtype != np.float32:
            raise ConfigError(
                f"out has {type(out).__name__} shape {getattr(out, 'shape', None)} dtype "
                f"{getattr(out, 'dtype', None)}; allowed: a float32 numpy array of shape ({n}, {self.size})"
            )
        elif not out.flags.c_contiguous or not out.flags.writeable:
            if not out.flags.writeable:
                raise ConfigError("out is read-only; allowed: a writeable float32 array")
            # the kernel writes C-ordered rows; fill a fresh block, then copy it over
            out[...] = self.observe()
            return out
        eng = st.engine
        if parallel is None:
            parallel = n >= PARALLEL_MIN_ENVS
        (observe_kernel_parallel if parallel else observe_kernel)(
            self._rows,
            self._lookback,
            eng.t,
            eng.cash,
            eng.equity,
            eng.qty,
            st.feed.close,
            eng.unrealized_pnl,
            1.0 / st.starting_balance,
            self._codes,
            out,
        )
        return out

"""The shared state of a batch of environments and the base class of every component.

Components are batch-first: they read and write arrays whose first axis is the environment index.
`TradingEnv` is the batch of one; `TradeReadyVectorEnv` is the batch of N. Both hold one
`BatchState` and hand it to their components, so one implementation serves both.

This module sits below the components and the envs (it imports neither), so that the component
packages (actions, observers, stoppers, informers) and the envs import it without any layer importing
from above. ``tradeready_gym.envs.base`` re-exports both names.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from tradeready_gym._jit import inline, kernel

if TYPE_CHECKING:  # pragma: no cover
    from tradeready_gym.envs.feed import DataFeed

__all__ = ["BatchState", "Component", "total_steps_env"]


@inline
def total_steps_env(start, end, max_steps, i):  # type: ignore[no-untyped-def]
    """The number of steps env ``i``'s episode lasts at most: to its final bar ``end[i]``, or
    ``max_steps[i]`` when that is set (>= 0) and smaller. The one rule for the info's
    ``total_steps``, ``progress_pct`` and `BatchState.total_steps`."""
    total = end[i] - start[i]
    if max_steps[i] >= 0 and max_steps[i] < total:
        total = max_steps[i]
    return total


@kernel(nrt=False)
def _total_steps_kernel(start, end, max_steps, out):  # type: ignore[no-untyped-def]
    for i in range(out.shape[0]):
        out[i] = total_steps_env(start, end, max_steps, i)


@dataclass(eq=False)
class BatchState:
    """Everything a component may read about a batch of ``n_envs`` environments.

    Attributes:
        engine: the `tradeready_gym.engine.Engine` stepping every account (one per env).
        feed: the `DataFeed` (market arrays, feature matrices, episode range) shared by the batch.
        n_envs: number of environments in the batch.
        starting_balance: cash of every account at reset (quote currency).
        steps: ``(N,)`` int64, steps taken since each env's last reset.
        start: ``(N,)`` int64, bar index of each env's first decision.
        end: ``(N,)`` int64, bar index of each env's final decision clock (end of data).
        max_steps: ``(N,)`` int64, the episode length limit (``-1``: none).
        prev_equity: ``(N,)`` float64, equity before the last step.
        extra: free room for components that need to share per-batch values.
        on_settings_change: callables run when a component setting changes (see
            `Component.settings_changed`).
    """

    engine: Any
    feed: DataFeed
    n_envs: int
    starting_balance: float
    steps: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    start: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    end: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    max_steps: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    prev_equity: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.float64))
    extra: dict[str, Any] = field(default_factory=dict)
    on_settings_change: list[Callable[[], None]] = field(default_factory=list)

    def __post_init__(self) -> None:
        n = self.n_envs
        if self.steps.shape != (n,):
            self.steps = np.zeros(n, dtype=np.int64)
        if self.start.shape != (n,):
            self.start = np.zeros(n, dtype=np.int64)
        if self.end.shape != (n,):
            self.end = np.zeros(n, dtype=np.int64)
        if self.max_steps.shape != (n,):
            self.max_steps = np.full(n, -1, dtype=np.int64)
        if self.prev_equity.shape != (n,):
            self.prev_equity = np.full(n, float(self.starting_balance), dtype=np.float64)

    @property
    def symbols(self) -> tuple[str, ...]:
        """Symbols traded, in the column order of every ``(N, S)`` array."""
        return self.feed.symbols

    @property
    def n_symbols(self) -> int:
        return len(self.feed.symbols)

    def total_steps(self) -> np.ndarray:
        """``(N,)`` int64: the number of steps each current episode lasts at most (`total_steps_env`)."""
        out = np.empty(self.n_envs, dtype=np.int64)
        _total_steps_kernel(self.start, self.end, self.max_steps, out)
        return out


class Component:
    """Base class of every environment component (action scheme, observer, stopper, ...).

    A component is bound to one batch with `bind` (called once by the env) and reset with
    `reset_envs` (called with a boolean mask of the envs that start a new episode).
    Subclasses override what they need; both methods do nothing by default.
    """

    #: Name under which the component appears in ``env.components``.
    registered_name: str = "component"

    _state: BatchState | None = None

    def bind(self, state: BatchState) -> None:
        """Attach the component to a batch of environments (called once, before the first reset)."""
        self._state = state

    @property
    def state(self) -> BatchState:
        """The bound `BatchState`; `RuntimeError` if the component is not attached to an env yet."""
        if self._state is None:
            raise RuntimeError(f"{type(self).__name__} is not attached to an environment yet")
        return self._state

    def settings_changed(self) -> None:
        """Tell the bound batch that a setting of this component changed (call it from setters).

        Compiled steps keep copies of some settings; they copy them again after a change.
        """
        if self._state is not None:
            for listener in self._state.on_settings_change:
                listener()

    def reset_envs(self, mask: np.ndarray) -> None:
        """Start a new episode for the envs where ``mask`` is True (default: nothing to reset)."""

"""Stoppers: batch-first end-of-episode rules.

``terminated`` means the episode reached its natural end (the final candle); ``truncated`` means it
was cut short (equity below a floor, an episode-length limit). When both apply, an env is reported
as terminated only.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

from tradeready_gym._jit import inline, kernel
from tradeready_gym.components import BatchState, Component
from tradeready_gym.errors import ConfigError

__all__ = [
    "CompositeStopper",
    "EndOfDataStopper",
    "EpisodeLengthStopper",
    "EquityFloorStopper",
    "StandardStopper",
    "Stopper",
    "StopperParams",
    "default_stopper",
]


class StopperParams(NamedTuple):
    """What a compiled step reads of a `StandardStopper` (`StandardStopper.compiled_params`)."""

    floor_value: float
    max_steps: int


def _check_floor(floor: object) -> float:
    if isinstance(floor, (bool, str, bytes)):
        raise ConfigError(f"floor={floor!r} is not a number; allowed: 0 <= floor < 1")
    try:
        f = float(floor)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise ConfigError(f"floor={floor!r} is not a number; allowed: 0 <= floor < 1") from None
    if not (0.0 <= f < 1.0):
        raise ConfigError(f"floor={floor!r} is out of range; allowed: 0 <= floor < 1")
    return f


def _check_length(value: object, name: str = "episode_length") -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ConfigError(f"{name}={value!r} is not allowed; allowed: an integer >= 1 or None")
    return int(value)


class Stopper(Component):
    """Base class: `stop` returns ``(terminated, truncated)``, two ``(N,)`` bool arrays."""

    registered_name = "stopper"

    def stop(self) -> tuple[np.ndarray, np.ndarray]:
        """``(terminated, truncated)`` for every env of the batch after a step."""
        raise NotImplementedError


class EndOfDataStopper(Stopper):
    """Terminates an env whose clock reached its final candle (``state.end``)."""

    def stop(self) -> tuple[np.ndarray, np.ndarray]:
        st = self.state
        term = np.asarray(st.engine.t) >= st.end
        return term, np.zeros(st.n_envs, dtype=bool)


class EquityFloorStopper(Stopper):
    """Truncates an env whose equity fell to ``floor`` x starting balance or below (blown out).

    Args:
        floor: fraction of the starting balance, in [0, 1) (default 0.1; 0 never stops).
    """

    def __init__(self, floor: float = 0.1) -> None:
        self.floor = floor

    @property
    def floor(self) -> float:
        """Fraction of the starting balance at or below which an episode is truncated (0: never)."""
        return self._floor

    @floor.setter
    def floor(self, value: float) -> None:
        self._floor = _check_floor(value)

    def stop(self) -> tuple[np.ndarray, np.ndarray]:
        st = self.state
        if self.floor == 0.0:
            trunc = np.zeros(st.n_envs, dtype=bool)
        else:
            trunc = np.asarray(st.engine.equity) <= self.floor * st.starting_balance
        return np.zeros(st.n_envs, dtype=bool), trunc


class EpisodeLengthStopper(Stopper):
    """Truncates an env after ``max_steps`` steps (``state.max_steps`` is set from it).

    Args:
        max_steps: steps per episode, >= 1.
    """

    def __init__(self, max_steps: int) -> None:
        self.max_steps = max_steps

    @property
    def max_steps(self) -> int:
        """Steps per episode (>= 1)."""
        return self._max_steps

    @max_steps.setter
    def max_steps(self, value: int) -> None:
        self._max_steps = _check_length(value, "max_steps")
        if self._state is not None:
            self._state.max_steps[:] = self._max_steps

    def bind(self, state: BatchState) -> None:
        super().bind(state)
        state.max_steps[:] = self.max_steps

    def stop(self) -> tuple[np.ndarray, np.ndarray]:
        st = self.state
        return np.zeros(st.n_envs, dtype=bool), st.steps >= self.max_steps


class CompositeStopper(Stopper):
    """Combines stoppers: an env stops when any of them says so (terminated wins over truncated)."""

    def __init__(self, stoppers: Sequence[Stopper]) -> None:
        self.stoppers = stoppers

    @property
    def stoppers(self) -> tuple[Stopper, ...]:
        """The combined stoppers (a new sequence may be set; it is checked and bound)."""
        return self._stoppers

    @stoppers.setter
    def stoppers(self, value: Sequence[Stopper]) -> None:
        if isinstance(value, (str, bytes)) or not isinstance(value, (list, tuple)):
            raise ConfigError(f"stoppers={value!r} is not allowed; allowed: a list of Stopper instances")
        for s in value:
            if not isinstance(s, Stopper):
                raise ConfigError(f"stoppers holds {s!r}; allowed: Stopper instances")
        self._stoppers = tuple(value)
        if self._state is not None:
            for s in self._stoppers:
                s.bind(self._state)

    def bind(self, state: BatchState) -> None:
        super().bind(state)
        for s in self.stoppers:
            s.bind(state)

    def reset_envs(self, mask: np.ndarray) -> None:
        for s in self.stoppers:
            s.reset_envs(mask)

    def stop(self) -> tuple[np.ndarray, np.ndarray]:
        n = self.state.n_envs
        term = np.zeros(n, dtype=bool)
        trunc = np.zeros(n, dtype=bool)
        for s in self.stoppers:
            a, b = s.stop()
            term |= a
            trunc |= b
        return term, trunc & ~term


@inline
def _stop_env(t, end, equity, floor_value, steps, max_steps, term, trunc, i):  # type: ignore[no-untyped-def]
    """The standard rules for env ``i``: end of data terminates; equity floor / length truncate."""
    term[i] = t[i] >= end[i]
    cut = floor_value > 0.0 and equity[i] <= floor_value
    if max_steps > 0 and steps[i] >= max_steps:
        cut = True
    trunc[i] = cut and not term[i]


@kernel(nogil=True, nrt=False)
def _standard_stop(
    t: np.ndarray,
    end: np.ndarray,
    equity: np.ndarray,
    floor_value: float,
    steps: np.ndarray,
    max_steps: int,
    term: np.ndarray,
    trunc: np.ndarray,
) -> None:
    for i in range(t.shape[0]):
        _stop_env(t, end, equity, floor_value, steps, max_steps, term, trunc, i)


class StandardStopper(Stopper):
    """The default rules in one compiled pass: end of data (terminated), equity floor and optional
    episode length (truncated). Equivalent to ``CompositeStopper([EndOfDataStopper(),
    EquityFloorStopper(equity_floor), EpisodeLengthStopper(episode_length)])``.

    Args:
        equity_floor: fraction of the starting balance, in [0, 1) (0 never stops).
        episode_length: steps per episode, >= 1, or None.
    """

    def __init__(self, equity_floor: float = 0.1, episode_length: int | None = None) -> None:
        self.floor = equity_floor
        self.episode_length = episode_length

    @property
    def floor(self) -> float:
        """Fraction of the starting balance at or below which an episode is truncated (0: never)."""
        return self._floor

    @floor.setter
    def floor(self, value: float) -> None:
        self._floor = _check_floor(value)
        self.settings_changed()

    @property
    def episode_length(self) -> int | None:
        """Steps per episode (None: until the end of data or the equity floor)."""
        return self._episode_length

    @episode_length.setter
    def episode_length(self, value: int | None) -> None:
        self._episode_length = None if value is None else _check_length(value)
        if self._state is not None:
            self._state.max_steps[:] = -1 if self._episode_length is None else self._episode_length
        self.settings_changed()

    def bind(self, state: BatchState) -> None:
        super().bind(state)
        if self.episode_length is not None:
            state.max_steps[:] = self.episode_length

    def compiled_params(self) -> StopperParams:
        """What the compiled steps read: the equity floor in quote currency (0: none) and the
        episode length (-1: none)."""
        st = self.state
        return StopperParams(
            self._floor * st.starting_balance, -1 if self._episode_length is None else self._episode_length
        )

    def stop(self) -> tuple[np.ndarray, np.ndarray]:
        st = self.state
        term = np.empty(st.n_envs, dtype=np.bool_)
        trunc = np.empty(st.n_envs, dtype=np.bool_)
        floor_value, max_steps = self.compiled_params()
        _standard_stop(st.engine.t, st.end, st.engine.equity, floor_value, st.steps, max_steps, term, trunc)
        return term, trunc


def default_stopper(episode_length: int | None = None, equity_floor: float = 0.1) -> StandardStopper:
    """End of data (terminated), equity floor and optional episode length (truncated)."""
    return StandardStopper(equity_floor, episode_length)

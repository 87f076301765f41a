"""The classes the presets build (`ReplayableTradingEnv`, `ReplayableVectorEnv`): `TradingEnv` and
`TradeReadyVectorEnv` plus three preset options — ``copy.deepcopy`` / ``pickle`` (below),
``info_mode="lean"`` (`LEAN_INFO_KEYS`: numbers only) and ``ruin="terminated"`` (an episode ended
by the equity floor is reported as terminated, not truncated).

``copy.deepcopy`` and ``pickle``: rebuild from the recipe, then replay.

An env built by a preset (``gymnasium.make``, ``gymnasium.make_vec``, `make_historical_env`, the
published package's classes) remembers how it was built (its factory and keyword arguments) and,
since the last full reset, the random-generator state before that reset and every action. A copy is
a new env built from the same recipe on the *same candles* (the original's `MarketData`), reset
from the same generator state and stepped with the same actions: it is independent of the original
and continues exactly as the original would (same observations, rewards, infos and generator
state). Replay is fast (the env steps at hundreds of thousands of steps per second) and depends
on nothing but the public ``reset`` / ``step``.

What is not replayed: settings changed on the components after the env was built (e.g.
``env.unwrapped.action_scheme.trade_fraction = 0.3``) and the training tracker (a copy is never
tracked). An env assembled by hand from components (``TradingEnv(portfolio, feed, ...)``) has no
recipe: copying or pickling it raises `ConfigError` saying so, rather than silently sharing or
losing state. A vector env keeps at most `MAX_LOG_BYTES` of actions since its last full reset;
past that, copying raises `ConfigError` until the next full ``reset()``.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import gymnasium as gym
import numpy as np

from tradeready_gym.envs.trading_env import TradingEnv
from tradeready_gym.envs.vector_env import TradeReadyVectorEnv
from tradeready_gym.errors import ConfigError

__all__ = [
    "INFO_MODES",
    "LEAN_INFO_KEYS",
    "MAX_LOG_BYTES",
    "RUIN_MODES",
    "ReplayableTradingEnv",
    "ReplayableVectorEnv",
    "check_info_mode",
    "check_ruin",
    "refuse_copy",
]

#: ``ruin`` values: how an episode that ends at the equity floor is reported.
RUIN_MODES: tuple[str, ...] = ("truncated", "terminated")

#: ``info_mode`` values: ``"full"`` (every documented key) or ``"lean"`` (numbers only).
INFO_MODES: tuple[str, ...] = ("full", "lean")

#: The keys of a lean info (all numbers; a vector env gives ``(N,)`` arrays), plus ``n_fills``
#: (fills of the step) instead of the ``filled_orders`` list, and ``episode_metrics`` on the
#: terminal step when the env reports it.
LEAN_INFO_KEYS: tuple[str, ...] = (
    "equity",
    "available_cash",
    "position_value",
    "unrealized_pnl",
    "realized_pnl",
    "fees_paid",
    "step",
)

#: The largest amount of logged vector-env actions (bytes) kept for replay.
MAX_LOG_BYTES = 64 * 1024 * 1024


def _rng_state(rng: np.random.Generator) -> dict[str, Any]:
    return copy.deepcopy(dict(rng.bit_generator.state))


def _rng_from(state: dict[str, Any]) -> np.random.Generator:
    bit_generator = getattr(np.random, state["bit_generator"])()
    bit_generator.state = copy.deepcopy(state)
    return np.random.Generator(bit_generator)


def check_info_mode(info_mode: Any) -> str:
    """``info_mode`` if it is one of `INFO_MODES`; `ConfigError` otherwise."""
    if info_mode not in INFO_MODES:
        raise ConfigError(f"info_mode={info_mode!r} is not allowed; allowed: {', '.join(map(repr, INFO_MODES))}")
    return str(info_mode)


def check_ruin(ruin: Any) -> str:
    """``ruin`` if it is one of `RUIN_MODES`; `ConfigError` otherwise."""
    if ruin not in RUIN_MODES:
        raise ConfigError(f"ruin={ruin!r} is not allowed; allowed: {', '.join(map(repr, RUIN_MODES))}")
    return str(ruin)


def _floor_value(env: Any) -> float:
    floor = float(getattr(env.stopper, "floor", 0.0) or 0.0)
    return floor * float(env.portfolio.starting_balance)


def _lean(info: dict[str, Any]) -> dict[str, Any]:
    out = {k: info[k] for k in LEAN_INFO_KEYS}
    out["n_fills"] = len(info["filled_orders"])
    if "episode_metrics" in info:
        out["episode_metrics"] = info["episode_metrics"]
    return out


class _Recipe:
    """How an env was built: ``factory(*args, **kwargs)`` with ``data`` set to its candles."""

    __slots__ = ("args", "factory", "kwargs")

    def __init__(self, factory: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        self.factory = factory
        self.args = args
        self.kwargs = kwargs

    def build(self, market: Any) -> Any:
        kwargs = {**self.kwargs, "data": market, "track_training": False, "download": False}
        return self.factory(*self.args, **kwargs)


def refuse_copy(env: Any) -> Any:
    """The error for copying an env that has no recipe (assembled by hand from components)."""
    raise ConfigError(
        f"{type(env).__name__} assembled from components cannot be copied or pickled: it has no recipe to "
        "rebuild it from; build it with gymnasium.make / make_vec or a tradeready_gym preset, or build a "
        "new one from fresh components"
    )


def _restore_single(recipe: _Recipe, market: Any, log: tuple[Any, ...] | None, spec: Any = None) -> Any:
    env = recipe.build(market)
    env._tr_recipe = recipe
    env.spec = spec
    if log is not None:
        rng_state, options, actions = log
        env._np_random = _rng_from(rng_state)
        env.reset(options=options)
        for a in actions:
            env.step(a)
    return env


class ReplayableTradingEnv(TradingEnv):
    """A `TradingEnv` that can be deep-copied and pickled (see the module doc).

    The presets build this class; it behaves exactly like `TradingEnv`.
    """

    _tr_recipe: _Recipe | None = None
    _tr_reset: tuple[dict[str, Any], dict[str, Any] | None] | None = None

    def remember(self, factory: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        """Record how this env was built (called by the factory that built it)."""
        self._tr_recipe = _Recipe(factory, args, dict(kwargs))

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[np.ndarray, dict[str, Any]]:
        if seed is not None:
            # what reset(seed) does first, so the state recorded below is the one it draws from
            self._np_random, self._np_random_seed = gym.utils.seeding.np_random(seed)
        before = _rng_state(self.np_random)
        obs, info = super().reset(seed=None, options=options)
        self._tr_reset = (before, copy.deepcopy(options))
        self._journal = []  # `TradingEnv.step` appends every action stepped (no per-step work here)
        return obs, (_lean(info) if self.info_mode == "lean" else info)

    _info_mode = "full"
    _ruin = "truncated"

    def _set_post(self) -> None:
        # `TradingEnv.step` calls `_post_step` only when a step's result needs it
        needed = self._info_mode != "full" or self._ruin != "truncated"
        self._post = self._post_step if needed else None

    @property
    def info_mode(self) -> str:
        """``"full"`` (the documented info) or ``"lean"`` (numbers only, `LEAN_INFO_KEYS`)."""
        return self._info_mode

    @info_mode.setter
    def info_mode(self, value: str) -> None:
        self._info_mode = check_info_mode(value)
        self._set_post()

    @property
    def ruin(self) -> str:
        """How an episode ended by the equity floor is reported: ``"truncated"`` or ``"terminated"``."""
        return self._ruin

    @ruin.setter
    def ruin(self, value: str) -> None:
        self._ruin = check_ruin(value)
        self._set_post()

    def _post_step(self, out: tuple[np.ndarray, float, bool, bool, dict[str, Any]]) -> Any:
        if out[3] and self.ruin == "terminated" and out[4]["equity"] <= _floor_value(self):
            out = (out[0], out[1], True, False, out[4])  # ruin ends the MDP: terminated, not truncated
        if self.info_mode == "lean":
            return out[0], out[1], out[2], out[3], _lean(out[4])
        return out

    def _replay_log(self) -> tuple[Any, ...] | None:
        if self._tr_reset is None or self._journal is None:
            return None
        return (self._tr_reset[0], self._tr_reset[1], list(self._journal))

    def __reduce_ex__(self, protocol: Any) -> Any:
        if self._tr_recipe is None:
            return refuse_copy(self)
        return (_restore_single, (self._tr_recipe, self.feed.market, self._replay_log(), self.spec))

    def __deepcopy__(self, memo: dict[int, Any]) -> Any:
        if self._tr_recipe is None:
            return refuse_copy(self)
        log = self._replay_log()
        new = _restore_single(self._tr_recipe, self.feed.market, copy.deepcopy(log, memo), self.spec)
        if self.render_mode is not None and self.renderer is not None:
            new.renderer = copy.deepcopy(self.renderer, memo)
        return new


def _restore_vector(recipe: _Recipe, market: Any, log: list[tuple[Any, ...]] | None, spec: Any = None) -> Any:
    venv = recipe.build(market)
    venv._tr_recipe = recipe
    venv.spec = spec
    if log:
        for op in log:
            if op[0] == "reset":
                _, rng_states, main_state, options = op
                venv._rngs = [_rng_from(s) for s in rng_states]
                if main_state is not None:
                    venv._np_random = _rng_from(main_state)
                venv.reset(options=options)
            else:
                venv.step(op[1])
    return venv


class ReplayableVectorEnv(TradeReadyVectorEnv):
    """A `TradeReadyVectorEnv` that can be deep-copied and pickled (see the module doc)."""

    _tr_recipe: _Recipe | None = None
    _tr_log: list[tuple[Any, ...]] | None = None
    _tr_bytes = 0
    _tr_overflow = False

    def remember(self, factory: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        """Record how this env was built (called by the factory that built it)."""
        self._tr_recipe = _Recipe(factory, args, dict(kwargs))

    def reset(self, *, seed: Any = None, options: dict[str, Any] | None = None) -> tuple[np.ndarray, dict[str, Any]]:
        if seed is not None:
            self._seed(seed)  # exactly what reset(seed) does first
        full = not options or "reset_mask" not in options or bool(np.asarray(options["reset_mask"]).all())
        op = (
            "reset",
            [_rng_state(r) for r in self._rngs],
            None if self._np_random is None else _rng_state(self._np_random),
            copy.deepcopy(options),
        )
        out = super().reset(seed=None, options=options)
        if full:
            self._tr_log, self._tr_bytes, self._tr_overflow = [op], 0, False
        elif self._tr_log is not None:
            self._tr_log.append(op)
        return out

    ruin = "truncated"

    def step(self, actions: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, dict[str, Any]]:
        out = super().step(actions)
        if self.ruin == "terminated" and out[3].any():
            info = out[4]
            equity = info["final_info"]["equity"] if "final_info" in info else info["equity"]
            ruined = out[3] & (np.asarray(equity) <= _floor_value(self))
            if ruined.any():
                out = (out[0], out[1], out[2] | ruined, out[3] & ~ruined, info)
        log = self._tr_log
        if log is not None:
            a = np.array(actions, copy=True)
            self._tr_bytes += a.nbytes
            if self._tr_bytes > MAX_LOG_BYTES:
                self._tr_log, self._tr_overflow = None, True
            else:
                log.append(("step", a))
        return out

    info_mode = "full"

    def _infos(self, extra: list[dict[str, Any]] | None = None) -> dict[str, Any]:
        if self.info_mode != "lean":
            return super()._infos(extra)
        # numbers only, straight from the engine's per-account arrays (no per-env dicts, no strings)
        eng = self.broker
        steps = self._core.state.steps
        return {
            "equity": eng.equity.copy(),
            "available_cash": eng.cash.copy(),
            "position_value": eng.position_value.copy(),
            "unrealized_pnl": eng.unrealized_pnl.copy(),
            "realized_pnl": eng.realized_pnl.copy(),
            "fees_paid": eng.fees_paid.copy(),
            "step": steps.copy(),
            "n_fills": np.where(steps > 0, eng.step_fill_count, 0).astype(np.int64),
        }

    def _check_copyable(self) -> _Recipe:
        if self._tr_recipe is None:
            return refuse_copy(self)  # type: ignore[no-any-return]
        if self._tr_overflow:
            raise ConfigError(
                f"this vector env stepped past {MAX_LOG_BYTES // (1024 * 1024)} MiB of actions since its last full "
                "reset(); it can be copied or pickled again after the next full reset()"
            )
        return self._tr_recipe

    def __reduce_ex__(self, protocol: Any) -> Any:
        recipe = self._check_copyable()
        return (_restore_vector, (recipe, self.feed.market, self._tr_log, self.spec))

    def __deepcopy__(self, memo: dict[int, Any]) -> Any:
        recipe = self._check_copyable()
        return _restore_vector(recipe, self.feed.market, self._tr_log, self.spec)

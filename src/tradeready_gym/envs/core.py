"""`BatchCore`: one engine, one feed and one set of components stepping N environments.

`TradingEnv` (N = 1) and `TradeReadyVectorEnv` (N >= 1) are thin shells around this class, so the
single env is exactly the batch of one. The step order is the composable-env order:
apply the actions -> advance the engine one bar -> reward -> observation and info -> stopper.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from tradeready_gym.actions.schemes import ActionScheme
from tradeready_gym.components import BatchState
from tradeready_gym.envs._fused import AT_END, FusedStep
from tradeready_gym.envs.feed import DataFeed
from tradeready_gym.envs.portfolio import Portfolio
from tradeready_gym.errors import ConfigError, DataNotFoundError
from tradeready_gym.informers.informers import DefaultInformer, Informer
from tradeready_gym.informers.record import REC_I_FLAGS
from tradeready_gym.observers.window import Observer
from tradeready_gym.rewards.base import bind_reward
from tradeready_gym.stoppers.stoppers import StandardStopper, Stopper, default_stopper
from tradeready_gym.timeframes import format_iso

_F32 = np.dtype(np.float32)
_I64 = np.int64

__all__ = ["BatchCore", "CoreViews", "EpisodeHistory", "StepResult", "bind_reward"]


class EpisodeHistory:
    """What renderers and plotters draw: decision bars, equity after each step and the fills.

    Every step advances the clock by one bar, so the decision bars are the reset bar plus
    ``0, 1, 2, ...``. The equity curve lives beside the engine's state (the compiled step writes
    it); the history reads it through the step counter.
    """

    def __init__(self, curve: np.ndarray, steps: np.ndarray, start: np.ndarray) -> None:
        self._curve = curve
        self._steps = steps
        self._start = start
        #: Fills of the episode so far, as in ``info["filled_orders"]``.
        self.fills: list[dict[str, Any]] = []

    def reset(self, equity: float) -> None:
        """A new episode starts with ``equity``."""
        self._curve[0] = equity
        self.fills = []

    def record(self, equity: float, fills: list[dict[str, Any]]) -> None:
        """The step just taken ended with ``equity`` and made ``fills`` (steps not run by the compiled step)."""
        self._curve[self._steps[0]] = equity
        self.fills.extend(fills)

    def bars(self) -> np.ndarray:
        """``(n,)`` decision bars so far, reset bar first."""
        first = int(self._start[0])
        return np.arange(first, first + int(self._steps[0]) + 1, dtype=np.int64)

    def equity_curve(self) -> np.ndarray:
        """``(n,)`` equity at each decision bar so far (a copy)."""
        return self._curve[: int(self._steps[0]) + 1].copy()


class StepResult:
    """Arrays of one batch step (views into the core's buffers are never returned)."""

    __slots__ = ("infos", "obs", "reward", "terminated", "truncated")

    def __init__(
        self,
        obs: np.ndarray,
        reward: np.ndarray,
        terminated: np.ndarray,
        truncated: np.ndarray,
        infos: list[dict[str, Any]] | None,
    ) -> None:
        self.obs = obs
        self.reward = reward
        self.terminated = terminated
        self.truncated = truncated
        self.infos = infos


class BatchCore:
    """The engine plus components for ``n_envs`` accounts on one feed.

    Args:
        n_envs: number of accounts.
        portfolio: account settings (starting balance, costs).
        feed: the market data, its feature matrices and the episode range.
        action_scheme, reward_scheme, observer, stopper, informer: the components (bound here).
        random_start_pct: 0 starts every episode at the first possible decision bar; ``p`` in (0, 1]
            draws the start uniformly from the first ``p`` share of the possible starts.
        history: keep the episode's `EpisodeHistory` (the single env; it needs ``n_envs == 1``).

    `step` advances the batch; `step_one` is the single env's step (a batch of one with its info as
    Python values). When every component is a built-in with a compiled rule, both run the
    `FusedStep` (``self._fused``); otherwise (or with ``_fused`` set to None) the components run
    one after another.
    """

    def __init__(
        self,
        n_envs: int,
        portfolio: Portfolio,
        feed: DataFeed,
        action_scheme: ActionScheme,
        reward_scheme: Any,
        observer: Observer,
        *,
        stopper: Stopper | None = None,
        informer: Informer | None = None,
        random_start_pct: float = 0.0,
        history: bool = False,
    ) -> None:
        from tradeready_gym.engine import Engine

        if not isinstance(portfolio, Portfolio):
            raise ConfigError(f"portfolio must be a Portfolio; got {type(portfolio).__name__}")
        if not isinstance(feed, DataFeed):
            raise ConfigError(f"feed must be a DataFeed; got {type(feed).__name__}")
        if not isinstance(action_scheme, ActionScheme):
            raise ConfigError(f"action_scheme must be an ActionScheme; got {type(action_scheme).__name__}")
        if not isinstance(observer, Observer):
            raise ConfigError(f"observer must be an Observer; got {type(observer).__name__}")
        try:
            pct = float(random_start_pct)
        except (TypeError, ValueError):
            pct = -1.0
        if not (0.0 <= pct <= 1.0):
            raise ConfigError(f"random_start_pct={random_start_pct!r} is out of range; allowed: 0 <= random_start_pct <= 1")
        self.random_start_pct = pct
        self.n_envs = n = int(n_envs)
        if history and n != 1:
            raise ConfigError(f"history=True needs n_envs=1; got n_envs={n}")
        self.portfolio = portfolio
        self.feed = feed
        self.engine = Engine(feed.market, portfolio.config, n_accounts=n)
        self.action_scheme = action_scheme
        self.observer = observer
        self.stopper = stopper if stopper is not None else default_stopper()
        self.informer = informer if informer is not None else DefaultInformer()
        if not isinstance(self.stopper, Stopper):
            raise ConfigError(f"stopper must be a Stopper; got {type(self.stopper).__name__}")
        if not isinstance(self.informer, Informer):
            raise ConfigError(f"informer must be an Informer; got {type(self.informer).__name__}")
        #: The reward that runs: a private copy of the user's reward, bound to ``n_envs`` envs
        #: (`bind_reward`); ``reward_scheme`` of the env returns this object.
        self.reward = bind_reward(reward_scheme, n)
        self.reward_scheme = self.reward
        self.needs_info = bool(getattr(self.reward, "needs_info", True))
        self.state = BatchState(self.engine, feed, n, portfolio.starting_balance)
        for c in (observer, action_scheme, self.stopper, self.informer):
            c.bind(self.state)
        self._fused: FusedStep | None = None
        if FusedStep.covers(action_scheme, self.reward, observer, self.stopper, self.informer):
            self._fused = FusedStep(
                self.engine, action_scheme, observer, self.stopper, portfolio.starting_balance,
                record=history, n_curve=feed.market.n_bars + 1,
            )
            # the batch's per-env arrays are the fused step's (one copy, the same for both paths)
            lay = self._fused.layout
            for name in ("steps", "start", "end", "max_steps", "prev_equity"):
                getattr(lay, name)[:] = getattr(self.state, name)
                setattr(self.state, name, getattr(lay, name))
            curve = lay.curve[0] if history else None
        else:
            curve = np.zeros(feed.market.n_bars + 1, dtype=np.float64) if history else None
        self.first_index = max(feed.start_index, observer.min_index)
        if self.first_index >= feed.end_index:
            raise DataNotFoundError(
                f"the range {format_iso(int(feed.market.open_time[feed.start_index]))} .. "
                f"{format_iso(int(feed.market.open_time[feed.end_index]))} of {', '.join(feed.symbols)} "
                f"{feed.market.timeframe} has {feed.end_index - feed.start_index + 1} bars, but the observation "
                f"needs {observer.min_index} bars of history (feature warm-up + lookback - 1) before the first "
                "decision; choose a longer range or a shorter lookback_window"
            )
        self.state.end[:] = feed.end_index
        self.state.start[:] = self.first_index
        #: The single env's `EpisodeHistory` (None for a batch).
        self.history = None if curve is None else EpisodeHistory(curve, self.state.steps, self.state.start)
        self.obs_size = int(observer.observation_space.shape[0])
        # the standard stopper already terminates at the end of data (and masks truncation)
        self._stopper_ends_data = isinstance(self.stopper, StandardStopper)
        self.state.on_settings_change.append(self._settings_changed)
        self._obs_shape = (n, self.obs_size)
        self._single: Callable[[Any], tuple[np.ndarray, float, bool, bool, dict[str, Any]]] | None = None

    def _settings_changed(self) -> None:
        if self._fused is not None:
            self._fused.refresh()  # the compiled step reads its own copy of the settings

    @property
    def components(self) -> dict[str, Any]:
        return {
            "actions": self.action_scheme,
            "rewards": self.reward_scheme,
            "observer": self.observer,
            "stopper": self.stopper,
            "informer": self.informer,
        }

    # ------------------------------------------------------------------ episodes
    def draw_start(self, rng: np.random.Generator) -> int:
        """A first decision bar drawn with ``rng`` (the first possible bar when not random)."""
        first = self.first_index
        if self.random_start_pct <= 0.0:
            return first
        limit = int(self.state.max_steps[0])
        min_len = limit if limit > 0 else 1
        span = self.feed.end_index - min_len - first
        if span <= 0:
            return first
        hi = int(np.floor(self.random_start_pct * span))
        return first + int(rng.integers(0, hi + 1))

    def check_start(self, start: int, param: str = "start_index") -> int:
        """Validate an explicit first decision bar."""
        if isinstance(start, bool) or not isinstance(start, (int, np.integer)):
            raise ConfigError(f"{param}={start!r} must be an integer bar index")
        if not (self.first_index <= int(start) < self.feed.end_index):
            raise ConfigError(
                f"{param}={start!r} is out of range; allowed: {self.first_index} .. {self.feed.end_index - 1} "
                "(bars with a full warmed-up observation and at least one step left)"
            )
        return int(start)

    def reset_envs(self, mask: np.ndarray, starts: np.ndarray) -> None:
        """Start new episodes at ``starts`` for the envs where ``mask`` is True."""
        st = self.state
        self.engine.reset(starts, accounts=mask)
        st.steps[mask] = 0
        st.start[mask] = starts[mask]
        st.prev_equity[mask] = np.asarray(self.engine.equity)[mask]
        for c in (self.action_scheme, self.observer, self.stopper, self.informer):
            c.reset_envs(mask)
        self.reward.reset_envs(mask)
        if self.history is not None:
            self.history.reset(self.engine.equity.item(0))

    # ------------------------------------------------------------------ steps
    def observe(self) -> np.ndarray:
        """Fresh ``(N, D)`` float32 observations at every env's clock."""
        return self.observer.observe(np.empty((self.n_envs, self.obs_size), dtype=np.float32))

    def step(
        self, actions: Any, active: np.ndarray | None = None, *, with_infos: bool, fresh: bool = True
    ) -> StepResult:
        """Apply ``actions`` (env index first) and advance every active env by one bar.

        Inactive envs place no order, keep their clock and get reward 0. ``fresh`` is accepted for
        compatibility: the returned arrays are always new.
        """
        fused = self._fused
        if fused is not None:
            validated = self.action_scheme.validate(actions)
            obs = np.empty(self._obs_shape, dtype=np.float32)
            code = fused.step(validated, obs, active)
            if code:
                self._raise_step(code, active)
            lay = fused.layout
            flags = lay.rec_ints[:, REC_I_FLAGS : REC_I_FLAGS + 2]
            infos = [self.informer.info(i) for i in range(self.n_envs)] if with_infos else None
            return StepResult(obs, lay.reward.copy(), flags[:, 0] != 0, flags[:, 1] != 0, infos)
        return self._step_components(actions, active, with_infos)

    def step_one(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        """The single env's step: `step` of a batch of one, as ``(obs, reward, terminated,
        truncated, info)`` with Python scalars; the `history` gets the equity and the fills."""
        return self.single_step()(action)

    def single_step(self) -> Callable[[Any], tuple[np.ndarray, float, bool, bool, dict[str, Any]]]:
        """The function `step_one` calls (made at the first step; the single env calls it directly)."""
        single = self._single
        if single is None:
            single = self._single = self._prepare_single()
        return single

    def _prepare_single(self) -> Callable[[Any], tuple[np.ndarray, float, bool, bool, dict[str, Any]]]:
        """The function `step_one` calls, made at the first step with everything it needs bound
        (the compiled code for the arguments' types, the blocks, the informer's decoder), so that
        a step looks nothing up."""
        fused = self._fused
        history = self.history
        if fused is None or history is None or self.n_envs != 1:
            return self._step_one_components
        lay = fused.layout
        size = self.obs_size
        call, compiled = fused.single_entry(size)
        mkt, state, clock, f64, i64, rows = fused.args
        rec_f = lay.rec_floats[0]
        make_info = self.informer.info_builder(0)  # type: ignore[attr-defined]
        validate = self.action_scheme.validate
        raise_step = self._raise_step
        empty = np.empty
        discrete = fused.discrete
        acts, box = lay.actions, lay.box_actions

        def single(action: Any) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
            tp = type(action)
            if discrete:
                # a Python or numpy int in range is the validated action itself; anything else is checked
                if not ((tp is int or tp is _I64) and 0 <= action < 3):
                    action = validate(np.asarray(action)[None]).item(0)
                acts[0] = action
            else:
                box[:] = validate(np.asarray(action)[None])
            obs = empty(size, _F32)
            code, term, trunc, t, step, total, n_fills = call(obs, mkt, state, clock, f64, i64, rows)
            if code:
                raise_step(code)
            out = rec_f.tolist()
            info = make_info(out, t, step, total, n_fills)
            if n_fills:
                history.fills.extend(info["filled_orders"])
            return obs, out[0], term, trunc, info

        if compiled:
            return single

        def single_while_compiling(action: Any) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
            res = single(action)
            if fused.single_entry(size)[1]:
                self._single = None  # compiled meanwhile: the next step binds the compiled code
            return res

        return single_while_compiling

    def _step_one_components(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        res = self.step(np.asarray(action)[None], with_infos=True)
        assert res.infos is not None
        info = res.infos[0]
        if self.history is not None:
            self.history.record(info["equity"], info["filled_orders"])
        return res.obs[0], res.reward.item(0), bool(res.terminated.item(0)), bool(res.truncated.item(0)), info

    def _step_components(self, actions: Any, active: np.ndarray | None, with_infos: bool) -> StepResult:
        """`step` component by component: scheme, engine, reward, observer, stopper."""
        st = self.state
        eng = self.engine
        orders = self.action_scheme.perform(actions)
        if active is not None:
            orders[~active] = 0.0
        if (eng.t >= st.end).any():
            at_end = eng.t >= st.end
            if active is not None:
                at_end &= active
            if at_end.any():
                self._raise_at_end(at_end)
        prev = st.prev_equity.copy()
        eng.step(orders, active)
        if active is None:
            st.steps += 1
        else:
            st.steps[active] += 1
        curr = eng.equity.copy()
        st.prev_equity[:] = curr
        infos = None
        if with_infos or self.needs_info:
            infos = [self.informer.info(i) for i in range(self.n_envs)]
        reward = np.asarray(self.reward.compute_batch(prev, curr, infos if self.needs_info else None), dtype=np.float64)
        if active is not None:
            reward = np.where(active, reward, 0.0)
        obs = self.observe()
        term, trunc = self.stopper.stop()
        if not self._stopper_ends_data:
            term = term | (eng.t >= st.end)
            trunc = trunc & ~term
        if active is not None:
            term &= active
            trunc &= active
        return StepResult(obs, reward, term, trunc, infos)

    def _raise_at_end(self, at_end: np.ndarray) -> None:
        from gymnasium.error import ResetNeeded

        raise ResetNeeded(
            f"env(s) {np.flatnonzero(at_end).tolist()} reached the end of their data; call reset() before step()"
        )

    def _raise_step(self, code: int, active: np.ndarray | None = None) -> None:
        """Raise the error of a fused step's ``code`` (nothing changed): `AT_END` or the engine's."""
        eng = self.engine
        if code == AT_END:
            at_end = eng.t >= self.state.end
            if active is not None:
                at_end &= active
            self._raise_at_end(at_end)
        assert self._fused is not None
        eng._raise_step(int(code), self._fused.layout.orders)


class CoreViews:
    """The components and data of a `BatchCore`, as properties shared by the single and vector env."""

    _core: BatchCore

    @property
    def broker(self) -> Any:
        """The `tradeready_gym.engine.Engine` that fills the orders (one account per env)."""
        return self._core.engine

    @property
    def feed(self) -> DataFeed:
        """The `DataFeed`: market data, feature matrix and per-bar values."""
        return self._core.feed

    @property
    def portfolio(self) -> Portfolio:
        return self._core.portfolio

    @property
    def action_scheme(self) -> ActionScheme:
        return self._core.action_scheme

    @property
    def reward_scheme(self) -> Any:
        return self._core.reward_scheme

    @property
    def observer(self) -> Observer:
        return self._core.observer

    @property
    def stopper(self) -> Stopper:
        return self._core.stopper

    @property
    def informer(self) -> Informer:
        return self._core.informer

    @property
    def components(self) -> dict[str, Any]:
        """The components by name (a copy)."""
        return self._core.components

    @property
    def symbols(self) -> tuple[str, ...]:
        return self._core.feed.symbols

    def __reduce_ex__(self, protocol: Any) -> Any:
        # copy.deepcopy and pickle: preset envs rebuild and replay (tradeready_gym.envs._snapshot);
        # an env assembled from components has no recipe and says so instead of copying wrongly
        from tradeready_gym.envs._snapshot import refuse_copy

        return refuse_copy(self)

    def __deepcopy__(self, memo: dict[int, Any]) -> Any:
        from tradeready_gym.envs._snapshot import refuse_copy

        return refuse_copy(self)

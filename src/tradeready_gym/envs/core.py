"""`BatchCore`: one engine, one feed and one set of components stepping N environments.

`TradingEnv` (N = 1) and `TradeReadyVectorEnv` (N >= 1) are thin shells around this class, so the
single env is exactly the batch of one. The step order is the composable-env order:
apply the actions -> advance the engine one bar -> reward -> observation and info -> stopper.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any

import numpy as np

from tradeready_gym.actions.schemes import ActionScheme
from tradeready_gym.envs._fused import (
    AT_END,
    C_ASSET,
    C_DEAD_ZONE,
    C_FLOOR,
    C_FRACTION,
    C_INV_START,
    C_KIND,
    C_LOOKBACK,
    C_MAX_STEPS,
    C_PARALLEL,
    N_CFG,
    fused_step,
    fused_step_parallel,
)
from tradeready_gym.envs.base import BatchState
from tradeready_gym.envs.feed import DataFeed
from tradeready_gym.envs.portfolio import Portfolio
from tradeready_gym.errors import ConfigError, DataNotFoundError
from tradeready_gym.informers.informers import DefaultInformer, Informer
from tradeready_gym.observers.window import Observer
from tradeready_gym.stoppers.stoppers import StandardStopper, Stopper, default_stopper
from tradeready_gym.timeframes import format_iso

__all__ = ["BatchCore", "CoreViews", "StepResult", "bind_reward"]


class _ScalarRewardAdapter:
    """Runs an object that only has ``compute(prev, curr, info)`` (and maybe ``reset()``) per env."""

    needs_info = True

    def __init__(self, reward: Any, n_envs: int) -> None:
        self._copies = [copy.deepcopy(reward) for _ in range(n_envs)]
        self.reward = reward

    def reset_envs(self, mask: np.ndarray) -> None:
        for i in np.flatnonzero(mask):
            reset = getattr(self._copies[int(i)], "reset", None)
            if callable(reset):
                reset()

    def compute_batch(self, prev: np.ndarray, curr: np.ndarray, infos: Sequence[dict[str, Any]] | None) -> np.ndarray:
        out = np.empty(len(self._copies), dtype=np.float64)
        for i, c in enumerate(self._copies):
            out[i] = float(c.compute(float(prev[i]), float(curr[i]), {} if infos is None else infos[i]))
        if not np.isfinite(out).all():
            raise ConfigError(f"{type(self.reward).__name__}.compute returned a non-finite reward; rewards must be finite")
        return out


def bind_reward(reward: Any, n_envs: int) -> Any:
    """Bind a private copy of ``reward`` to ``n_envs`` envs; objects with only ``compute`` are adapted per env.

    The copy keeps one reward object passed to several envs (``make_vec_env(env_kwargs=...)``, a
    registered default) from sharing its rolling state between them.
    """
    if hasattr(reward, "compute_batch") and hasattr(reward, "bind"):
        reward = copy.deepcopy(reward)
        reward.bind(n_envs)
        return reward
    if callable(getattr(reward, "compute", None)):
        return _ScalarRewardAdapter(reward, n_envs)
    raise ConfigError(
        f"reward_function={reward!r} is not a reward; allowed: a tradeready_gym.rewards reward or an object "
        "with compute(prev_equity, curr_equity, info) -> float"
    )


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
        self.n_envs = int(n_envs)
        self.portfolio = portfolio
        self.feed = feed
        self.engine = Engine(feed.market, portfolio.config, n_accounts=self.n_envs)
        self.state = BatchState(self.engine, feed, self.n_envs, portfolio.starting_balance)
        self.action_scheme = action_scheme
        self.observer = observer
        self.stopper = stopper if stopper is not None else default_stopper()
        self.informer = informer if informer is not None else DefaultInformer()
        if not isinstance(self.stopper, Stopper):
            raise ConfigError(f"stopper must be a Stopper; got {type(self.stopper).__name__}")
        if not isinstance(self.informer, Informer):
            raise ConfigError(f"informer must be an Informer; got {type(self.informer).__name__}")
        for c in (observer, action_scheme, self.stopper, self.informer):
            c.bind(self.state)
        self.reward_scheme = reward_scheme
        self.reward = bind_reward(reward_scheme, self.n_envs)
        self.needs_info = bool(getattr(self.reward, "needs_info", True))
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
        self.obs_size = int(observer.observation_space.shape[0])
        # the standard stopper already terminates at the end of data (and masks truncation)
        self._stopper_ends_data = isinstance(self.stopper, StandardStopper)
        self._fused = self._fused_settings()
        self._fused_key: tuple[Any, ...] | None = None
        self._fused_discrete = self._fused is not None and self._fused[C_KIND] == 0.0
        self._fused_parallel = self._fused is not None and self._fused[C_PARALLEL] != 0.0
        self._obs_shape = (self.n_envs, self.obs_size)
        self._oq = np.zeros((self.n_envs, self.feed.market.n_symbols), dtype=np.float64)
        self._no_int_actions = np.zeros(self.n_envs, dtype=np.int64)
        self._no_box_actions = np.zeros((self.n_envs, 1), dtype=np.float64)
        self._one_action = np.zeros(1, dtype=np.int64)
        self._one_args: list[Any] | None = None
        self._reward_buf = np.zeros(self.n_envs, dtype=np.float64)
        self._term_buf = np.zeros(self.n_envs, dtype=np.bool_)
        self._trunc_buf = np.zeros(self.n_envs, dtype=np.bool_)

    def _fused_settings(self) -> np.ndarray | None:
        """The settings vector of `fused_step` when every component is a built-in it covers, else None.

        Exact types only: a subclass may change any rule, so it takes the component-by-component path.
        """
        from tradeready_gym.actions.schemes import ContinuousActions, DiscreteActions
        from tradeready_gym.engine import _kernel as K
        from tradeready_gym.observers.window import WindowObserver
        from tradeready_gym.rewards.builtin import PnLReward

        if not (
            type(self.action_scheme) in (DiscreteActions, ContinuousActions)
            and type(self.reward) is PnLReward
            and type(self.observer) is WindowObserver
            and type(self.stopper) is StandardStopper
            and type(self.informer) is DefaultInformer
        ):
            return None
        cfg = np.zeros(N_CFG, dtype=np.float64)
        cfg[C_KIND] = 0.0 if type(self.action_scheme) is DiscreteActions else 1.0
        cfg[C_LOOKBACK] = self.observer.lookback
        cfg[C_INV_START] = 1.0 / self.state.starting_balance
        cfg[C_FLOOR] = self.stopper._floor_value
        cfg[C_PARALLEL] = 1.0 if self.n_envs >= K.PARALLEL_MIN_ACCOUNTS else 0.0
        return cfg

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

    # ------------------------------------------------------------------ steps
    def observe(self) -> np.ndarray:
        """Fresh ``(N, D)`` float32 observations at every env's clock."""
        return self.observer.observe(np.empty((self.n_envs, self.obs_size), dtype=np.float32))

    def step(
        self, actions: Any, active: np.ndarray | None = None, *, with_infos: bool, fresh: bool = True
    ) -> StepResult:
        """Apply ``actions`` (env index first) and advance every active env by one bar.

        Inactive envs place no order, keep their clock and get reward 0. With ``fresh`` False the
        reward / terminated / truncated arrays are internal buffers, valid until the next step.
        """
        if self._fused is not None:
            return self._step_fused(actions, active, with_infos, fresh)
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

    def step_one(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        """`step` of a batch of one with its info: ``(obs, reward, terminated, truncated, info)``.

        The single env's step: Python scalars and the observation row, without the batch result.
        """
        if self._fused is None or self.n_envs != 1:
            res = self.step(np.asarray(action)[None], with_infos=True, fresh=False)
            assert res.infos is not None
            return res.obs[0], res.reward.item(0), res.terminated.item(0), res.truncated.item(0), res.infos[0]
        cfg = self._fused
        scheme: Any = self.action_scheme
        tp = type(action)
        if self._fused_discrete:
            # a Python or numpy int in range is the validated action itself; anything else is checked
            if (tp is int or tp is np.int64) and 0 <= action < 3:
                acts_i = self._one_action
                acts_i[0] = action
            else:
                acts_i = scheme.validate(np.asarray(action)[None])
            acts_f = self._no_box_actions
        else:
            acts_i, acts_f = self._no_int_actions, scheme.validate(np.asarray(action)[None])
        # settings a user may change between steps are read every step, as the components do
        stopper: Any = self.stopper
        key = (scheme.asset, scheme.trade_fraction, getattr(scheme, "dead_zone", 0.0), stopper.episode_length)
        if key != self._fused_key:
            self._fused_key = key
            cfg[C_ASSET], cfg[C_FRACTION], cfg[C_DEAD_ZONE] = key[:3]
            cfg[C_MAX_STEPS] = -1 if key[3] is None else key[3]
        args = self._one_args
        if args is None:
            args = self._one_args = self._fused_args()
        args[1] = acts_i
        args[2] = acts_f
        obs = args[15] = np.empty(self._obs_shape, dtype=np.float32)
        code = fused_step(*args)
        if code:
            eng = self.engine
            if code == AT_END:
                self._raise_at_end(eng.t >= self.state.end)
            eng._raise_step(int(code), self._oq)
        return (
            obs[0], self._reward_buf.item(0), self._term_buf.item(0), self._trunc_buf.item(0), self.informer.info(0)
        )

    def _fused_args(self) -> list[Any]:
        """The arguments of `fused_step` for a whole-batch step (slots 1, 2 and 15 are set per step).

        Every array here is allocated once, when the core and its components are built and bound.
        """
        st = self.state
        eng = self.engine
        observer: Any = self.observer
        return [
            self._fused,
            self._no_int_actions,
            self._no_box_actions,
            eng._mkt,
            eng._state,
            eng._clock,
            self.feed.close,
            self._oq,
            eng._all,
            False,
            st.steps,
            st.prev_equity,
            st.end,
            observer._rows,
            observer._codes,
            None,
            self._reward_buf,
            self._term_buf,
            self._trunc_buf,
        ]

    def _step_fused(self, actions: Any, active: np.ndarray | None, with_infos: bool, fresh: bool) -> StepResult:
        """`step` of the standard components in one compiled call (`tradeready_gym.envs._fused`)."""
        cfg = self._fused
        assert cfg is not None
        st = self.state
        eng = self.engine
        scheme: Any = self.action_scheme
        validated = scheme.validate(actions)
        # settings a user may change between steps are read every step, as the components do
        stopper: Any = self.stopper
        key = (scheme.asset, scheme.trade_fraction, getattr(scheme, "dead_zone", 0.0), stopper.episode_length)
        if key != self._fused_key:
            self._fused_key = key
            cfg[C_ASSET], cfg[C_FRACTION], cfg[C_DEAD_ZONE] = key[:3]
            cfg[C_MAX_STEPS] = -1 if key[3] is None else key[3]
        if self._fused_discrete:
            acts_i, acts_f = validated, self._no_box_actions
        else:
            acts_i, acts_f = self._no_int_actions, validated
        n = self.n_envs
        obs = np.empty(self._obs_shape, dtype=np.float32)
        if fresh:
            reward = np.empty(n, dtype=np.float64)
            term = np.empty(n, dtype=np.bool_)
            trunc = np.empty(n, dtype=np.bool_)
        else:
            reward, term, trunc = self._reward_buf, self._term_buf, self._trunc_buf
        observer: Any = self.observer
        act = eng._all if active is None else active
        masked = active is not None
        if not self._fused_parallel:
            code = fused_step(
                cfg,
                acts_i,
                acts_f,
                eng._mkt,
                eng._state,
                eng._clock,
                self.feed.close,
                self._oq,
                act,
                masked,
                st.steps,
                st.prev_equity,
                st.end,
                observer._rows,
                observer._codes,
                obs,
                reward,
                term,
                trunc,
            )
        else:
            code = fused_step_parallel(
                cfg,
                acts_i,
                acts_f,
                eng._mkt,
                eng._state,
                eng._clock,
                self.feed.close,
                self._oq,
                act,
                masked,
                st.steps,
                st.prev_equity,
                st.end,
                observer._rows,
                observer._codes,
                obs,
                reward,
                term,
                trunc,
            )
        if code:
            if code == AT_END:
                at_end = eng.t >= st.end
                if active is not None:
                    at_end &= active
                self._raise_at_end(at_end)
            eng._raise_step(int(code), self._oq)
        infos = [self.informer.info(i) for i in range(n)] if with_infos else None
        return StepResult(obs, reward, term, trunc, infos)


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

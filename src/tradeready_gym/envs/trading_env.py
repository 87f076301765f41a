"""`TradingEnv`: the composable Gymnasium trading environment (one account)."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any, NamedTuple

import gymnasium as gym
import numpy as np

from tradeready_gym.actions.schemes import ActionScheme
from tradeready_gym.envs._episode_end import install_reward_sums, single_episode_metrics
from tradeready_gym.envs.core import BatchCore, CoreViews, EpisodeHistory
from tradeready_gym.envs.feed import DataFeed
from tradeready_gym.envs.portfolio import Portfolio
from tradeready_gym.errors import ConfigError
from tradeready_gym.informers.informers import Informer
from tradeready_gym.observers.window import Observer
from tradeready_gym.renderers.renderers import RENDER_MODES, Plotter, Renderer, default_renderer
from tradeready_gym.stoppers.stoppers import Stopper
from tradeready_gym.timeframes import format_iso
from tradeready_gym.validation import check_time, fail

__all__ = ["Clock", "EpisodeHistory", "ObsState", "TradingEnv", "journal_copy"]

#: Action types that cannot change after the step: a journal keeps the object itself.
_IMMUTABLE: frozenset[type] = frozenset(
    {int, float, bool, np.int64, np.int32, np.int16, np.int8, np.uint64, np.uint32, np.uint16, np.uint8,
     np.float64, np.float32, np.bool_}
)


def journal_copy(action: Any) -> Any:
    """What an action journal keeps of ``action``: the object itself when it is an immutable number,
    else a private copy (so that the caller reusing its array changes nothing recorded)."""
    tp = type(action)
    if tp in _IMMUTABLE:
        return action
    return action.copy() if tp is np.ndarray else copy.deepcopy(action)


class ObsState(NamedTuple):
    """The result of the last `reset` or `step`."""

    observation: np.ndarray
    reward: float
    terminated: bool
    truncated: bool
    info: dict[str, Any]


class Clock:
    """The env's virtual clock: the bar index of the decision and its time (the bar's close)."""

    def __init__(self, core: BatchCore) -> None:
        self._core = core

    @property
    def index(self) -> int:
        """Bar index of the current decision (the agent sees bars ``0..index``)."""
        return int(self._core.engine.t[0])

    @property
    def step(self) -> int:
        """Steps taken since the last reset."""
        return int(self._core.state.steps[0])

    @property
    def time_ns(self) -> int:
        """Decision time in ns UTC: the close time of bar `index`."""
        m = self._core.feed.market
        return int(m.open_time[self.index]) + m.interval_ns

    @property
    def time(self) -> str:
        """Decision time as ISO 8601 ('Z')."""
        return self._core.feed.time_iso(self.index)

    def __repr__(self) -> str:
        return f"Clock(step={self.step}, index={self.index}, time={self.time!r})"


class TradingEnv(CoreViews, gym.Env[np.ndarray, Any]):
    """A trading environment built from small components (TensorTrade-NG's composable design).

    ``step(action)`` runs: the action scheme turns the action into orders -> the engine fills them
    and advances one bar (the feed moves on) -> the reward scheme scores the equity change -> the
    observer and informer build the observation and info -> the stopper decides whether the
    episode ends. Every component resets with the env.

    Args:
        portfolio: account settings (starting balance, fee rate, slippage); a live view once running.
        feed: the `DataFeed` (candles, features, episode range).
        action_scheme: turns actions into orders, e.g. `DiscreteActions`.
        reward_scheme: a reward from `tradeready_gym.rewards`, or any object with
            ``compute(prev_equity, curr_equity, info) -> float``.
        observer: builds observations, e.g. `WindowObserver`.
        stopper: ends episodes (default: end of data, equity floor at 10% of the starting balance).
        informer: fills ``info`` (default `DefaultInformer`).
        renderer: draws frames for `render` (default: chosen by ``render_mode``).
        render_mode: ``"human"``, ``"ansi"``, ``"rgb_array"`` or None.
        plotter: draws the episode for `plot` (default `TradingChartPlotter`).
        random_start_pct: 0 starts at the first possible bar; ``p`` in (0, 1] draws the start (with
            the env's seeded generator) from the first ``p`` share of possible starts.

    Example:
        >>> env = TradingEnv(Portfolio(10_000), DataFeed(market), DiscreteActions(), PnLReward(),
        ...                  WindowObserver(["ohlcv"], lookback=30))  # doctest: +SKIP
        >>> obs, info = env.reset(seed=0)  # doctest: +SKIP
    """

    metadata: dict[str, Any] = {"render_modes": list(RENDER_MODES), "render_fps": 4}  # noqa: RUF012

    def __init__(
        self,
        portfolio: Portfolio,
        feed: DataFeed,
        action_scheme: ActionScheme,
        reward_scheme: Any,
        observer: Observer,
        *,
        stopper: Stopper | None = None,
        informer: Informer | None = None,
        renderer: Renderer | None = None,
        render_mode: str | None = None,
        plotter: Plotter | None = None,
        random_start_pct: float = 0.0,
    ) -> None:
        if render_mode is not None and render_mode not in RENDER_MODES:
            raise ConfigError(f"render_mode={render_mode!r} is not supported; allowed: {', '.join(RENDER_MODES)} or None")
        self._core = BatchCore(
            1,
            portfolio,
            feed,
            action_scheme,
            reward_scheme,
            observer,
            stopper=stopper,
            informer=informer,
            random_start_pct=random_start_pct,
            history=True,
        )
        portfolio.attach(self._core.engine, feed.symbols)
        self.render_mode = render_mode
        self.renderer = renderer if renderer is not None else default_renderer(render_mode)
        self.plotter = plotter
        self.action_space = action_scheme.action_space
        self.observation_space = observer.observation_space
        history = self._core.history
        assert history is not None
        #: The episode so far (decision bars, equity curve, fills), for renderers and plotters.
        self.history: EpisodeHistory = history
        #: The keyword arguments a preset was built with (tracking settings included); {} otherwise.
        self.settings: dict[str, Any] = {}
        #: The attached `tradeready_gym.tracking.TrainingTracker` (None: not tracked).
        self._tracking: Any = None
        install_reward_sums(self._core)
        self._clock = Clock(self._core)
        self._last: tuple[np.ndarray, float, bool, bool, dict[str, Any]] | None = None
        self._needs_reset = True
        self._all = np.ones(1, dtype=bool)
        #: When a list: every action stepped is appended to it (`journal_copy`), after the step
        #: succeeded. Set by the subclass that replays its journal for copy/pickle; None: no journal.
        self._journal: list[Any] | None = None
        #: When set: applied to every step's result before it is returned (the presets' options).
        self._post: Callable[[Any], Any] | None = None

    # ------------------------------------------------------------------ properties
    @property
    def clock(self) -> Clock:
        return self._clock

    @property
    def components(self) -> dict[str, Any]:
        """The components by name (read-only copy)."""
        comps = self._core.components
        comps["renderer"] = self.renderer
        comps["plotter"] = self.plotter
        return comps

    @property
    def last_state(self) -> ObsState:
        """Observation, reward, terminated, truncated and info of the last reset or step."""
        if self._last is None:
            raise gym.error.ResetNeeded("call reset() before reading last_state")
        return ObsState(*self._last)

    @property
    def last_info(self) -> dict[str, Any]:
        return self.last_state.info

    def price_history(self, n: int) -> np.ndarray:
        """``(n, S)`` closes of the last ``n`` bars up to and including the clock, oldest first.

        Fewer rows are returned only when fewer than ``n`` bars exist before the clock.
        """
        return self._core.feed.price_history(int(self._core.engine.t[0]), n)

    def metrics(self) -> Any:
        """`EpisodeMetrics` of the episode so far (ROI, Sharpe, Sortino, drawdown, trades, ...)."""
        return self._core.engine.metrics(0)

    # ------------------------------------------------------------------ gymnasium API
    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[np.ndarray, dict[str, Any]]:
        """Start a new episode; ``seed`` makes the start (with ``random_start_pct``) reproducible.

        Options:
            ``start_index`` (int bar) or ``start_time`` (ISO 8601) pick the first decision explicitly.
        """
        super().reset(seed=seed)
        core = self._core
        start = self._start_from_options(options)
        if start is None:
            start = core.draw_start(self.np_random)
        core.reset_envs(self._all, np.array([start], dtype=np.int64))
        obs = core.observe()[0]
        info = core.informer.info(0)
        if self.renderer is not None:
            self.renderer.reset()
        self._last = (obs, 0.0, False, False, info)
        self._needs_reset = False
        if self._tracking is not None:
            self._tracking.on_reset(self)
        return obs, info

    def _start_from_options(self, options: dict[str, Any] | None) -> int | None:
        if not options:
            return None
        unknown = set(options) - {"start_index", "start_time"}
        if unknown:
            raise ConfigError(f"options has unknown keys {sorted(unknown)}; allowed: start_index, start_time")
        if "start_index" in options:
            return self._core.check_start(options["start_index"])
        if "start_time" in options:
            # errors show the time the user gave and the allowed times, not bar indices
            given = options["start_time"]
            core = self._core
            idx = core.feed.market.index_of(check_time(given, "options['start_time']", allow_int=False))
            if not core.first_index <= idx < core.feed.end_index:
                ot = core.feed.market.open_time
                fail(
                    "options['start_time']",
                    given,
                    f"a time from {format_iso(int(ot[core.first_index]))} to "
                    f"{format_iso(int(ot[core.feed.end_index - 1]))} (a bar with a full warmed-up observation "
                    "and at least one step left)",
                )
            return int(idx)
        return None

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        """Apply ``action`` and advance one bar; returns ``(obs, reward, terminated, truncated, info)``."""
        if self._needs_reset:
            raise gym.error.ResetNeeded("call reset() before step(), and again after an episode ends")
        last = (self._core._single or self._core.single_step())(action)
        self._last = last
        journal = self._journal
        if journal is not None:
            journal.append(action if type(action) in _IMMUTABLE else journal_copy(action))
        if last[2] or last[3]:
            self._needs_reset = True
            self._episode_end(last)
        if self.render_mode == "human":
            self.render()
        post = self._post
        if post is not None:
            return post(last)  # type: ignore[no-any-return]
        return last

    def _episode_end(self, last: tuple[np.ndarray, float, bool, bool, dict[str, Any]]) -> None:
        """The terminal step: the finished episode's metrics into its info, and to the tracker."""
        metrics = single_episode_metrics(self._core)
        last[4]["episode_metrics"] = metrics
        if self._tracking is not None:
            self._tracking.on_single_episode(self, metrics, last[2], last[3])

    def render(self) -> Any:
        """A frame for ``render_mode``: text line (``ansi``), image array (``rgb_array``), or None."""
        if self.render_mode is None or self.renderer is None:
            return None
        if self._last is None:
            raise gym.error.ResetNeeded("call reset() before render()")
        return self.renderer.render(self, self.render_mode)

    def plot(self, path: Any = None, **kwargs: Any) -> Any:
        """Draw the episode so far (price with trades, equity vs buy-and-hold, drawdown); a Figure.

        ``path`` (positional or keyword) also saves the figure to that file.
        """
        if self.plotter is None:
            from tradeready_gym.renderers.renderers import TradingChartPlotter

            self.plotter = TradingChartPlotter()
        return self.plotter.plot(self, path=path, **kwargs)

    def close(self) -> None:
        if self._tracking is not None:
            self._tracking.close()
        if self.renderer is not None:
            self.renderer.close()
        super().close()

    def __repr__(self) -> str:
        return f"<TradingEnv {list(self.symbols)} {self.feed.market.timeframe}>"

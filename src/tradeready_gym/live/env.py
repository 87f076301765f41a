"""`LiveTradingEnv` (``TradeReady-Live-v0``): the backtest env's components and engine on a live feed.

The env is the library's `TradingEnv` over a `MarketData` that grows by one final candle per step:

* ``reset()`` backfills the history the observation needs (REST), or resumes the stored paper
  account, and returns the observation at the latest final candle;
* ``step(action)`` blocks until the next candle is final (`LiveFeed`), then steps the same engine
  code as the backtest: the action's orders fill at the next candle's open (``fill="next_open"``),
  equity is marked at its close;
* the paper account is written to SQLite (`PaperStore`) after every candle.

**One engine, built once.** The historical env (`make_historical_env` / `make_portfolio_env`) is
built over a `MarketData` with spare capacity: the candles known so far, then flat placeholder rows
(the newest close repeated, volume 0) up to ``capacity`` rows. It is reset at the session's first
decision candle and the recorded actions are replayed once. A new final candle is then written in
place into row ``t + 1`` of the env's buffers (the market arrays are read-only views of them), of
the engine's market block and of the feature matrices (`DataFeed.update_rows`: windowed features
over their window, recursive ones over the candles so far), and the env steps once, exactly as a
backtest on the same candles (features are causal, so row ``t`` never depends on later rows; the
parity test checks it). Placeholder rows are never read: the env steps only after the next real
candle is written, and a placeholder row always follows the newest candle, so the data does not
end at the clock. When fewer than two rows are left the env is rebuilt with doubled capacity and
the session replayed (while the next candle is still open): O(log n) rebuilds in a session of
``n`` candles, amortised O(1) per candle. A restart rebuilds the account from the store the same
way. See docs/live.md.

**Never retroactive.** An action counts only once its step is stored. Candles that closed while
the process was down, and an action that arrives after the next candle had already closed, are
stepped with the action scheme's no-op action (kind ``offline`` / ``late`` in the store and
``info["live"]``).
"""

from __future__ import annotations

import logging
import math
import os
import time
from collections.abc import Sequence
from typing import Any

import gymnasium as gym
import numpy as np

from tradeready_gym.data.market import MarketData
from tradeready_gym.envs.trading_env import TradingEnv
from tradeready_gym.errors import ConfigError, DataError
from tradeready_gym.live.feed import DEFAULT_REST_URL, DEFAULT_WS_URL, Bar, FeedConfig, LiveFeed
from tradeready_gym.live.store import PaperStore
from tradeready_gym.timeframes import timeframe_ns
from tradeready_gym.validation import SYNTHETIC_PREFIX, check_symbols

__all__ = ["CANDLE_FIELDS", "LiveTradingEnv", "make_live_env"]

log = logging.getLogger(__name__)

#: Values stored per candle and symbol, in this order.
CANDLE_FIELDS = ("open", "high", "low", "close", "volume", "quote_volume", "trades",
                 "taker_buy_base_volume", "taker_buy_quote_volume")
_ACTION_TYPES = ("discrete", "continuous", "portfolio", "target_exposure")
#: Least number of placeholder rows after the candles when the env is (re)built.
MIN_HEADROOM = 64


def _symbols(symbol: Any, symbols: Any, pairs: Any) -> tuple[str, ...]:
    if symbols is not None and pairs is not None:
        raise ConfigError("symbols= and pairs= are the same setting; pass only one of them")
    value = symbols if symbols is not None else pairs
    param = "symbols" if symbols is not None else "pairs"
    if value is None:
        value, param = symbol, "symbol"
    out = check_symbols(value, param)  # the library's one symbol rule
    for s in out:
        if s.startswith(SYNTHETIC_PREFIX):
            raise ConfigError(f"{param} holds {s!r}; allowed: a Binance spot pair (synthetic data is not live)")
    return out


class LiveTradingEnv(gym.Env[np.ndarray, Any]):
    """Paper trading on Binance's live klines with the backtest env's components and engine.

    Args:
        symbol: the traded symbol (one pair), e.g. ``"BTCUSDT"``.
        symbols, pairs: any number of pairs (``pairs`` is an alias of ``symbols``); overrides ``symbol``.
        timeframe: candle interval; one step per final candle (default ``"1m"``).
        action_type: ``"discrete"`` (one pair) / ``"continuous"`` / ``"portfolio"`` (several pairs) /
            ``"target_exposure"``; default discrete for one pair, portfolio for several.
        starting_balance: USDT of a new paper account.
        lookback_window, observation_features, reward_function, fee_rate, slippage, equity_floor:
            as in the historical envs.
        step_interval_sec: accepted for compatibility with the original, which slept this long
            between polls; here a step returns when the next candle of ``timeframe`` is final, so it
            only has to agree with ``timeframe`` (a mismatch is logged) and is kept in ``settings``.
        api_key, base_url, strategy_label: platform settings, kept in ``settings`` (api_key redacted;
            the paper account is local).
        track_training: record the session as a tracked run with mode ``paper`` in the tracking store
            (run id stable across restarts of the session; written in the background).
        binance_ws_url, binance_rest_url: Binance endpoints (default ``$TRADEREADY_BINANCE_WS_URL`` /
            ``$TRADEREADY_BINANCE_API_URL`` or Binance's own); point them at a `ReplayServer` to rehearse.
        feed_config: a `FeedConfig` (deadlines); its URLs are replaced by the two above when given.
        speed: market seconds per wall second (1 live; the replay speed when rehearsing, which
            scales the feed's deadlines with `FeedConfig.for_replay` unless ``feed_config`` is given).
        clock: local clock in ms for the feed (tests share the replay server's virtual clock).
        session: name of the stored paper account (default ``<symbols>-<timeframe>-<action_type>``).
        store: a `PaperStore`, or a path to its SQLite file (default ``$TRADEREADY_HOME/live.sqlite``);
            ``False`` keeps the account in memory only.
        history_bars: candles backfilled before the first decision (default: the observation's
            warm-up plus 10x the features' warm-up, as the historical envs load).
        history_start: instead of ``history_bars``, backfill from this open time (ms UTC or ISO 8601).
        step_timeout_s: wall seconds `step` waits for the next candle before raising `FeedTimeout`
            (None: wait for ever).
        env_kwargs: further keyword arguments of the historical env factory (e.g. ``position_size_pct``),
            passed through unchanged.

    ``info`` holds the historical env's keys plus ``session_id`` (``"live"``, as the original),
    ``feed`` (`LiveFeed.status`), ``latency_ms`` (final candle received -> observation ready),
    ``clock_offset_ms`` and ``live`` (session, step, kind of the step, candle open time).
    """

    metadata: dict[str, Any] = {"render_modes": [None]}  # noqa: RUF012

    def __init__(
        self,
        symbol: str = "BTCUSDT",
        *,
        symbols: Sequence[str] | None = None,
        pairs: Sequence[str] | None = None,
        timeframe: str = "1m",
        action_type: str | None = None,
        starting_balance: float = 10_000.0,
        lookback_window: int = 30,
        observation_features: Sequence[str] | None = None,
        reward_function: Any = None,
        fee_rate: float = 0.001,
        slippage: Any = None,
        equity_floor: float = 0.1,
        step_interval_sec: float | None = None,
        api_key: str | None = None,
        base_url: str | None = None,
        track_training: bool = True,
        strategy_label: str | None = None,
        binance_ws_url: str | None = None,
        binance_rest_url: str | None = None,
        feed_config: FeedConfig | None = None,
        speed: float = 1.0,
        clock: Any = None,
        session: str | None = None,
        store: Any = None,
        history_bars: int | None = None,
        history_start: Any = None,
        step_timeout_s: float | None = None,
        render_mode: str | None = None,
        env_kwargs: dict[str, Any] | None = None,
    ) -> None:
        self.symbols = _symbols(symbol, symbols, pairs)
        self.timeframe = timeframe
        self.interval_ms = timeframe_ns(timeframe) // 1_000_000
        if action_type is None:
            action_type = "discrete" if len(self.symbols) == 1 else "portfolio"
        if action_type not in _ACTION_TYPES:
            raise ConfigError(f"action_type={action_type!r} is not supported; allowed: {', '.join(_ACTION_TYPES)}")
        if action_type in ("discrete", "continuous") and len(self.symbols) != 1:
            raise ConfigError(
                f"action_type={action_type!r} trades one pair but symbols={list(self.symbols)}; "
                "allowed: one symbol, or action_type='portfolio' for several"
            )
        self.action_type = action_type
        if step_interval_sec is not None:
            if isinstance(step_interval_sec, bool) or not isinstance(step_interval_sec, int | float) or not (
                math.isfinite(step_interval_sec) and step_interval_sec > 0
            ):
                raise ConfigError(f"step_interval_sec={step_interval_sec!r} is not allowed; allowed: a number > 0")
            if abs(step_interval_sec * 1000 - self.interval_ms) > 1e-6:
                log.info("step_interval_sec=%s differs from timeframe=%s: steps follow the %s candles",
                         step_interval_sec, timeframe, timeframe)
        if render_mode is not None:
            raise ConfigError(f"render_mode={render_mode!r} is not supported by the live env; allowed: None")
        self.render_mode = None
        self._env_kwargs: dict[str, Any] = {
            "starting_balance": starting_balance,
            "timeframe": timeframe,
            "lookback_window": lookback_window,
            "observation_features": None if observation_features is None else list(observation_features),
            "reward_function": reward_function,
            "fee_rate": fee_rate,
            "slippage": slippage,
            "equity_floor": equity_floor,
        }
        extra = dict(env_kwargs or {})
        clash = set(extra) & (set(self._env_kwargs) | {"data", "track_training", "start_time", "end_time"})
        if clash:
            raise ConfigError(f"env_kwargs sets {sorted(clash)}; allowed: other keyword arguments of the historical envs")
        self._env_kwargs.update(extra)
        probe = self._build(_probe_market(self.symbols, timeframe, 600))
        self.observation_space = probe.observation_space
        self.action_space = probe.action_space
        self._noop = probe.action_scheme.noop_action
        self._min_index = int(probe.observer.min_index)
        if history_bars is None:
            from tradeready_gym.envs.presets import history_bars as default_history

            history_bars = default_history(probe.observer) + 1  # type: ignore[arg-type]
        from tradeready_gym.live.feed import KEEP_BARS

        if isinstance(history_bars, bool) or not isinstance(history_bars, int) or not (
            self._min_index + 1 <= history_bars <= KEEP_BARS
        ):
            raise ConfigError(
                f"history_bars={history_bars!r} is not allowed; allowed: an integer in {self._min_index + 1} .. "
                f"{KEEP_BARS} (at least the observation's warm-up and lookback)"
            )
        self.history_bars = int(history_bars)
        self.history_start_ms = None if history_start is None else _to_ms(history_start)
        # an explicit URL, else one set in feed_config, else the environment, else Binance's
        ws = binance_ws_url or (feed_config.ws_url if feed_config and feed_config.ws_url != DEFAULT_WS_URL else None) \
            or os.environ.get("TRADEREADY_BINANCE_WS_URL") or DEFAULT_WS_URL
        rest = binance_rest_url or (
            feed_config.rest_url if feed_config and feed_config.rest_url != DEFAULT_REST_URL else None
        ) or os.environ.get("TRADEREADY_BINANCE_API_URL") or DEFAULT_REST_URL
        if feed_config is None:
            feed_config = FeedConfig() if speed == 1 else FeedConfig.for_replay(speed, timeframe)
        base_cfg: dict[str, Any] = feed_config.to_dict()
        base_cfg.update(ws_url=ws, rest_url=rest)
        self.feed_config = FeedConfig(**base_cfg)
        self._clock = clock
        self.step_timeout_s = step_timeout_s
        self.session = session or f"{'-'.join(self.symbols)}-{timeframe}-{action_type}"
        if store is False:
            self.store: PaperStore | None = None
        elif isinstance(store, PaperStore):
            self.store = store
        else:
            self.store = PaperStore(store)
        #: The keyword arguments the env was built with (api_key redacted), for tracking and the store.
        self.settings: dict[str, Any] = {
            "symbols": list(self.symbols), "timeframe": timeframe, "action_type": action_type,
            "starting_balance": float(starting_balance), "lookback_window": lookback_window,
            "observation_features": list(probe.observer.features),  # type: ignore[attr-defined]
            "fee_rate": float(fee_rate), "equity_floor": float(equity_floor),
            "slippage": None if slippage is None else repr(slippage),
            "reward_function": type(reward_function).__name__ if reward_function is not None else "PnLReward",
            "step_interval_sec": step_interval_sec, "api_key": "***" if api_key else None, "base_url": base_url,
            "track_training": track_training, "strategy_label": strategy_label,
            "binance_ws_url": ws, "binance_rest_url": rest,
            "env_kwargs": {k: (v if isinstance(v, int | float | str | bool | None) else repr(v)) for k, v in extra.items()},
        }
        self.feed: LiveFeed | None = None
        #: The historical env over the candles so far (built with spare capacity; rebuilt when it is full).
        self.inner: TradingEnv | None = None
        self._open_ms: list[int] = []
        self._values: list[list[float]] = []
        self._actions: list[Any] = []
        self._start_bar = 0
        self._needs_reset = True
        self._latency_ms: float | None = None
        self._late_steps = 0
        self._offline_steps = 0
        self._track = bool(track_training)
        self._paper_run: Any = None
        #: Rows of the market buffers of the current `inner` env (candles plus placeholders).
        self.capacity = 0
        #: How often the historical env was built and the session replayed (reset, full buffers).
        self.rebuilds = 0
        #: Steps replayed by those rebuilds in total.
        self.replayed_steps = 0
        self._bufs: dict[str, np.ndarray] = {}
        self._engine_mkt: np.ndarray | None = None

    # ------------------------------------------------------------------ building
    def _build(self, market: MarketData) -> TradingEnv:
        from tradeready_gym.envs.presets import make_historical_env, make_portfolio_env

        kw = dict(self._env_kwargs, data=market, track_training=False)
        if len(self.symbols) == 1 and self.action_type != "portfolio":
            return make_historical_env(self.symbols[0], self.action_type, **kw)
        return make_portfolio_env(list(self.symbols), self.action_type, **kw)

    def _capacity_for(self, n_real: int) -> int:
        """Rows of the market buffers for ``n_real`` known candles: double, at least `MIN_HEADROOM` spare."""
        return max(2 * n_real, n_real + MIN_HEADROOM)

    def _market(self, capacity: int) -> MarketData:
        """The candles so far, then flat placeholder rows up to ``capacity`` (never read as data).

        The arrays are the env's own writable buffers (``self._bufs``); the `MarketData` holds
        read-only views of them (its constructor does not copy contiguous float64 / int64 arrays),
        so a new final candle is written in place (`_write_bars`). Placeholders continue the time
        grid and repeat the newest close as open = high = low = close with volume 0.
        """
        n, s = len(self._open_ms), len(self.symbols)
        if capacity < n + 1:
            raise ValueError(f"capacity {capacity} < {n + 1}")
        vals = np.asarray(self._values, dtype=np.float64).reshape(n, s, len(CANDLE_FIELDS))
        bufs: dict[str, np.ndarray] = {}
        for i, name in enumerate(CANDLE_FIELDS):
            b = np.empty((capacity, s), dtype=np.float64)
            b[:n] = vals[:, :, i]
            b[n:] = vals[-1, :, 3] if i < 4 else 0.0
            bufs[name] = b
        ot = (self._open_ms[0] + np.arange(capacity, dtype=np.int64) * self.interval_ms) * 1_000_000
        ot[:n] = np.asarray(self._open_ms, dtype=np.int64) * 1_000_000
        self._bufs = bufs
        extra = {k: bufs[k] for k in CANDLE_FIELDS[5:]}
        return MarketData(self.symbols, self.timeframe, ot, bufs["open"], bufs["high"], bufs["low"], bufs["close"],
                          bufs["volume"], extra)

    def _replay(self) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        """Rebuild the historical env over the candles (capacity `_capacity_for`) and replay every recorded action.

        Called by ``reset`` (new or resumed session) and when the buffers are full; each call counts
        in ``rebuilds`` and its replayed steps in ``replayed_steps``.
        """
        n = len(self._open_ms)
        market = self._market(self._capacity_for(n))
        inner = self._build(market)
        obs, info = inner.reset(options={"start_index": self._start_bar})
        out: tuple[np.ndarray, float, bool, bool, dict[str, Any]] = (obs, 0.0, False, False, info)
        for a in self._actions:
            out = inner.step(a)
        self.inner = inner
        self.capacity = market.n_bars
        self.rebuilds += 1
        self.replayed_steps += len(self._actions)
        # the env's data must be the buffers themselves (views), and the engine's market block
        # written through a writable view of its base; otherwise every candle rebuilds
        feed_market = inner.feed.market
        shared = all(np.shares_memory(feed_market.field(k), self._bufs[k]) for k in CANDLE_FIELDS[:5])
        mkt = inner.broker.kernel_arrays()[0]
        self._engine_mkt = None
        if shared and feed_market.n_bars == market.n_bars:
            try:
                w = mkt.view()
                w.setflags(write=True)
                self._engine_mkt = w
            except ValueError:
                self._engine_mkt = None
        if self._engine_mkt is None:
            log.warning("the live env's candles are not written in place; every candle rebuilds the env")
        return out

    def _ensure_room(self) -> None:
        """Rebuild with doubled capacity when the next candle and a placeholder after it do not fit.

        `step` calls it before it waits for the candle, so the rebuild runs while the candle is
        still open instead of between the final message and the decision.
        """
        if len(self._open_ms) + 2 > self.capacity:
            self._replay()

    def _write_bars(self, start: int) -> None:
        """Write the known candles from row ``start`` on into the buffers, the engine and the features."""
        from tradeready_gym.engine import _kernel as K

        inner, mkt = self.inner, self._engine_mkt
        assert inner is not None and mkt is not None
        n, s = len(self._open_ms), len(self.symbols)
        vals = np.asarray(self._values[start:n], dtype=np.float64).reshape(n - start, s, len(CANDLE_FIELDS))
        for i, name in enumerate(CANDLE_FIELDS):
            self._bufs[name][start:n] = vals[:, :, i]
        mkt[start:n, :, K.M_OPEN] = vals[:, :, 0]
        mkt[start:n, :, K.M_HIGH] = vals[:, :, 1]
        mkt[start:n, :, K.M_LOW] = vals[:, :, 2]
        mkt[start:n, :, K.M_CLOSE] = vals[:, :, 3]
        mkt[start:n, :, K.M_QV] = vals[:, :, 5]  # quote_volume (the market always carries it)
        mkt[start:n, :, K.M_FILLED] = 0.0
        inner.feed.update_rows(start, n)

    def _canonical(self, action: Any) -> Any:
        """The action as the env will replay it (validated; JSON-friendly)."""
        assert self.inner is not None
        arr = self.inner.action_scheme.validate(np.asarray(action)[None])[0]
        if isinstance(self.action_space, gym.spaces.Discrete):
            return int(arr)
        return np.asarray(arr, dtype=self.action_space.dtype)

    @staticmethod
    def _json_action(a: Any) -> Any:
        return a.tolist() if isinstance(a, np.ndarray) else a

    def _decode_action(self, a: Any) -> Any:
        if isinstance(self.action_space, gym.spaces.Discrete):
            return int(a)
        return np.asarray(a, dtype=self.action_space.dtype)

    def _append_bars(self, bars: Sequence[Bar]) -> list[tuple[int, list[float]]]:
        new = []
        for b in bars:
            expect = self._open_ms[-1] + self.interval_ms if self._open_ms else b.open_ms
            if b.open_ms != expect:
                raise DataError(f"candle {b.open_ms} does not follow {self._open_ms[-1]} (expected {expect})")
            vals = [float(getattr(k, f)) for k in b.klines for f in CANDLE_FIELDS]
            self._open_ms.append(b.open_ms)
            self._values.append(vals)
            new.append((b.open_ms, vals))
        return new

    # ------------------------------------------------------------------ gymnasium API
    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[np.ndarray, dict[str, Any]]:
        """Connect, then resume the stored paper account or start one; obs at the latest final candle.

        Options:
            ``restart``: True archives the stored session (``<name>@<ms>``) and starts a new account.
        """
        super().reset(seed=seed)
        options = dict(options or {})
        restart = bool(options.pop("restart", False))
        if options:
            raise ConfigError(f"options has unknown keys {sorted(options)}; allowed: restart")
        if self.feed is None:
            self.feed = LiveFeed(self.symbols, self.timeframe, self.feed_config, clock=self._clock).start()
        feed = self.feed
        stored = self.store.session(self.session) if self.store is not None else None
        if stored is not None and restart:
            assert self.store is not None
            self.store.archive(self.session)
            stored = None
        self._late_steps = self._offline_steps = 0
        if stored is not None:
            obs, info = self._resume(stored)
        else:
            if self.history_start_ms is not None:
                feed.resume_from(self.history_start_ms)
            else:
                feed.backfill(self.history_bars)
            first = feed.next_open_ms() - self.history_bars * self.interval_ms
            if self.history_start_ms is not None:
                first = self.history_start_ms
            bars = feed.bars(first, feed.next_open_ms())
            if len(bars) < self._min_index + 1:
                raise DataError(
                    f"only {len(bars)} final candles of {', '.join(self.symbols)} {self.timeframe} since "
                    f"{first}; the observation needs {self._min_index + 1}"
                )
            self._open_ms, self._values, self._actions = [], [], []
            candles = self._append_bars(bars)
            self._start_bar = len(self._open_ms) - 1
            if self.store is not None:
                self.store.create(self.session, self.settings, self._start_bar, candles)
            obs, _, _, _, info = self._replay()
        self._track_start()
        # candles that closed while reset ran are stepped without trading: the first decision is
        # always taken on the newest final candle
        behind = feed.bars(self._open_ms[-1] + self.interval_ms, feed.next_open_ms())
        if behind:
            obs, _, _, _, info = self._step_bars(behind, None, "late")
            self._track_update()
        self._needs_reset = False
        return obs, self._live_info(info, "reset")

    # ------------------------------------------------------------------ tracking
    def _track_start(self) -> None:
        """Record the session as a tracked run (mode ``paper``) when ``track_training`` is on."""
        if not self._track:
            return
        if self._paper_run is not None:
            self._paper_run.close("reset")
            self._paper_run = None
        import uuid

        from tradeready_gym.live.tracking import PaperRun, paper_run_id

        try:
            if self.store is not None:
                row = self.store.session(self.session)
                created = row["created_at"] if row else 0.0
                run_id = paper_run_id(str(self.store.path.resolve()), f"{self.session}@{created!r}")
            else:
                run_id = str(uuid.uuid4())
            self._paper_run = PaperRun(run_id, f"paper/{self.session}", dict(self.settings),
                                       strategy_label=self.settings.get("strategy_label"))
        except Exception as exc:  # tracking never stops trading
            log.warning("the paper session is not tracked: %s", exc)
            self._paper_run = None
            return
        self._track_update()

    def _track_update(self) -> None:
        run = self._paper_run
        if run is None or self.inner is None:
            return
        eng = self.inner.broker
        equity = float(eng.equity[0])
        start = float(self.settings["starting_balance"])
        run.update(len(self._actions), {
            "session": self.session, "equity": equity, "roi_pct": (equity / start - 1.0) * 100.0,
            "fees": float(eng.fees_paid[0]), "late_steps": self._late_steps, "offline_steps": self._offline_steps,
        })

    def _resume(self, stored: dict[str, Any]) -> tuple[np.ndarray, dict[str, Any]]:
        assert self.store is not None and self.feed is not None
        cfg = stored["config"]
        for key in ("symbols", "timeframe", "action_type", "starting_balance", "lookback_window",
                    "observation_features", "fee_rate", "equity_floor", "slippage", "reward_function", "env_kwargs"):
            if cfg.get(key) != self.settings.get(key):
                raise ConfigError(
                    f"session={self.session!r} was started with {key}={cfg.get(key)!r}, not {self.settings.get(key)!r}; "
                    "use the same settings, another session name, or reset(options={'restart': True})"
                )
        candles = self.store.candles(self.session)
        steps = self.store.steps(self.session)
        self._open_ms = [t for t, _ in candles]
        self._values = [v for _, v in candles]
        self._actions = [self._decode_action(s["action"]) for s in steps]
        self._start_bar = int(stored["start_bar"])
        n_known = self._start_bar + len(steps) + 1
        if len(self._open_ms) != n_known:
            # a candle stored without its step cannot happen (one transaction); be strict anyway
            del self._open_ms[n_known:], self._values[n_known:]
        obs, _, _, _, info = self._replay()
        if steps:
            eq = float(self.inner.broker.equity[0])  # type: ignore[union-attr]
            if eq != float(steps[-1]["equity"]):
                raise DataError(
                    f"session {self.session!r}: replaying its {len(steps)} steps gives equity {eq!r}, but "
                    f"{steps[-1]['equity']!r} was stored; the store or the engine changed"
                )
        # candles that closed while the process was down: stepped without trading
        self.feed.resume_from(self._open_ms[-1] + self.interval_ms)
        missed = self.feed.bars(self._open_ms[-1] + self.interval_ms, self.feed.next_open_ms())
        if missed:
            obs, _, _, _, info = self._step_bars(missed, None, "offline")
        log.info("session %s resumed at step %d (%d candles missed while offline)", self.session, len(self._actions),
                 len(missed))
        return obs, info

    def _record(self, action: Any, kind: str, open_ms: int, info: dict[str, Any]) -> dict[str, Any]:
        eng = self.inner.broker  # type: ignore[union-attr]
        if kind == "offline":
            self._offline_steps += 1
        elif kind == "late":
            self._late_steps += 1
        return {
            "step": len(self._actions) - 1,
            "open_ms": open_ms,
            "action": self._json_action(action),
            "kind": kind,
            "equity": float(eng.equity[0]),
            "cash": float(eng.cash[0]),
            "position_value": float(eng.position_value[0]),
            "positions": {s: float(q) for s, q in zip(self.symbols, np.asarray(eng.qty)[0], strict=True)},
            "fees": float(eng.fees_paid[0]),
            "realized_pnl": float(eng.realized_pnl[0]),
            "fills": info.get("filled_orders", []),
        }

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        """Wait for the next final candle, fill ``action``'s orders at its open, store the account.

        If the next candle had already closed when ``step`` was called (the decision came more
        than a candle late), the action is not traded: that candle is stepped with the no-op action
        (kind ``late``). Candles that closed while the step ran are stepped with the no-op action
        too, so the returned observation is always at the newest final candle.
        """
        if self._needs_reset or self.feed is None or self.inner is None:
            raise gym.error.ResetNeeded("call reset() before step()")
        act = self._canonical(action)  # invalid actions fail before anything is waited for or stored
        feed = self.feed
        nxt = self._open_ms[-1] + self.interval_ms
        late = feed.next_open_ms() > nxt  # candle t+1 had closed before this call: too late to fill at its open
        self._ensure_room()
        feed.wait_bar(nxt, timeout=self.step_timeout_s)
        bars = feed.bars(nxt, feed.next_open_ms())  # this candle and any that closed since
        if late:
            obs, reward, term, trunc, info = self._step_bars(bars, None, "late")
        else:
            obs, reward, term, trunc, info = self._step_bars(bars, act, "agent")
        self._latency_ms = (time.perf_counter() - bars[-1].completed_at) * 1000.0 if bars else None
        if term or trunc:
            self._needs_reset = True
        self._track_update()
        return obs, reward, term, trunc, self._live_info(info, "late" if late else "agent")

    def _step_bars(
        self, bars: Sequence[Bar], act: Any, first_kind: str
    ) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        """Append ``bars`` and step over them: ``act`` on the first (kind ``first_kind``), no-op after.

        ``act`` None steps every bar with the no-op action. The steps and their candles are stored
        in one transaction.
        """
        n_candles = len(self._open_ms)
        new = self._append_bars(bars)
        if not bars or self.inner is None or self._engine_mkt is None or len(self._open_ms) + 1 > self.capacity:
            obs, _, _, _, info = self._replay()  # the buffers are full: rebuild with doubled capacity
        else:
            self._write_bars(n_candles)  # in place: the env is at the previous candle already
            obs, info = np.empty(0, dtype=np.float32), {}
        inner = self.inner
        assert inner is not None
        result: tuple[np.ndarray, float, bool, bool, dict[str, Any]] = (obs, 0.0, False, False, info)
        rows = []
        reward = 0.0
        for i, b in enumerate(bars):
            if i == 0 and act is not None:
                a, kind = act, first_kind
            else:
                a = self._canonical(inner.action_scheme.noop_action())
                kind = first_kind if act is None else "late"
            result = inner.step(a)
            reward += result[1]
            self._actions.append(a)
            rows.append(self._record(a, kind, b.open_ms, result[4]))
            if result[2] or result[3]:
                # the episode ended (equity floor): later candles are not stepped
                keep = n_candles + i + 1
                del self._open_ms[keep:], self._values[keep:]
                new = new[: i + 1]
                break
        if self.store is not None:
            self.store.save_steps(self.session, new, rows)
        return result[0], reward, result[2], result[3], result[4]

    def _live_info(self, info: dict[str, Any], kind: str) -> dict[str, Any]:
        feed = self.feed
        assert feed is not None
        info = dict(info)
        info["session_id"] = "live"
        info["feed"] = feed.status()
        info["latency_ms"] = self._latency_ms
        info["clock_offset_ms"] = feed.clock_offset_ms
        info["live"] = {
            "session": self.session,
            "step": len(self._actions),
            "kind": kind,
            "candle_open_ms": self._open_ms[-1],
            "late_steps": self._late_steps,
            "offline_steps": self._offline_steps,
        }
        return info

    # ------------------------------------------------------------------ helpers
    @property
    def decision_index(self) -> int:
        """Index of the decision candle among the session's candles (history included)."""
        return len(self._open_ms) - 1

    @property
    def candle_open_ms(self) -> list[int]:
        """Open times (ms) of the session's candles, history included (a copy)."""
        return list(self._open_ms)

    def metrics(self) -> Any:
        """`EpisodeMetrics` of the session so far."""
        if self.inner is None:
            raise gym.error.ResetNeeded("call reset() first")
        return self.inner.metrics()

    def close(self) -> None:
        """Stop the feed and finish the tracked run (the paper account stays stored)."""
        if self.feed is not None:
            self.feed.stop()
            self.feed = None
        if self._paper_run is not None:
            self._paper_run.close()
            self._paper_run = None
        super().close()

    def __repr__(self) -> str:
        return f"<LiveTradingEnv {list(self.symbols)} {self.timeframe} session={self.session!r}>"


def _to_ms(value: Any) -> int:
    if isinstance(value, int | np.integer) and not isinstance(value, bool):
        return int(value)
    from tradeready_gym.timeframes import parse_time

    return parse_time(value, param="history_start") // 1_000_000


def _probe_market(symbols: Sequence[str], timeframe: str, n: int) -> MarketData:
    """A seeded random walk with the real symbol names: only to learn the spaces and check settings."""
    rng = np.random.default_rng(0)
    s = len(symbols)
    close = 100.0 * np.exp(np.cumsum(rng.normal(0, 0.01, (n, s)), axis=0))
    open_ = np.vstack([close[:1], close[:-1]])
    high = np.maximum(open_, close) * 1.001
    low = np.minimum(open_, close) * 0.999
    vol = rng.uniform(1, 2, (n, s))
    ot = np.arange(n, dtype=np.int64) * timeframe_ns(timeframe) + 1_577_836_800_000_000_000
    return MarketData(tuple(symbols), timeframe, ot, open_, high, low, close, vol)


def make_live_env(**kwargs: Any) -> LiveTradingEnv:
    """Entry point of ``TradeReady-Live-v0``: ``LiveTradingEnv(**kwargs)``."""
    return LiveTradingEnv(**kwargs)

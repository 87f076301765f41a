"""The preset historical environments behind the registered ids, single and vectorised.

Every registered id calls one of the factories here with its fixed ``symbol`` / ``action_type``
plus the documented keyword arguments::

    gym.make("TradeReady-BTC-v0", starting_balance=10_000, timeframe="1h",
             start_time="2025-01-01T00:00:00Z", end_time="2025-03-01T00:00:00Z")
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from tradeready_gym.actions.schemes import (
    ActionScheme,
    ContinuousActions,
    DiscreteActions,
    PortfolioWeightActions,
    TargetExposureActions,
)
from tradeready_gym.data.market import MarketData
from tradeready_gym.envs.feed import DataFeed
from tradeready_gym.envs.portfolio import Portfolio
from tradeready_gym.envs.trading_env import TradingEnv
from tradeready_gym.envs.vector_env import TradeReadyVectorEnv
from tradeready_gym.errors import ConfigError, DataNotFoundError
from tradeready_gym.informers.informers import DefaultInformer
from tradeready_gym.observers.window import WindowObserver
from tradeready_gym.stoppers.stoppers import default_stopper
from tradeready_gym.timeframes import parse_time, timeframe_ns

__all__ = [
    "ACTION_TYPES",
    "DEFAULT_PORTFOLIO_SYMBOLS",
    "HISTORY_FACTOR",
    "history_bars",
    "load_env_market",
    "make_historical_env",
    "make_historical_vector_env",
    "make_portfolio_env",
    "make_portfolio_vector_env",
]

ACTION_TYPES: tuple[str, ...] = ("discrete", "continuous", "portfolio", "target_exposure")
DEFAULT_PORTFOLIO_SYMBOLS: tuple[str, ...] = ("BTCUSDT", "ETHUSDT", "SOLUSDT")
_SYMBOL_RE = re.compile(r"^[A-Z0-9]{2,20}$")


def _check_symbols(symbols: Any, param: str = "symbols") -> tuple[str, ...]:
    if isinstance(symbols, str):
        symbols = [symbols]
    try:
        out = tuple(symbols)
    except TypeError:
        raise ConfigError(f"{param}={symbols!r} must be a list of symbols such as ['BTCUSDT', 'ETHUSDT']") from None
    if not out:
        raise ConfigError(f"{param}=[] must hold at least one symbol, e.g. ['BTCUSDT']")
    for s in out:
        if not isinstance(s, str) or not _SYMBOL_RE.match(s):
            raise ConfigError(
                f"{param} holds {s!r}; allowed: Binance spot symbols in upper case such as 'BTCUSDT'"
            )
    if len(set(out)) != len(out):
        raise ConfigError(f"{param}={list(out)!r} lists a symbol more than once")
    return out


def load_env_market(
    symbols: Sequence[str],
    timeframe: str,
    start_time: Any,
    end_time: Any,
    *,
    history_bars: int,
    data: Any = None,
    base_url: str | None = None,
    data_dir: Any = None,
    download: bool = False,
) -> MarketData:
    """Candles for an env: ``[start_time - history_bars bars, end_time)``, history where it exists.

    ``data`` is anything ``tradeready_gym.data.load_market_data`` accepts (DataFrame, mapping, path,
    `MarketData`); without it the local cache is read.
    """
    interval = timeframe_ns(timeframe)
    start_ns = None if start_time is None else parse_time(start_time, param="start_time")
    end_ns = None if end_time is None else parse_time(end_time, param="end_time")
    if start_ns is not None and end_ns is not None and start_ns >= end_ns:
        raise ConfigError(f"start_time={start_time!r} must be before end_time={end_time!r}")
    hist_start = None if start_ns is None else start_ns - history_bars * interval
    from tradeready_gym.data import load_market_data

    kwargs: dict[str, Any] = {"data": data, "data_dir": data_dir, "download": download, "base_url": base_url}
    try:
        return load_market_data(list(symbols), timeframe, hist_start, end_ns, **kwargs)
    except DataNotFoundError:
        if hist_start is None or start_ns is None:
            raise
    # the source holds less history than asked for: use what it has before start_time
    try:
        market = load_market_data(list(symbols), timeframe, None, end_ns, **kwargs)
    except DataNotFoundError:
        market = None
    if market is None or market.n_bars == 0 or int(market.open_time[0]) > start_ns:
        # no usable history: the requested range alone (its error names exactly that range)
        return load_market_data(list(symbols), timeframe, start_ns, end_ns, **kwargs)
    return market.iloc(market.index_of(hist_start), market.n_bars)


#: Extra warm-up, in multiples of the features' own warm-up, loaded before ``start_time`` so that
#: recursive indicators (EMA, Wilder smoothing) have converged when the episode starts.
HISTORY_FACTOR = 10


def history_bars(observer: WindowObserver) -> int:
    """Bars of history an env loads before ``start_time`` (when the source has them)."""
    return observer.min_index + HISTORY_FACTOR * observer.warmup


def _action_scheme(action_type: str, n_symbols: int) -> ActionScheme:
    if action_type == "discrete":
        return DiscreteActions()
    if action_type == "continuous":
        return ContinuousActions()
    if action_type == "portfolio":
        return PortfolioWeightActions()
    if action_type == "target_exposure":
        return TargetExposureActions()
    raise ConfigError(f"action_type={action_type!r} is not supported; allowed: {', '.join(ACTION_TYPES)}")


def _parts(
    symbols: Sequence[str],
    action_type: str,
    *,
    starting_balance: float,
    timeframe: str,
    lookback_window: int,
    start_time: Any,
    end_time: Any,
    observation_features: Sequence[str] | None,
    reward_function: Any,
    data: Any,
    fee_rate: float,
    slippage: Any,
    episode_length: int | None,
    random_start: bool | float,
    base_url: str | None,
    data_dir: Any,
    download: bool,
    equity_floor: float,
) -> dict[str, Any]:
    if action_type not in ACTION_TYPES:
        raise ConfigError(f"action_type={action_type!r} is not supported; allowed: {', '.join(ACTION_TYPES)}")
    features = ["ohlcv"] if observation_features is None else observation_features
    observer = WindowObserver(features, lookback_window)
    portfolio = Portfolio(starting_balance, fee_rate=fee_rate, slippage=slippage)
    market = load_env_market(
        symbols,
        timeframe,
        start_time,
        end_time,
        history_bars=history_bars(observer),
        data=data,
        base_url=base_url,
        data_dir=data_dir,
        download=download,
    )
    feed = DataFeed(market, start_time=start_time, end_time=end_time)
    if reward_function is None:
        from tradeready_gym.rewards import PnLReward

        reward_function = PnLReward()
    if isinstance(random_start, bool):
        pct = 1.0 if random_start else 0.0
    else:
        try:
            pct = float(random_start)
        except (TypeError, ValueError):
            raise ConfigError(f"random_start={random_start!r} is not allowed; allowed: True, False or a share in [0, 1]") from None
    return {
        "portfolio": portfolio,
        "feed": feed,
        "action_scheme": _action_scheme(action_type, len(symbols)),
        "reward_scheme": reward_function,
        "observer": observer,
        "stopper": default_stopper(episode_length, equity_floor),
        "informer": DefaultInformer(),
        "random_start_pct": pct,
    }


def _settings(**kwargs: Any) -> dict[str, Any]:
    return {k: v for k, v in kwargs.items() if k not in ("data", "reward_function")}


def make_historical_env(
    symbol: str = "BTCUSDT",
    action_type: str = "discrete",
    *,
    api_key: str | None = None,
    base_url: str | None = None,
    starting_balance: float = 10_000.0,
    timeframe: str = "1h",
    lookback_window: int = 30,
    start_time: Any = None,
    end_time: Any = None,
    observation_features: Sequence[str] | None = None,
    reward_function: Any = None,
    track_training: bool = True,
    strategy_label: str | None = None,
    data: Any = None,
    fee_rate: float = 0.001,
    slippage: Any = None,
    episode_length: int | None = None,
    random_start: bool | float = False,
    render_mode: str | None = None,
    equity_floor: float = 0.1,
    data_dir: Any = None,
    download: bool = False,
    **unknown: Any,
) -> TradingEnv:
    """A single-asset historical env (the ``TradeReady-<SYM>-v0`` and ``-Continuous-v0`` ids).

    Args:
        symbol: the traded Binance spot symbol, e.g. ``"BTCUSDT"``.
        action_type: ``"discrete"`` (Discrete(3)), ``"continuous"`` (Box(-1, 1, (1,))) or
            ``"target_exposure"``.
        api_key, base_url, track_training, strategy_label: training-tracking settings, stored in
            ``env.settings`` (tracking runs in-process; no server is needed).
        starting_balance: USDT at reset.
        timeframe: bar interval, e.g. ``"1h"``.
        lookback_window: rows per observation.
        start_time, end_time: ISO 8601 episode range; omitted = the whole range available.
        observation_features: feature names (default ``["ohlcv"]``).
        reward_function: a reward (default ``PnLReward()``).
        data: candles to use instead of the local cache (DataFrame, mapping, path or MarketData).
        fee_rate: fee as a fraction of notional (0.001 = 0.1%).
        slippage: None, basis points, or a slippage model.
        episode_length: truncate episodes after this many steps (None: run to the end of the range).
        random_start: draw each episode's start with the env's seeded generator (True = anywhere).
        render_mode: ``"human"``, ``"ansi"``, ``"rgb_array"`` or None.
        equity_floor: truncate when equity falls to this share of the starting balance.
        data_dir: cache folder (default ``TRADEREADY_DATA_DIR`` or the user cache).
        download: fetch missing candles from Binance instead of raising `DataNotFoundError`.
    """
    if unknown:
        _with_defaults(unknown)  # raises ConfigError naming the unknown keywords and the allowed ones
    sym = _check_symbols(symbol, "symbol")
    if len(sym) != 1:
        raise ConfigError(f"symbol={symbol!r} must be one symbol")
    parts = _parts(
        sym,
        action_type,
        starting_balance=starting_balance,
        timeframe=timeframe,
        lookback_window=lookback_window,
        start_time=start_time,
        end_time=end_time,
        observation_features=observation_features,
        reward_function=reward_function,
        data=data,
        fee_rate=fee_rate,
        slippage=slippage,
        episode_length=episode_length,
        random_start=random_start,
        base_url=base_url,
        data_dir=data_dir,
        download=download,
        equity_floor=equity_floor,
    )
    env = TradingEnv(**parts, render_mode=render_mode)
    env.settings = _settings(
        symbols=list(sym), action_type=action_type, api_key=api_key, base_url=base_url,
        starting_balance=starting_balance, timeframe=timeframe, lookback_window=lookback_window,
        start_time=start_time, end_time=end_time, observation_features=list(observer_names(parts)),
        track_training=track_training, strategy_label=strategy_label, fee_rate=fee_rate,
        episode_length=episode_length, random_start=random_start,
    )
    return env


def observer_names(parts: dict[str, Any]) -> tuple[str, ...]:
    return tuple(parts["observer"].features)


def make_portfolio_env(
    symbols: Sequence[str] = DEFAULT_PORTFOLIO_SYMBOLS,
    action_type: str = "portfolio",
    **kwargs: Any,
) -> TradingEnv:
    """A multi-asset historical env (``TradeReady-Portfolio-v0``): target weights, Box(0, 1, (N,)).

    Takes the keyword arguments of `make_historical_env` plus ``symbols`` (default BTC, ETH, SOL).
    """
    syms = _check_symbols(symbols)
    settings_kwargs = {k: v for k, v in kwargs.items() if k not in ("data", "reward_function")}
    render_mode = kwargs.pop("render_mode", None)
    api = {k: kwargs.pop(k, None) for k in ("api_key", "strategy_label")}
    track = kwargs.pop("track_training", True)
    parts = _parts(syms, action_type, **_with_defaults(kwargs))
    env = TradingEnv(**parts, render_mode=render_mode)
    env.settings = {
        "symbols": list(syms), "action_type": action_type, "track_training": track, **api, **settings_kwargs,
    }
    return env


_DEFAULTS: dict[str, Any] = {
    "starting_balance": 10_000.0,
    "timeframe": "1h",
    "lookback_window": 30,
    "start_time": None,
    "end_time": None,
    "observation_features": None,
    "reward_function": None,
    "data": None,
    "fee_rate": 0.001,
    "slippage": None,
    "episode_length": None,
    "random_start": False,
    "base_url": None,
    "data_dir": None,
    "download": False,
    "equity_floor": 0.1,
}


def _with_defaults(kwargs: dict[str, Any]) -> dict[str, Any]:
    unknown = set(kwargs) - set(_DEFAULTS)
    if unknown:
        allowed = sorted({*_DEFAULTS, "api_key", "track_training", "strategy_label", "render_mode", "symbols"})
        raise ConfigError(f"unknown keyword argument(s) {sorted(unknown)}; allowed: {', '.join(allowed)}")
    return {**_DEFAULTS, **kwargs}


def make_historical_vector_env(
    num_envs: int = 1,
    symbol: str = "BTCUSDT",
    action_type: str = "discrete",
    *,
    autoreset_mode: Any = "next_step",
    info_details: bool = False,
    **kwargs: Any,
) -> TradeReadyVectorEnv:
    """The native batched version of `make_historical_env` (``gymnasium.make_vec`` entry point)."""
    sym = _check_symbols(symbol, "symbol")
    return _vector(num_envs, sym, action_type, autoreset_mode, info_details, kwargs)


def make_portfolio_vector_env(
    num_envs: int = 1,
    symbols: Sequence[str] = DEFAULT_PORTFOLIO_SYMBOLS,
    action_type: str = "portfolio",
    *,
    autoreset_mode: Any = "next_step",
    info_details: bool = False,
    **kwargs: Any,
) -> TradeReadyVectorEnv:
    """The native batched version of `make_portfolio_env` (``gymnasium.make_vec`` entry point)."""
    return _vector(num_envs, _check_symbols(symbols), action_type, autoreset_mode, info_details, kwargs)


def _vector(
    num_envs: int,
    symbols: tuple[str, ...],
    action_type: str,
    autoreset_mode: Any,
    info_details: bool,
    kwargs: dict[str, Any],
) -> TradeReadyVectorEnv:
    kwargs = dict(kwargs)
    render_mode = kwargs.pop("render_mode", None)
    if render_mode is not None:
        raise ConfigError(f"render_mode={render_mode!r} is not supported by the vector env; allowed: None")
    api = {k: kwargs.pop(k, None) for k in ("api_key", "strategy_label")}
    track = kwargs.pop("track_training", True)
    kwargs.pop("max_episode_steps", None)
    settings = {k: v for k, v in kwargs.items() if k not in ("data", "reward_function")}
    parts = _parts(symbols, action_type, **_with_defaults(kwargs))
    venv = TradeReadyVectorEnv(num_envs, **parts, autoreset_mode=autoreset_mode, info_details=info_details)
    venv.settings = {
        "symbols": list(symbols), "action_type": action_type, "track_training": track, **api, **settings,
    }
    return venv

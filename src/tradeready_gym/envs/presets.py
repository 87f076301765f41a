"""The preset historical environments behind the registered ids, single and vectorised.

Every registered id calls one of the factories here with its fixed ``symbol`` / ``action_type``
plus the documented keyword arguments::

    gym.make("TradeReady-BTC-v0", starting_balance=10_000, timeframe="1h",
             start_time="2025-01-01T00:00:00Z", end_time="2025-03-01T00:00:00Z")
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import numpy as np

from tradeready_gym.actions.schemes import (
    ActionScheme,
    ContinuousActions,
    DiscreteActions,
    PortfolioWeightActions,
    TargetExposureActions,
)
from tradeready_gym.data.market import MarketData
from tradeready_gym.envs._snapshot import (
    ReplayableTradingEnv,
    ReplayableVectorEnv,
    check_info_mode,
    check_ruin,
)
from tradeready_gym.envs.feed import DataFeed
from tradeready_gym.envs.portfolio import Portfolio
from tradeready_gym.envs.trading_env import TradingEnv
from tradeready_gym.envs.vector_env import TradeReadyVectorEnv
from tradeready_gym.errors import ConfigError, DataNotFoundError, UnknownArgumentError
from tradeready_gym.informers.informers import DefaultInformer
from tradeready_gym.observers.window import SCALARS, WindowObserver
from tradeready_gym.stoppers.stoppers import default_stopper
from tradeready_gym.timeframes import timeframe_ns
from tradeready_gym.validation import (
    check_bool,
    check_int,
    check_number,
    check_optional_path,
    check_optional_str,
    check_symbols,
    check_time_range,
    fail,
)

__all__ = [
    "ACTION_TYPES",
    "DEFAULT_OBSERVATION_FEATURES",
    "DEFAULT_PORTFOLIO_SYMBOLS",
    "ENV_DEFAULTS",
    "HISTORY_FACTOR",
    "build_portfolio_parts",
    "build_single_parts",
    "finish_env",
    "history_bars",
    "load_env_market",
    "make_historical_env",
    "make_historical_vector_env",
    "make_portfolio_env",
    "make_portfolio_vector_env",
    "resolve_portfolio",
    "resolve_single",
    "split_observation_features",
]

ACTION_TYPES: tuple[str, ...] = ("discrete", "continuous", "portfolio", "target_exposure")
DEFAULT_PORTFOLIO_SYMBOLS: tuple[str, ...] = ("BTCUSDT", "ETHUSDT", "SOLUSDT")
#: Largest ``lookback_window`` (rows per observation) a preset accepts; checked before anything is
#: loaded or allocated.
MAX_LOOKBACK = 100_000
#: Largest ``num_envs`` of a vector preset (about 2.5 KB of engine state per env and symbol, plus
#: the observation buffers); checked before anything is allocated.
MAX_ENVS = 1_048_576
_RENDER_MODES = ("human", "ansi", "rgb_array")


def _check_symbols(symbols: Any, param: str = "symbols") -> tuple[str, ...]:
    # the library's one symbol rule (tradeready_gym.validation.check_symbol)
    return check_symbols(symbols, param)


def _check_model(param: str, value: Any, base: type, example: str) -> None:
    if isinstance(value, type):
        fail(param, value, f"an instance such as {value.__name__}(...) or {example}, not the class")
    if not isinstance(value, base):
        fail(param, value, example)


def _validate(kw: dict[str, Any], meta: dict[str, Any]) -> None:
    """One type and range check of every preset keyword, before any candle is loaded or any array
    allocated. Errors name the keyword, the value as given and what is allowed."""
    from tradeready_gym.engine.costs import FeeModel, SlippageModel

    check_number("starting_balance", kw["starting_balance"], 0.0, 1e15, lo_open=True)
    if not isinstance(kw["timeframe"], str):
        fail("timeframe", kw["timeframe"], "a bar interval such as '1h'")
    timeframe_ns(kw["timeframe"])
    check_int("lookback_window", kw["lookback_window"], 1, MAX_LOOKBACK)
    check_time_range(
        kw["start_time"], kw["end_time"], start_param="start_time", end_param="end_time", allow_int=False
    )
    reward = kw["reward_function"]
    if reward is not None:
        if isinstance(reward, type):
            fail("reward_function", reward, f"an instance such as {reward.__name__}(), not the class")
        if not callable(getattr(reward, "compute", None)) and not callable(getattr(reward, "compute_batch", None)):
            fail("reward_function", reward, "None or a reward such as PnLReward() (an object with compute())")
    check_number("fee_rate", kw["fee_rate"], 0.0, 0.1)
    if kw["fee"] is not None:
        _check_model("fee", kw["fee"], FeeModel, "None, PercentageFee(rate), MakerTakerFee(maker=, taker=) or FixedFee(amount)")
    slip = kw["slippage"]
    if slip is not None and not (isinstance(slip, int | float | np.integer | np.floating) and not isinstance(slip, bool)):
        _check_model("slippage", slip, SlippageModel, "None, basis points (a number) or a slippage model such as FixedBpsSlippage(5)")
    elif slip is not None:
        check_number("slippage", slip, 0.0, 1000.0)
    if kw["episode_length"] is not None:
        check_int("episode_length", kw["episode_length"], 1)
    rs = kw["random_start"]
    if not isinstance(rs, bool | np.bool_):
        check_number("random_start", rs, 0.0, 1.0)
    check_number("equity_floor", kw["equity_floor"], 0.0, 1.0, hi_open=True)
    check_optional_path("data_dir", kw["data_dir"])
    check_bool("download", kw["download"])
    for name in ("binance_base_url", "binance_data_url"):
        check_optional_str(name, kw[name], "a URL string")
    check_optional_str("api_key", meta["api_key"], "an API key string")
    check_optional_str("base_url", meta["base_url"], "a URL string")
    check_optional_str("strategy_label", meta["strategy_label"])
    check_bool("track_training", meta["track_training"])
    if meta["render_mode"] is not None and meta["render_mode"] not in _RENDER_MODES:
        fail("render_mode", meta["render_mode"], "None, " + ", ".join(map(repr, _RENDER_MODES)))


def load_env_market(
    symbols: Sequence[str],
    timeframe: str,
    start_time: Any,
    end_time: Any,
    *,
    history_bars: int,
    data: Any = None,
    binance_base_url: str | None = None,
    binance_data_url: str | None = None,
    data_dir: Any = None,
    download: bool = False,
    platform: tuple[str, str] | None = None,
) -> MarketData:
    """Candles for an env: ``[start_time - history_bars bars, end_time)``, history where it exists.

    ``data`` is anything ``tradeready_gym.data.load_market_data`` accepts (DataFrame, mapping, path,
    `MarketData`); without it the local cache is read. ``binance_base_url`` / ``binance_data_url``
    are the Binance REST API and public-dump bases used when ``download`` is True. ``platform``
    (``(base_url, api_key)``, from the env's ``base_url`` and ``api_key``): candles of the range the
    local cache lacks are fetched from the platform's market-data API first
    (`tradeready_gym.tracking.platform_data`).
    """
    interval = timeframe_ns(timeframe)
    start_ns, end_ns = check_time_range(start_time, end_time, start_param="start_time", end_param="end_time")
    hist_start = None if start_ns is None else start_ns - history_bars * interval
    from tradeready_gym.data import load_market_data

    if platform is not None and data is None and hist_start is not None and end_ns is not None:
        from tradeready_gym.tracking.platform_data import fill_cache_from_platform

        fill_cache_from_platform(symbols, timeframe, hist_start, end_ns, base_url=platform[0], api_key=platform[1],
                                 data_dir=data_dir)

    kwargs: dict[str, Any] = {
        "data": data,
        "data_dir": data_dir,
        "download": download,
        "base_url": binance_base_url,
        "vision_url": binance_data_url,
    }
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


def _action_scheme(action_type: str, n_symbols: int, position_size_pct: float = 0.1) -> ActionScheme:
    if action_type == "discrete":
        return DiscreteActions(trade_fraction=position_size_pct)
    if action_type == "continuous":
        return ContinuousActions(trade_fraction=position_size_pct)
    if action_type == "portfolio":
        return PortfolioWeightActions()
    if action_type == "target_exposure":
        return TargetExposureActions()
    raise ConfigError(f"action_type={action_type!r} is not supported; allowed: {', '.join(ACTION_TYPES)}")


#: The observation of the presets when ``observation_features`` is not given: OHLCV rows, then all
#: three account scalars (an agent needs to know its position).
DEFAULT_OBSERVATION_FEATURES: tuple[str, ...] = ("ohlcv", "balance", "position", "unrealized_pnl")


def split_observation_features(observation_features: Sequence[str] | None) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """``(per-candle features, account scalars)`` of an ``observation_features`` list.

    The list is taken literally: the scalar names ``balance``, ``position`` and ``unrealized_pnl``
    (see `tradeready_gym.observers.SCALARS`) go after the window in the order given, and a list
    without them has none (``["ohlcv"]`` at lookback 30 is 150 values). None is
    `DEFAULT_OBSERVATION_FEATURES`.
    """
    names = DEFAULT_OBSERVATION_FEATURES if observation_features is None else observation_features
    if isinstance(names, str | bytes):
        raise ConfigError(
            f"observation_features={names!r} must be a list of feature names, not a string; e.g. ['ohlcv', 'balance']"
        )
    try:
        names = tuple(names)
    except TypeError:
        raise ConfigError(f"observation_features={names!r} must be a list of feature names") from None
    scalars = tuple(n for n in names if isinstance(n, str) and n in SCALARS)
    features = tuple(n for n in names if not (isinstance(n, str) and n in SCALARS))
    if len(set(scalars)) != len(scalars):
        raise ConfigError(f"observation_features={list(names)!r} lists an account scalar more than once")
    if not features:
        raise ConfigError(
            f"observation_features={list(names)!r} holds no per-candle feature; add one such as 'ohlcv'"
        )
    return features, scalars


_QUOTES = ("USDT", "USDC", "FDUSD", "BUSD", "TUSD", "BTC", "ETH", "BNB", "EUR", "TRY")


def _symbol_hint(data: Any) -> str | None:
    """The symbol ``data`` says it holds: a DataFrame's one-valued ``symbol`` column or
    ``attrs["symbol"]``, or a symbol in a file name (``ETHUSDT-1h-2024-01.csv``); None if it says none."""
    import re as _re

    if type(data).__name__ == "DataFrame":
        cols = {str(c).strip().lower(): c for c in data.columns}
        if "symbol" in cols:
            values = data[cols["symbol"]].dropna().unique()
            if len(values) == 1:
                return str(values[0]).upper().replace("/", "").replace("-", "").replace("_", "")
        hint = data.attrs.get("symbol") if hasattr(data, "attrs") else None
        return None if hint is None else str(hint).upper().replace("/", "")
    if isinstance(data, str | os.PathLike):
        for token in _re.findall(r"[A-Z0-9]+", os.path.basename(os.fspath(data)).upper()):
            if len(token) >= 5 and not token.isdigit() and token.endswith(_QUOTES) and token not in _QUOTES:
                return token
    return None


def warn_if_data_names_another_symbol(data: Any, symbol: str) -> None:
    """Warn when one-symbol ``data`` says it holds another symbol than the env trades.

    A DataFrame or file is taken as the env's symbol (the id decides), so ETH candles given to
    ``TradeReady-BTC-v0`` would silently be traded as BTC; this catches the cases the data names.
    """
    hint = _symbol_hint(data)
    if hint is not None and hint != symbol:
        import warnings

        from tradeready_gym.data.market import DataQualityWarning

        warnings.warn(
            f"data= looks like {hint} candles (its symbol column or file name), but this env trades {symbol}; "
            f"they are used as {symbol}. Use the id of {hint} (or symbol={hint!r}) if that is what you meant",
            DataQualityWarning,
            stacklevel=3,
        )


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
    fee: Any,
    slippage: Any,
    episode_length: int | None,
    random_start: bool | float,
    data_dir: Any,
    download: bool,
    equity_floor: float,
    binance_base_url: str | None,
    binance_data_url: str | None,
    position_size_pct: float = 0.1,
    platform: tuple[str, str] | None = None,
) -> dict[str, Any]:
    if action_type not in ACTION_TYPES:
        raise ConfigError(f"action_type={action_type!r} is not supported; allowed: {', '.join(ACTION_TYPES)}")
    features, scalars = split_observation_features(observation_features)
    observer = WindowObserver(features, lookback_window, scalars=scalars)
    scheme = _action_scheme(action_type, len(symbols), position_size_pct)
    portfolio = Portfolio(starting_balance, fee_rate=fee_rate, slippage=slippage, fee=fee)
    if len(symbols) == 1 and data is not None:
        warn_if_data_names_another_symbol(data, symbols[0])
    market = load_env_market(
        symbols,
        timeframe,
        start_time,
        end_time,
        history_bars=history_bars(observer),
        data=data,
        binance_base_url=binance_base_url,
        binance_data_url=binance_data_url,
        data_dir=data_dir,
        download=download,
        platform=platform,
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
        "action_scheme": scheme,
        "reward_scheme": reward_function,
        "observer": observer,
        "stopper": default_stopper(episode_length, equity_floor),
        "informer": DefaultInformer(),
        "random_start_pct": pct,
    }


def observer_names(parts: dict[str, Any]) -> tuple[str, ...]:
    obs = parts["observer"]
    return (*obs.features, *obs.scalars)


#: Keyword arguments of every preset (single, portfolio, vector) and their defaults.
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
    "fee": None,
    "slippage": None,
    "episode_length": None,
    "random_start": False,
    "data_dir": None,
    "download": False,
    "equity_floor": 0.1,
    "binance_base_url": None,
    "binance_data_url": None,
}

#: Settings kept in ``env.settings`` only (training tracking and the platform), with defaults.
_META: dict[str, Any] = {
    "api_key": None,
    "base_url": None,
    "track_training": True,
    "strategy_label": None,
    "render_mode": None,
    "info_mode": "full",
    "ruin": "truncated",
}

_SINGLE_ONLY = ("symbol", "continuous", "position_size_pct", "pairs")
_PORTFOLIO_ONLY = ("symbols", "pairs")
_NOT_SETTINGS = ("data", "reward_function")


def _unknown(fn: str, unknown: set[str], allowed: Sequence[str]) -> UnknownArgumentError:
    names = sorted(unknown)
    return UnknownArgumentError(
        f"{fn}() got an unexpected keyword argument {names[0]!r}: unknown keyword argument(s) {names}; "
        f"allowed: {', '.join(sorted(allowed))}"
    )


#: Environment variables that supply a keyword argument the caller did not pass, so that a tool
#: which can only pass an id (CleanRL's ``--env-id``, a worker process) can choose the period and
#: the episode length without code. An explicit keyword argument always wins.
ENV_DEFAULTS: dict[str, str] = {
    "start_time": "TRADEREADY_START",
    "end_time": "TRADEREADY_END",
    "episode_length": "TRADEREADY_EPISODE_LENGTH",
    "random_start": "TRADEREADY_RANDOM_START",
    "timeframe": "TRADEREADY_TIMEFRAME",
}


def _from_environment(name: str, var: str) -> Any:
    raw = os.environ.get(var, "").strip()
    if not raw:
        return None
    if name == "episode_length":
        try:
            return int(raw)
        except ValueError:
            raise ConfigError(f"{var}={raw!r} is not allowed; allowed: an integer >= 1 (the episode_length)") from None
    if name == "random_start":
        low = raw.lower()
        if low in ("1", "true", "yes"):
            return True
        if low in ("0", "false", "no"):
            return False
        try:
            return float(raw)
        except ValueError:
            raise ConfigError(f"{var}={raw!r} is not allowed; allowed: true, false or a share in [0, 1]") from None
    return raw


def _split(fn: str, kwargs: dict[str, Any], extra: Sequence[str]) -> tuple[dict[str, Any], dict[str, Any]]:
    """``(engine/env keywords with defaults, meta settings)``; `UnknownArgumentError` for anything else.

    Keywords not given are taken from `ENV_DEFAULTS` when those variables are set.
    """
    unknown = set(kwargs) - set(_DEFAULTS) - set(_META)
    if unknown:
        raise _unknown(fn, unknown, [*_DEFAULTS, *_META, *extra])
    meta = {k: kwargs.get(k, v) for k, v in _META.items()}
    env_kw = {**_DEFAULTS, **{k: v for k, v in kwargs.items() if k in _DEFAULTS}}
    for name, var in ENV_DEFAULTS.items():
        if name not in kwargs:
            value = _from_environment(name, var)
            if value is not None:
                env_kw[name] = value
    _validate(env_kw, meta)
    return env_kw, meta


def _check_bool(value: Any, name: str) -> bool:
    if not isinstance(value, bool | np.bool_):
        raise ConfigError(f"{name}={value!r} is not allowed; allowed: True or False")
    return bool(value)


def resolve_single(
    symbol: Any, action_type: str, kwargs: dict[str, Any], fn: str = "make_historical_env"
) -> tuple[tuple[str, ...], str, float, dict[str, Any], dict[str, Any]]:
    """The single-asset keywords: ``(symbols, action_type, position_size_pct, env keywords, meta)``.

    ``pairs=[s]`` (the published package's name) is ``symbol=s``; ``continuous=True`` is
    ``action_type="continuous"``; ``position_size_pct`` is the share of equity one full action trades.
    """
    kw = dict(kwargs)
    pairs = kw.pop("pairs", None)
    continuous = kw.pop("continuous", None)
    size = kw.pop("position_size_pct", 0.1)
    if pairs is not None:
        p = _check_symbols(pairs, "pairs")
        if len(p) != 1:
            raise ConfigError(
                f"pairs={list(p)!r} holds {len(p)} symbols; a single-asset env trades one symbol; "
                "for several use TradeReady-Portfolio-v0 with symbols= (or pairs=)"
            )
        symbol = p[0]
    if continuous is not None:
        action_type = "continuous" if _check_bool(continuous, "continuous") else "discrete"
    sym = _check_symbols(symbol, "symbol")
    if len(sym) != 1:
        raise ConfigError(f"symbol={symbol!r} must be one symbol")
    if action_type not in ("discrete", "continuous", "target_exposure"):
        raise ConfigError(
            f"action_type={action_type!r} is not supported by a single-asset env; "
            "allowed: discrete, continuous, target_exposure"
        )
    env_kw, meta = _split(fn, kw, _SINGLE_ONLY)
    return sym, action_type, size, env_kw, meta


def resolve_portfolio(
    symbols: Any, kwargs: dict[str, Any], fn: str = "make_portfolio_env"
) -> tuple[tuple[str, ...], dict[str, Any], dict[str, Any]]:
    """The multi-asset keywords: ``(symbols, env keywords, meta)``; ``pairs=`` is ``symbols=``."""
    kw = dict(kwargs)
    pairs = kw.pop("pairs", None)
    if pairs is not None:
        p = _check_symbols(pairs, "pairs")
        if symbols is not None and _check_symbols(symbols) != p:
            raise ConfigError(f"pairs={list(p)!r} and symbols={list(symbols)!r} disagree; give one of them")
        symbols = p
    if "position_size_pct" in kw:
        raise ConfigError(
            f"position_size_pct={kw['position_size_pct']!r} applies to single-asset envs; a portfolio env "
            "trades to the target weights of its action"
        )
    syms = _check_symbols(DEFAULT_PORTFOLIO_SYMBOLS if symbols is None else symbols)
    env_kw, meta = _split(fn, kw, _PORTFOLIO_ONLY)
    return syms, env_kw, meta


def _settings(symbols: Sequence[str], action_type: str, env_kw: dict[str, Any], meta: dict[str, Any],
              parts: dict[str, Any], **extra: Any) -> dict[str, Any]:
    out = {"symbols": list(symbols), "action_type": action_type, **extra}
    out.update({k: v for k, v in env_kw.items() if k not in _NOT_SETTINGS})
    out.update({k: v for k, v in meta.items() if k != "render_mode"})
    out["observation_features"] = list(observer_names(parts))
    return out


def _platform(meta: dict[str, Any]) -> tuple[str, str] | None:
    """``(base_url, api_key)`` when both are set: missing candles then come from the platform."""
    if meta.get("base_url") and meta.get("api_key"):
        return str(meta["base_url"]), str(meta["api_key"])
    return None


def build_single_parts(
    symbol: Any, action_type: str, kwargs: dict[str, Any], fn: str = "make_historical_env"
) -> tuple[dict[str, Any], str | None, dict[str, Any]]:
    """``(TradingEnv keyword arguments, render_mode, settings)`` of a single-asset env."""
    sym, kind, size, env_kw, meta = resolve_single(symbol, action_type, kwargs, fn)
    parts = _parts(sym, kind, **env_kw, position_size_pct=size, platform=_platform(meta))
    return parts, meta["render_mode"], _settings(sym, kind, env_kw, meta, parts, position_size_pct=size)


def build_portfolio_parts(
    symbols: Any, action_type: str, kwargs: dict[str, Any], fn: str = "make_portfolio_env"
) -> tuple[dict[str, Any], str | None, dict[str, Any]]:
    """``(TradingEnv keyword arguments, render_mode, settings)`` of a multi-asset env."""
    syms, env_kw, meta = resolve_portfolio(symbols, kwargs, fn)
    parts = _parts(syms, action_type, **env_kw, platform=_platform(meta))
    return parts, meta["render_mode"], _settings(syms, action_type, env_kw, meta, parts)


def make_historical_env(symbol: str = "BTCUSDT", action_type: str = "discrete", **kwargs: Any) -> TradingEnv:
    """A single-asset historical env (the ``TradeReady-<SYM>-v0`` and ``-Continuous-v0`` ids).

    Keyword arguments (all optional):
        api_key, base_url, track_training, strategy_label: training tracking and the platform;
            ``base_url`` is the *platform's* URL (the Binance URLs are ``binance_base_url`` and
            ``binance_data_url``). Stored in ``env.settings``.
        starting_balance: USDT at reset (10000).
        timeframe: bar interval, e.g. ``"1h"`` (default).
        lookback_window: rows per observation (30).
        start_time, end_time: ISO 8601 episode range; omitted = the whole range available.
        observation_features: per-candle feature names plus the account scalars ``balance``,
            ``position``, ``unrealized_pnl``, taken literally (default
            ``["ohlcv", "balance", "position", "unrealized_pnl"]``).
        reward_function: a reward (default ``PnLReward()``).
        position_size_pct: share of current equity a buy (discrete) or a full action (continuous)
            trades (0.1).
        continuous: True = ``Box(-1, 1, (1,))`` actions, False = ``Discrete(3)`` (else ``action_type``).
        pairs: ``[symbol]``, the published package's spelling of ``symbol``.
        data: candles to use instead of the local cache (DataFrame, mapping, path or MarketData).
        fee_rate: fee as a fraction of notional (0.001 = 0.1%): the shorthand for
            ``fee=PercentageFee(fee_rate)``.
        fee: a fee model (``PercentageFee``, ``MakerTakerFee``, ``FixedFee`` from
            ``tradeready_gym.engine``), or None for ``fee_rate``.
        slippage: None, basis points, or a slippage model.
        episode_length: truncate episodes after this many steps (None: run to the end of the range).
        random_start: draw each episode's start with the env's seeded generator (True = anywhere).
        render_mode: ``"human"``, ``"ansi"``, ``"rgb_array"`` or None.
        equity_floor: truncate when equity falls to this share of the starting balance (0.1).
        data_dir: cache folder (default ``TRADEREADY_DATA_DIR`` or the user cache).
        download: fetch missing candles from Binance instead of raising `DataNotFoundError`.
        binance_base_url, binance_data_url: Binance REST API and public-dump bases for downloads
            (default ``$TRADEREADY_BINANCE_API_URL`` / ``$TRADEREADY_BINANCE_VISION_URL`` or Binance's).

    Raises:
        UnknownArgumentError: a keyword not listed here (a `ConfigError` and a ``TypeError``).
    """
    parts, render_mode, settings = build_single_parts(symbol, action_type, kwargs)
    env = finish_env(ReplayableTradingEnv(**parts, render_mode=render_mode), settings)
    env.remember(make_historical_env, (symbol, action_type), kwargs)
    return env


def make_portfolio_env(
    symbols: Sequence[str] | None = None,
    action_type: str = "portfolio",
    **kwargs: Any,
) -> TradingEnv:
    """A multi-asset historical env (``TradeReady-Portfolio-v0``): target weights, Box(0, 1, (N,)).

    Takes the keyword arguments of `make_historical_env` (except the single-asset ones) plus
    ``symbols`` (default BTC, ETH, SOL) or its alias ``pairs``.
    """
    parts, render_mode, settings = build_portfolio_parts(symbols, action_type, kwargs)
    env = finish_env(ReplayableTradingEnv(**parts, render_mode=render_mode), settings)
    env.remember(make_portfolio_env, (symbols, action_type), kwargs)
    return env


def finish_env(env: Any, settings: dict[str, Any]) -> Any:
    """The last step of building any preset env (single, portfolio, vector, or one of the published
    package's classes in `tradeready_gym.envs.single_asset_env` and friends): store its settings and,
    with ``track_training`` (the default), attach a `tradeready_gym.tracking.TrainingTracker`.
    ``info_mode="lean"`` makes its info numbers only (`tradeready_gym.envs._snapshot.LEAN_INFO_KEYS`)."""
    env.settings = settings
    mode = check_info_mode(settings.get("info_mode", "full"))
    if mode == "lean" and getattr(env, "info_details", False):
        raise ConfigError("info_mode='lean' and info_details=True contradict each other; choose one")
    env.info_mode = mode
    env.ruin = check_ruin(settings.get("ruin", "truncated"))
    if settings.get("track_training", True):
        from tradeready_gym.tracking.tracker import attach_tracker

        attach_tracker(env)
    return env


def make_historical_vector_env(
    num_envs: int = 1,
    symbol: str = "BTCUSDT",
    action_type: str = "discrete",
    *,
    autoreset_mode: Any = "next_step",
    info_details: bool = False,
    max_episode_steps: int | None = None,
    **kwargs: Any,
) -> TradeReadyVectorEnv:
    """The native batched version of `make_historical_env` (``gymnasium.make_vec`` entry point).

    ``max_episode_steps`` (what ``gymnasium.make_vec`` passes) truncates like ``gymnasium.make``'s
    ``TimeLimit``: it is the episode length (the smaller one when ``episode_length`` is also given).
    """
    recipe = (make_historical_vector_env, (num_envs, symbol, action_type),
              {"autoreset_mode": autoreset_mode, "info_details": info_details,
               "max_episode_steps": max_episode_steps, **kwargs})
    check_int("num_envs", num_envs, 1, MAX_ENVS)
    kwargs = _time_limit(kwargs, max_episode_steps)
    sym, kind, size, env_kw, meta = resolve_single(symbol, action_type, kwargs, "make_vec")
    parts = _parts(sym, kind, **env_kw, position_size_pct=size, platform=_platform(meta))
    venv = _vector(num_envs, parts, meta, autoreset_mode, info_details,
                   _settings(sym, kind, env_kw, meta, parts, position_size_pct=size))
    venv.remember(*recipe)
    return venv


def make_portfolio_vector_env(
    num_envs: int = 1,
    symbols: Sequence[str] | None = None,
    action_type: str = "portfolio",
    *,
    autoreset_mode: Any = "next_step",
    info_details: bool = False,
    max_episode_steps: int | None = None,
    **kwargs: Any,
) -> TradeReadyVectorEnv:
    """The native batched version of `make_portfolio_env` (``gymnasium.make_vec`` entry point)."""
    recipe = (make_portfolio_vector_env, (num_envs, symbols, action_type),
              {"autoreset_mode": autoreset_mode, "info_details": info_details,
               "max_episode_steps": max_episode_steps, **kwargs})
    check_int("num_envs", num_envs, 1, MAX_ENVS)
    kwargs = _time_limit(kwargs, max_episode_steps)
    syms, env_kw, meta = resolve_portfolio(symbols, kwargs, "make_vec")
    parts = _parts(syms, action_type, **env_kw, platform=_platform(meta))
    venv = _vector(num_envs, parts, meta, autoreset_mode, info_details,
                   _settings(syms, action_type, env_kw, meta, parts))
    venv.remember(*recipe)
    return venv


def _time_limit(kwargs: dict[str, Any], max_episode_steps: Any) -> dict[str, Any]:
    if max_episode_steps is None or max_episode_steps == -1:
        return kwargs
    if isinstance(max_episode_steps, bool) or not isinstance(max_episode_steps, int | np.integer) or max_episode_steps < 1:
        raise ConfigError(f"max_episode_steps={max_episode_steps!r} is not allowed; allowed: an integer >= 1 or None")
    kw = dict(kwargs)
    current = kw.get("episode_length")
    kw["episode_length"] = int(max_episode_steps) if current is None else min(int(current), int(max_episode_steps))
    return kw


def _vector(
    num_envs: int,
    parts: dict[str, Any],
    meta: dict[str, Any],
    autoreset_mode: Any,
    info_details: bool,
    settings: dict[str, Any],
) -> ReplayableVectorEnv:
    render_mode = meta["render_mode"]
    if render_mode is not None:
        raise ConfigError(f"render_mode={render_mode!r} is not supported by the vector env; allowed: None")
    venv = ReplayableVectorEnv(num_envs, **parts, autoreset_mode=autoreset_mode, info_details=info_details)
    finish_env(venv, settings)
    return venv

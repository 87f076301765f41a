"""The feature registry: names -> scale-free, causal per-bar feature matrices.

`compute_features` turns a `MarketData` into a ``(n_bars, n_symbols, n_columns)`` float32 array. Row
``t`` depends only on bars ``<= t`` and rows from `warmup_bars` on are finite. Every column is
scale-free (a ratio, a log ratio or a bounded oscillator), so one policy sees the same numbers at any
price level. The exact formulas are in ``docs/features.md``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from tradeready_gym.data.market import MarketData
from tradeready_gym.errors import ConfigError
from tradeready_gym.features import indicators as ind

__all__ = [
    "BOLLINGER_K",
    "BOLLINGER_WINDOW",
    "FEATURES",
    "FEATURE_COLUMNS",
    "FEATURE_WARMUP",
    "MACD_FAST",
    "MACD_SIGNAL",
    "MACD_SLOW",
    "VOLUME_WINDOW",
    "WILDER_PERIOD",
    "compute_features",
    "feature_columns",
    "validate_feature_names",
    "warmup_bars",
]

WILDER_PERIOD = 14
"""Period of RSI, ATR and ADX."""
MACD_FAST, MACD_SLOW, MACD_SIGNAL = 12, 26, 9
BOLLINGER_WINDOW, BOLLINGER_K = 20, 2.0
VOLUME_WINDOW = 20
"""Bars in the causal rolling mean that volume is measured against."""

FEATURES: dict[str, int] = {
    "ohlcv": 5,
    "returns": 1,
    "rsi_14": 1,
    "macd": 3,
    "bollinger": 3,
    "atr": 1,
    "adx": 1,
    "volume": 1,
}
"""Feature name -> number of columns it contributes per symbol and bar."""

FEATURE_COLUMNS: dict[str, tuple[str, ...]] = {
    "ohlcv": ("open_rel", "high_rel", "low_rel", "close_rel", "volume_rel"),
    "returns": ("log_return",),
    "rsi_14": ("rsi_14",),
    "macd": ("macd", "macd_signal", "macd_hist"),
    "bollinger": ("bb_upper_dist", "bb_lower_dist", "bb_pct_b"),
    "atr": ("atr_14",),
    "adx": ("adx_14",),
    "volume": ("volume_rel",),
}
"""Feature name -> the names of its columns, in output order."""

FEATURE_WARMUP: dict[str, int] = {
    "ohlcv": VOLUME_WINDOW - 1,
    "returns": 1,
    "rsi_14": WILDER_PERIOD,
    "macd": MACD_SLOW + MACD_SIGNAL - 2,
    "bollinger": BOLLINGER_WINDOW - 1,
    "atr": WILDER_PERIOD,
    "adx": 2 * WILDER_PERIOD - 1,
    "volume": VOLUME_WINDOW - 1,
}
"""Feature name -> first bar index from which the feature is finite."""


def validate_feature_names(names: Sequence[str], *, param: str = "names") -> tuple[str, ...]:
    """Check a list of feature names; return it as a tuple.

    Raises:
        ConfigError: ``names`` is a bare string, empty, holds a duplicate or an unknown name.
    """
    allowed = ", ".join(FEATURES)
    if isinstance(names, str | bytes):
        raise ConfigError(
            f"{param}={names!r} must be a list of feature names, not a string; allowed: {allowed}"
        )
    try:
        out = tuple(names)
    except TypeError:
        raise ConfigError(f"{param}={names!r} must be a list of feature names; allowed: {allowed}") from None
    if not out:
        raise ConfigError(f"{param}=[] must hold at least one feature name; allowed: {allowed}")
    for n in out:
        if not isinstance(n, str) or n not in FEATURES:
            raise ConfigError(f"{param} holds unknown feature {n!r}; allowed: {allowed}")
    dup = sorted({n for n in out if out.count(n) > 1})
    if dup:
        raise ConfigError(f"{param}={list(out)!r} lists {dup} more than once; each feature may appear once")
    return out


def warmup_bars(names: Sequence[str]) -> int:
    """Index of the first bar at which every feature in ``names`` is finite.

    Example:
        >>> warmup_bars(["ohlcv", "rsi_14"])
        19
    """
    return max(FEATURE_WARMUP[n] for n in validate_feature_names(names))


def feature_columns(names: Sequence[str]) -> list[str]:
    """Column names of ``compute_features(market, names)`` along its last axis.

    Example:
        >>> feature_columns(["returns", "macd"])
        ['log_return', 'macd', 'macd_signal', 'macd_hist']
    """
    return [c for n in validate_feature_names(names) for c in FEATURE_COLUMNS[n]]


def _volume_rel(v: np.ndarray) -> np.ndarray:
    m = ind.rolling_mean(v, VOLUME_WINDOW)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(m > 0, v / np.where(m > 0, m, 1.0), 1.0)
    out = np.log1p(ratio) - np.log(2.0)
    out[np.isnan(m)] = np.nan
    return out


def _prev(c: np.ndarray) -> np.ndarray:
    p = np.empty_like(c)
    p[0] = np.nan
    p[1:] = c[:-1]
    return p


def _ohlcv(o: np.ndarray, h: np.ndarray, lo: np.ndarray, c: np.ndarray, v: np.ndarray) -> list[np.ndarray]:
    pc = _prev(c)
    return [o / pc - 1.0, h / pc - 1.0, lo / pc - 1.0, c / pc - 1.0, _volume_rel(v)]


def _macd(c: np.ndarray) -> list[np.ndarray]:
    line, sig, hist = ind.macd(c, MACD_FAST, MACD_SLOW, MACD_SIGNAL)
    return [line / c, sig / c, hist / c]


def _bollinger(c: np.ndarray) -> list[np.ndarray]:
    _mid, up, low = ind.bollinger(c, BOLLINGER_WINDOW, BOLLINGER_K)
    width = up - low
    with np.errstate(divide="ignore", invalid="ignore"):
        pct_b = np.where(width > 0, (c - low) / np.where(width > 0, width, 1.0), 0.5)
    pct_b[np.isnan(width)] = np.nan
    return [up / c - 1.0, low / c - 1.0, pct_b]


_Compute = Callable[[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray], list[np.ndarray]]

_COMPUTE: dict[str, _Compute] = {
    "ohlcv": _ohlcv,
    "returns": lambda o, h, lo, c, v: [ind.log_returns(c)],
    "rsi_14": lambda o, h, lo, c, v: [ind.rsi(c, WILDER_PERIOD)],
    "macd": lambda o, h, lo, c, v: _macd(c),
    "bollinger": lambda o, h, lo, c, v: _bollinger(c),
    "atr": lambda o, h, lo, c, v: [ind.atr(h, lo, c, WILDER_PERIOD) / c],
    "adx": lambda o, h, lo, c, v: [ind.adx(h, lo, c, WILDER_PERIOD)],
    "volume": lambda o, h, lo, c, v: [_volume_rel(v)],
}


def compute_features(market: MarketData, names: Sequence[str]) -> np.ndarray:
    """Per-bar features of every symbol, columns in the order of ``names``.

    Args:
        market: the candles.
        names: feature names from `FEATURES` (each at most once).

    Returns:
        ``(market.n_bars, market.n_symbols, sum(FEATURES[n] for n in names))`` float32. Row ``t``
        uses bars ``<= t`` only; rows before ``warmup_bars(names)`` may hold NaN, later rows are finite.

    Raises:
        ConfigError: an unknown or repeated name, or ``market`` is not a `MarketData`.

    Example:
        >>> from tradeready_gym.data.synthetic import generate_synthetic
        >>> market = generate_synthetic(1000, n_symbols=2, seed=1)
        >>> x = compute_features(market, ["ohlcv", "rsi_14"])
        >>> x.shape, bool(np.isfinite(x[warmup_bars(["ohlcv", "rsi_14"]):]).all())
        ((1000, 2, 6), True)
    """
    names = validate_feature_names(names)
    if not isinstance(market, MarketData):
        raise ConfigError(f"market must be a MarketData; got {type(market).__name__}")
    width = sum(FEATURES[n] for n in names)
    out = np.empty((market.n_bars, market.n_symbols, width), dtype=np.float32)
    if market.n_bars == 0:
        return out
    for j in range(market.n_symbols):
        cols = [
            np.ascontiguousarray(a[:, j], dtype=np.float64)
            for a in (market.open, market.high, market.low, market.close, market.volume)
        ]
        k = 0
        for n in names:
            for col in _COMPUTE[n](*cols):
                out[:, j, k] = col
                k += 1
    return out

"""Resampling by bar close: build a coarser timeframe from a finer one.

A target bar with open time ``B`` (a multiple of the target interval since the Unix epoch, so days
start at 00:00 UTC and 4h bars at 00:00, 04:00, ...) rolls up every source bar whose open time lies
in ``[B, B + interval)``: open = first open, high = max, low = min, close = last close, volume and
the extra volumes / trade counts = sums. The target bar is known at its close ``B + interval``,
which is the close of its last source bar, so no information leaks forward.

Incomplete buckets (fewer real source bars than ``target / source``, because of an outage, a
forward-filled bar or the still-forming last bucket) follow the ``incomplete`` policy:

* ``"drop"`` (default): the bucket is left out, so every bar of the result is a complete roll-up;
* ``"keep"``: the bucket is kept, and ``extra["source_bars"]`` holds, for every bar and symbol, the
  number of real source bars it was built from (a bar is incomplete where it is below
  ``target / source``); a bucket with no real bar at all is marked in ``filled``.
"""

from __future__ import annotations

from typing import Final

import numpy as np

from tradeready_gym.data.market import MarketData
from tradeready_gym.errors import ConfigError
from tradeready_gym.timeframes import TIMEFRAMES, timeframe_ns

__all__ = ["INCOMPLETE_POLICIES", "resample"]

#: Allowed values of ``incomplete=``.
INCOMPLETE_POLICIES: Final = ("drop", "keep")


def resample(market: MarketData, timeframe: str, *, incomplete: str = "drop") -> MarketData:
    """Roll ``market`` up to the coarser ``timeframe`` by bar close.

    Args:
        market: the finer candles (any number of symbols).
        timeframe: the target interval; a whole multiple of ``market.timeframe``.
        incomplete: ``"drop"`` (default) or ``"keep"`` buckets with missing source bars.

    Returns:
        The resampled `MarketData` (same symbols, ``synthetic`` flag kept). Returns ``market`` itself
        when ``timeframe`` equals its timeframe.

    Raises:
        ConfigError: unknown ``timeframe`` or ``incomplete``, or a target that is not a whole
            multiple of the source interval.

    Example:
        >>> from tradeready_gym.data.synthetic import generate_synthetic
        >>> m5 = generate_synthetic(24, timeframe="5m", seed=3, start="2024-01-01")
        >>> resample(m5, "1h").n_bars
        2
    """
    if incomplete not in INCOMPLETE_POLICIES:
        raise ConfigError(
            f"incomplete={incomplete!r} is not allowed; allowed: {', '.join(INCOMPLETE_POLICIES)}"
        )
    target = timeframe_ns(timeframe)
    source = market.interval_ns
    if target == source:
        return market
    if target < source or target % source:
        coarser = [name for name, ns in TIMEFRAMES.items() if ns > source and ns % source == 0]
        raise ConfigError(
            f"timeframe={timeframe!r} cannot be built from {market.timeframe} bars; "
            f"allowed: {', '.join(coarser) or 'none'}"
        )
    per_bucket = target // source
    ot = market.open_time
    shape = (0, market.n_symbols)
    if ot.size == 0:
        return _empty(market, timeframe)
    keys = (ot // target) * target
    starts = np.concatenate([[0], np.flatnonzero(np.diff(keys)) + 1])
    ends = np.concatenate([starts[1:], [ot.size]])
    real = np.ones(market.close.shape, dtype=np.int64)
    if market.filled is not None:
        real = (~market.filled).astype(np.int64)
    count = np.add.reduceat(real, starts, axis=0)
    o = market.open[starts]
    h = np.maximum.reduceat(market.high, starts, axis=0)
    lo = np.minimum.reduceat(market.low, starts, axis=0)
    c = market.close[ends - 1]
    v = np.add.reduceat(market.volume, starts, axis=0)
    extra = {k: np.add.reduceat(arr, starts, axis=0) for k, arr in market.extra.items() if k != "source_bars"}
    new_ot = keys[starts]
    filled: np.ndarray | None = None
    if incomplete == "drop":
        keep = (count >= per_bucket).all(axis=1)
        new_ot, o, h, lo, c, v = new_ot[keep], o[keep], h[keep], lo[keep], c[keep], v[keep]
        extra = {k: a[keep] for k, a in extra.items()}
        if not keep.any():
            o = h = lo = c = v = np.empty(shape)
    else:
        extra["source_bars"] = count.astype(np.float64)
        filled = count == 0
        if not filled.any():
            filled = None
    return MarketData(market.symbols, timeframe, new_ot, o, h, lo, c, v, extra, filled, market.synthetic)


def _empty(market: MarketData, timeframe: str) -> MarketData:
    e = np.empty((0, market.n_symbols))
    return MarketData(
        market.symbols, timeframe, np.empty(0, np.int64), e, e, e, e, e, {}, None, market.synthetic
    )

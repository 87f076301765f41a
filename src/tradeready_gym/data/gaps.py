"""Gaps in the time grid (real exchange outages) and the gap policy.

A *gap* is a run of missing bars between two present bars of the grid: open times
``t[i] .. t[i+1]`` more than one interval apart. Gaps are never hidden: `find_gaps` reports them,
and the policy decides what the candles look like afterwards:

* ``"skip"`` (default): the bars stay as they are; the grid has a hole and the next bar simply
  follows the last one (indicators and the engine step over it).
* ``"ffill"``: each missing bar is inserted as a flat bar: open = high = low = close = the previous
  close, volume (and every extra volume/trade count) 0, and ``MarketData.filled`` is True there.

Example:
    >>> from tradeready_gym.data.synthetic import generate_synthetic
    >>> md = generate_synthetic(10, timeframe="1h", seed=0)
    >>> holed = md.iloc(0, 4), md.iloc(6, 10)
    >>> from tradeready_gym.data.readers import concat_markets
    >>> g = find_gaps(concat_markets(list(holed)))
    >>> g[0].missing_bars
    2
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

import numpy as np

from tradeready_gym.data.market import DataQualityWarning, MarketData
from tradeready_gym.errors import ConfigError, DataError
from tradeready_gym.timeframes import format_iso

__all__ = [
    "GAP_POLICIES",
    "MISSING_WARN_MIN",
    "MISSING_WARN_SHARE",
    "Gap",
    "apply_gap_policy",
    "fill_gaps",
    "find_gaps",
    "missing_bars",
    "warn_missing_bars",
]

#: `load_market_data` warns (`DataQualityWarning`) when more than this share of the bars between
#: the first and the last bar of a symbol is missing (absent, or forward-filled), and at least
#: `MISSING_WARN_MIN` bars are (one outage in a day of 2h bars is not "many").
MISSING_WARN_SHARE: Final = 0.05
MISSING_WARN_MIN: Final = 5

#: Allowed values of the ``gaps=`` argument.
GAP_POLICIES: Final = ("skip", "ffill")


@dataclass(frozen=True)
class Gap:
    """A run of missing bars.

    Attributes:
        start: open time (int64 ns UTC) of the first missing bar.
        end: open time of the first bar after the gap (exclusive end).
        missing_bars: number of missing bars, ``(end - start) / interval``.
        symbols: the symbols missing there (every symbol for a hole in the shared grid).
        filled: True when the bars exist as forward-filled flat bars (policy ``"ffill"``).
    """

    start: int
    end: int
    missing_bars: int
    symbols: tuple[str, ...]
    filled: bool = False

    @property
    def start_iso(self) -> str:
        return format_iso(self.start)

    @property
    def end_iso(self) -> str:
        return format_iso(self.end)

    def describe(self) -> dict[str, Any]:
        """JSON-friendly form."""
        return {
            "start": self.start_iso,
            "end": self.end_iso,
            "missing_bars": self.missing_bars,
            "symbols": list(self.symbols),
            "filled": self.filled,
        }


def find_gaps(market: MarketData) -> list[Gap]:
    """Every gap of ``market``: holes in the grid, then forward-filled runs per symbol.

    A hole (consecutive open times more than one interval apart) is missing for every symbol. Bars
    marked in ``market.filled`` are reported per symbol with ``filled=True``.
    """
    iv = market.interval_ns
    ot = market.open_time
    gaps: list[Gap] = []
    if ot.size > 1:
        d = np.diff(ot)
        for i in np.flatnonzero(d > iv):
            start = int(ot[i]) + iv
            end = int(ot[i + 1])
            gaps.append(Gap(start, end, (end - start) // iv, market.symbols, False))
    if market.filled is not None:
        for j, sym in enumerate(market.symbols):
            f = market.filled[:, j].astype(np.int8)
            edges = np.diff(np.concatenate([[0], f, [0]]))
            for a, b in zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1), strict=True):
                start = int(ot[a])
                end = int(ot[b - 1]) + iv
                gaps.append(Gap(start, end, int(b - a), (sym,), True))
    gaps.sort(key=lambda g: (g.start, g.symbols))
    return gaps


def missing_bars(market: MarketData) -> tuple[int, np.ndarray]:
    """``(bars in the span, (S,) missing bars per symbol)``: the grid from the first to the last bar,
    and per symbol the bars of it without a real candle (absent, or forward-filled)."""
    s = market.n_symbols
    if market.n_bars == 0:
        return 0, np.zeros(s, dtype=np.int64)
    span = int((int(market.open_time[-1]) - int(market.open_time[0])) // market.interval_ns) + 1
    real = np.full(s, market.n_bars, dtype=np.int64)
    if market.filled is not None:
        real -= market.filled.sum(axis=0).astype(np.int64)
    return span, span - real


def warn_missing_bars(market: MarketData, share: float = MISSING_WARN_SHARE) -> None:
    """Warn (`DataQualityWarning`) for every symbol missing more than ``share`` of its span's bars
    (and at least `MISSING_WARN_MIN` bars)."""
    import warnings

    span, missing = missing_bars(market)
    if span == 0:
        return
    for sym, m in zip(market.symbols, missing, strict=True):
        if m > share * span and m >= MISSING_WARN_MIN:
            warnings.warn(
                f"{sym} {market.timeframe}: {int(m)} of the {span} bars from "
                f"{format_iso(int(market.open_time[0]))} to {format_iso(int(market.open_time[-1]))} are "
                f"missing ({100.0 * m / span:.1f}%); find_gaps(market) lists them",
                DataQualityWarning,
                stacklevel=3,
            )


def fill_gaps(market: MarketData) -> MarketData:
    """Insert flat bars into every hole of the grid (see the module docs); ``filled`` marks them."""
    iv = market.interval_ns
    ot = market.open_time
    if ot.size < 2 or not (np.diff(ot) > iv).any():
        if market.filled is None:
            return _with_filled(market, np.zeros(market.close.shape, dtype=bool))
        return market
    off = np.flatnonzero((ot - ot[0]) % iv)
    if off.size:
        raise DataError(
            f"open time {format_iso(int(ot[off[0]]))} is off the {market.timeframe} grid that starts at "
            f"{format_iso(int(ot[0]))}; gaps can only be filled on a regular grid"
        )
    n_full = (
        int(ot[-1]) - int(ot[0])
    ) // iv + 1  # not np.arange(start, stop, iv): its float length can drop a bar
    full = int(ot[0]) + np.arange(n_full, dtype=np.int64) * iv
    pos = np.searchsorted(full, ot)
    present = np.zeros(full.shape[0], dtype=bool)
    present[pos] = True
    # index of the last present bar at or before each grid slot
    src = np.maximum.accumulate(np.where(present, np.arange(full.shape[0]), -1))
    src_row = np.searchsorted(pos, src)  # row in the original arrays
    close = market.close[src_row]
    out: dict[str, np.ndarray] = {}
    for name in ("open", "high", "low", "close"):
        arr = np.array(getattr(market, name)[src_row])
        arr[~present] = close[~present]
        out[name] = arr
    vol = np.array(market.volume[src_row])
    vol[~present] = 0.0
    extra = {}
    for k, v in market.extra.items():
        a = np.array(v[src_row])
        a[~present] = 0.0
        extra[k] = a
    filled = np.repeat(~present[:, None], market.n_symbols, axis=1)
    if market.filled is not None:
        filled[pos] |= market.filled
    return MarketData(
        market.symbols,
        market.timeframe,
        full,
        out["open"],
        out["high"],
        out["low"],
        out["close"],
        vol,
        extra,
        filled,
        market.synthetic,
    )


def _with_filled(market: MarketData, filled: np.ndarray) -> MarketData:
    return MarketData(
        market.symbols,
        market.timeframe,
        market.open_time,
        market.open,
        market.high,
        market.low,
        market.close,
        market.volume,
        market.extra,
        filled,
        market.synthetic,
    )


def apply_gap_policy(market: MarketData, gaps: str = "skip") -> MarketData:
    """Apply the gap policy ``gaps`` (``"skip"`` or ``"ffill"``) to ``market``.

    Raises:
        ConfigError: ``gaps`` is not one of `GAP_POLICIES`.
    """
    if gaps == "skip":
        return market
    if gaps == "ffill":
        return fill_gaps(market)
    raise ConfigError(f"gaps={gaps!r} is not a gap policy; allowed: {', '.join(GAP_POLICIES)}")

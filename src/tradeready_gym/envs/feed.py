"""`DataFeed`: the market arrays, precomputed feature matrices and the episode range of an env."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from tradeready_gym.data.market import MarketData
from tradeready_gym.errors import ConfigError, DataNotFoundError
from tradeready_gym.features.core import BOLLINGER_WINDOW, VOLUME_WINDOW
from tradeready_gym.timeframes import format_iso
from tradeready_gym.validation import check_time_range

__all__ = ["DataFeed"]

#: Features whose row ``t`` is a function of bars ``t - k + 1 .. t`` only (windowed loops that
#: restart at every bar), by name -> ``k``; recomputing them over that tail gives the same bits.
#: Features not listed (EMA / Wilder recursions) depend on every bar since the first.
_EXACT_TAIL: dict[str, int] = {
    "ohlcv": VOLUME_WINDOW, "returns": 2, "bollinger": BOLLINGER_WINDOW, "volume": VOLUME_WINDOW,
}


class DataFeed:
    """Candles an environment replays, with history before the episode range for warm-up.

    The decision at bar ``t`` is made at the close of bar ``t`` and sees bars ``0..t`` only. Episodes
    start at a decision bar whose open time is at or after ``start_time`` and end at the last bar
    whose open time is before ``end_time``. Bars before ``start_time`` are history: indicators and
    the observation window warm up on them instead of being padded with zeros.

    Feature matrices are computed once per feature list (`features`) and shared by every env
    (single or vector) built on this feed.

    Args:
        market: the candles, including any history before ``start_time``.
        start_time: first bar (open time) an episode may start on; None = the first bar.
        end_time: episodes end before the bar with this open time; None = after the last bar.

    Example:
        >>> feed = DataFeed(market, start_time="2024-03-01T00:00:00Z")  # doctest: +SKIP
        >>> feed.features(["ohlcv", "rsi_14"]).shape  # doctest: +SKIP
        (4368, 1, 6)
    """

    def __init__(self, market: MarketData, *, start_time: object | None = None, end_time: object | None = None) -> None:
        if not isinstance(market, MarketData):
            raise ConfigError(f"market must be a MarketData; got {type(market).__name__}")
        self.market = market
        n = market.n_bars
        span = "no bars" if n == 0 else (
            f"{format_iso(int(market.open_time[0]))} .. {format_iso(int(market.open_time[-1]))}"
        )
        s_ns, e_ns = check_time_range(start_time, end_time, start_param="start_time", end_param="end_time")
        first = 0 if s_ns is None else market.index_of(s_ns)
        stop = n if e_ns is None else market.index_of(e_ns)
        if stop - first < 2:
            raise DataNotFoundError(
                f"start_time={start_time!r}, end_time={end_time!r} leaves {max(stop - first, 0)} bar(s) of "
                f"{', '.join(market.symbols)} {market.timeframe}; at least 2 are needed. Available: {span}"
            )
        #: Bar index of the earliest possible first decision (before observer warm-up is applied).
        self.start_index = int(first)
        #: Bar index of the final decision clock of every episode (the last bar in range).
        self.end_index = int(stop - 1)
        self.start_time = start_time
        self.end_time = end_time
        self._features: dict[tuple[str, ...], np.ndarray] = {}
        seconds = ((market.open_time + market.interval_ns) // 1_000_000_000).astype("datetime64[s]")
        #: ISO 8601 'Z' decision time (close time) of every bar, precomputed once.
        self.iso_times: np.ndarray = np.char.add(np.datetime_as_string(seconds, unit="s"), "Z")
        self._lists: tuple[list[str], list[str], list[list[float]]] | None = None

    # ------------------------------------------------------------------ market views
    @property
    def symbols(self) -> tuple[str, ...]:
        return self.market.symbols

    @property
    def n_bars(self) -> int:
        return self.market.n_bars

    @property
    def close(self) -> np.ndarray:
        """``(T, S)`` closes."""
        return self.market.close

    def features(self, names: Sequence[str]) -> np.ndarray:
        """The ``(T, S, F)`` float32 matrix of ``names`` (computed once, then cached; read-only)."""
        key = tuple(names)
        matrix = self._features.get(key)
        if matrix is None:
            from tradeready_gym.features import compute_features

            base = np.ascontiguousarray(compute_features(self.market, list(key)), dtype=np.float32)
            # a read-only view of a private writable block: `update_rows` can write through it
            matrix = base.view()
            matrix.setflags(write=False)
            self._features[key] = matrix
        return matrix

    def update_rows(self, start: int, stop: int) -> None:
        """Recompute the per-bar values of bars ``start .. stop - 1`` after their candles changed in place.

        For market data that grows in place (the live env writes each new final candle into the
        base buffers of this feed's `MarketData`, whose arrays are read-only views of them): every
        cached feature matrix gets exactly the rows `compute_features` gives on the whole data
        (features are causal: row ``t`` depends on bars ``<= t`` only), and the closes of `lists`
        are refreshed. Windowed features (``ohlcv``, ``returns``, ``bollinger``, ``volume``) are
        recomputed over a bounded tail of their window; recursive ones (``rsi_14``, ``macd``,
        ``atr``, ``adx``: EMA / Wilder smoothing seeded at the first bar) over bars ``0 .. stop - 1``.
        Rows from ``stop`` on are left as they are. Open times and ISO times are not recomputed (the
        grid is fixed when the feed is made).

        Raises:
            ConfigError: ``start`` / ``stop`` are not ``0 <= start < stop <= n_bars``.
        """
        if isinstance(start, bool) or isinstance(stop, bool) or not (0 <= int(start) < int(stop) <= self.n_bars):
            raise ConfigError(
                f"start={start!r}, stop={stop!r} is not allowed; allowed: 0 <= start < stop <= {self.n_bars}"
            )
        start, stop = int(start), int(stop)
        from tradeready_gym.features import compute_features

        slices: dict[int, MarketData] = {}
        for key, matrix in self._features.items():
            base = matrix.base
            assert isinstance(base, np.ndarray) and base.flags.writeable
            k = 0
            for name in key:
                tail = _EXACT_TAIL.get(name)
                lo = 0 if tail is None else max(0, start - tail + 1)
                sub = slices.get(lo)
                if sub is None:
                    sub = slices[lo] = self.market.iloc(lo, stop)
                cols = compute_features(sub, [name])
                width = cols.shape[2]
                base[start:stop, :, k : k + width] = cols[start - lo :]
                k += width
        if self._lists is not None:
            rows = self._lists[2]
            rows[start:stop] = self.market.close[start:stop].tolist()

    def time_iso(self, t: int) -> str:
        """ISO 8601 decision time of bar ``t`` (its close time)."""
        return self.lists()[0][t]

    def lists(self) -> tuple[list[str], list[str], list[list[float]]]:
        """Per-bar Python values for building info dicts without numpy scalars (made once, cached).

        Returns ``(close_iso, open_iso, close_rows)``: the ISO 8601 close time of every bar, the
        ISO 8601 open time of every bar (as `iso_of` formats it), and the closes of every bar.
        """
        if self._lists is None:
            close_iso = self.iso_times.tolist()
            m = self.market
            ot = m.open_time
            open_iso = [self.iso_of(int(ns)) for ns in ot[:1]]
            for k in range(1, m.n_bars):
                # the open time of bar k is the close time of bar k-1 unless a gap lies between them
                same = int(ot[k - 1]) + m.interval_ns == int(ot[k])
                open_iso.append(close_iso[k - 1] if same else format_iso(int(ot[k])))
            self._lists = (close_iso, open_iso, m.close.tolist())
        return self._lists

    def iso_of(self, ns: int) -> str:
        """ISO 8601 'Z' of a time in ns (from the precomputed strings when it is a bar's close time)."""
        m = self.market
        k = int(np.searchsorted(m.open_time, ns - m.interval_ns))
        if k < m.n_bars and int(m.open_time[k]) + m.interval_ns == ns:
            return str(self.iso_times[k])
        return format_iso(ns)

    def price_history(self, t: int, n: int) -> np.ndarray:
        """``(min(n, t + 1), S)`` closes of bars ``t - n + 1 .. t`` (a read-only view, oldest first)."""
        if n < 1:
            raise ConfigError(f"n={n!r} must be >= 1")
        return self.market.close[max(0, t - n + 1) : t + 1]

    def describe(self) -> dict[str, object]:
        """A JSON-friendly summary: symbols, timeframe, episode range, bars of history."""
        return {
            **self.market.describe(),
            "episode_start": format_iso(int(self.market.open_time[self.start_index])),
            "episode_end": format_iso(int(self.market.open_time[self.end_index])),
            "history_bars": self.start_index,
        }

    def __repr__(self) -> str:
        return (
            f"DataFeed({list(self.symbols)}, {self.market.timeframe}, bars {self.start_index}..{self.end_index} "
            f"of {self.n_bars})"
        )

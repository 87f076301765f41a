"""`MarketData`: symbols x bars on one aligned UTC grid, as read-only numpy arrays.

This is the one object every layer exchanges: loaders and the cache produce it, the engine and the
environments consume it. It imports numpy only; pandas is imported lazily by the DataFrame bridges.

A bar is identified by its open time and is *known* only at its close time
(``open_time + interval_ns``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from tradeready_gym.errors import ConfigError, DataError
from tradeready_gym.timeframes import format_iso, parse_time, timeframe_ns

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

__all__ = ["OPTIONAL_FIELDS", "PRICE_FIELDS", "REQUIRED_FIELDS", "DataQualityWarning", "MarketData"]


class DataQualityWarning(UserWarning):
    """Candles that load but deserve a look: many missing bars, a time index without a time zone.

    Filter it like any warning, e.g. ``warnings.simplefilter("error", DataQualityWarning)`` to make
    it an error.
    """

PRICE_FIELDS = ("open", "high", "low", "close")
REQUIRED_FIELDS = (*PRICE_FIELDS, "volume")
OPTIONAL_FIELDS = ("quote_volume", "trades", "taker_buy_base_volume", "taker_buy_quote_volume")


def _readonly(a: np.ndarray) -> np.ndarray:
    a = np.ascontiguousarray(a)
    if a.flags.writeable:
        a = a.view()
        a.setflags(write=False)
    return a


@dataclass(frozen=True, eq=False)
class MarketData:
    """Candles for ``symbols`` on one aligned time grid.

    Attributes:
        symbols: symbol names, e.g. ``("BTCUSDT", "ETHUSDT")``; column order of every 2-D array.
        timeframe: Binance interval string, e.g. ``"1h"``.
        open_time: ``(n_bars,)`` int64 nanoseconds UTC, strictly increasing.
        open, high, low, close, volume: ``(n_bars, n_symbols)`` float64.
        extra: optional ``(n_bars, n_symbols)`` float64 arrays keyed by name
            (``quote_volume``, ``trades``, ``taker_buy_base_volume``, ``taker_buy_quote_volume``).
        filled: optional ``(n_bars, n_symbols)`` bool, True where a bar was forward-filled over a gap.
        synthetic: True when the candles come from the synthetic generator (never a real symbol).

    All arrays are read-only. Construction validates them (see `validate`).

    Example:
        >>> import numpy as np
        >>> t = np.array([0, 3_600_000_000_000], dtype=np.int64)
        >>> px = np.array([[1.0], [2.0]])
        >>> md = MarketData(("X",), "1h", t, px, px, px, px, px)
        >>> md.n_bars, md.n_symbols
        (2, 1)
    """

    symbols: tuple[str, ...]
    timeframe: str
    open_time: np.ndarray
    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    volume: np.ndarray
    extra: Mapping[str, np.ndarray] = field(default_factory=dict)
    filled: np.ndarray | None = None
    synthetic: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "symbols", tuple(str(s) for s in self.symbols))
        timeframe_ns(self.timeframe)
        ot = np.asarray(self.open_time)
        if ot.ndim != 1 or not np.issubdtype(ot.dtype, np.integer):
            raise DataError(f"open_time must be a 1-D int64 ns array; got dtype={ot.dtype}, shape={ot.shape}")
        object.__setattr__(self, "open_time", _readonly(ot.astype(np.int64, copy=False)))
        shape = (ot.shape[0], len(self.symbols))
        for name in REQUIRED_FIELDS:
            arr = np.asarray(getattr(self, name), dtype=np.float64)
            if arr.ndim == 1 and shape[1] == 1:
                arr = arr.reshape(-1, 1)
            if arr.shape != shape:
                raise DataError(f"{name} must have shape (n_bars, n_symbols)={shape}; got {arr.shape}")
            object.__setattr__(self, name, _readonly(arr))
        extra: dict[str, np.ndarray] = {}
        for name, values in dict(self.extra).items():
            arr = np.asarray(values, dtype=np.float64)
            if arr.ndim == 1 and shape[1] == 1:
                arr = arr.reshape(-1, 1)
            if arr.shape != shape:
                raise DataError(f"{name} must have shape (n_bars, n_symbols)={shape}; got {arr.shape}")
            extra[name] = _readonly(arr)
        object.__setattr__(self, "extra", extra)
        if self.filled is not None:
            f = np.asarray(self.filled, dtype=bool)
            if f.shape != shape:
                raise DataError(f"filled must have shape {shape}; got {f.shape}")
            object.__setattr__(self, "filled", _readonly(f))
        if len(set(self.symbols)) != len(self.symbols):
            raise DataError(f"symbols must be unique; got {self.symbols}")
        self.validate()

    # ------------------------------------------------------------------ checks
    def validate(self) -> None:
        """Check the candles; raise `DataError` naming the first bad bar.

        Checks: open times strictly increasing (sorted, no duplicates), no NaN or infinity, prices > 0, volume >= 0,
        ``high >= max(open, close)`` and ``low <= min(open, close)``. Grid spacing (bars on multiples of the interval) is checked by the
        readers and `tradeready_gym.data.gaps`, which report gaps instead of rejecting them.
        """
        ot = self.open_time
        if ot.size > 1:
            d = np.diff(ot)
            bad = np.flatnonzero(d <= 0)
            if bad.size:
                i = int(bad[0]) + 1
                kind = "duplicate" if d[bad[0]] == 0 else "unsorted"
                raise DataError(
                    f"open_time has a {kind} row at index {i} ({format_iso(int(ot[i]))}); "
                    "rows must be sorted by open time with no duplicates"
                )
        for name in REQUIRED_FIELDS:
            arr = getattr(self, name)
            finite = np.isfinite(arr)
            if not finite.all():
                i, j = np.argwhere(~finite)[0]
                raise DataError(
                    f"{name} of {self.symbols[j]} at {format_iso(int(ot[i]))} is {arr[i, j]}; values must be finite"
                )
        for name in PRICE_FIELDS:
            arr = getattr(self, name)
            if (arr <= 0).any():
                i, j = np.argwhere(arr <= 0)[0]
                raise DataError(
                    f"{name} of {self.symbols[j]} at {format_iso(int(ot[i]))} is {arr[i, j]}; prices must be > 0"
                )
        if (self.volume < 0).any():
            i, j = np.argwhere(self.volume < 0)[0]
            raise DataError(
                f"volume of {self.symbols[j]} at {format_iso(int(ot[i]))} is {self.volume[i, j]}; must be >= 0"
            )
        hi_bad = self.high < np.maximum(self.open, self.close)
        lo_bad = self.low > np.minimum(self.open, self.close)
        for mask, what in ((hi_bad, "high < max(open, close)"), (lo_bad, "low > min(open, close)")):
            if mask.any():
                i, j = np.argwhere(mask)[0]
                raise DataError(
                    f"inconsistent OHLC for {self.symbols[j]} at {format_iso(int(ot[i]))}: {what} "
                    f"(open={self.open[i, j]}, high={self.high[i, j]}, low={self.low[i, j]}, close={self.close[i, j]})"
                )

    # ------------------------------------------------------------------ shape
    @property
    def n_bars(self) -> int:
        return int(self.open_time.shape[0])

    @property
    def n_symbols(self) -> int:
        return len(self.symbols)

    @property
    def interval_ns(self) -> int:
        """Length of one bar in nanoseconds."""
        return timeframe_ns(self.timeframe)

    @property
    def close_time(self) -> np.ndarray:
        """``(n_bars,)`` int64 ns: the time each bar becomes known (open time + interval)."""
        return self.open_time + self.interval_ns

    @property
    def quote_volume(self) -> np.ndarray | None:
        return self.extra.get("quote_volume")

    def symbol_index(self, symbol: str) -> int:
        """Column of ``symbol``; `ConfigError` naming the allowed symbols if unknown."""
        try:
            return self.symbols.index(symbol)
        except ValueError:
            raise ConfigError(f"symbol={symbol!r} is not in this data; allowed: {', '.join(self.symbols)}") from None

    def field(self, name: str) -> np.ndarray:
        """A ``(n_bars, n_symbols)`` array by name (required or extra)."""
        if name in REQUIRED_FIELDS:
            return getattr(self, name)  # type: ignore[no-any-return]
        if name in self.extra:
            return self.extra[name]
        allowed = ", ".join((*REQUIRED_FIELDS, *self.extra))
        raise ConfigError(f"field={name!r} is not in this data; allowed: {allowed}")

    # ------------------------------------------------------------------ slicing
    def index_of(self, time: object, *, side: str = "left") -> int:
        """Index of the first bar with open time >= ``time`` (``side="right"``: > ``time``)."""
        t = parse_time(time)
        return int(np.searchsorted(self.open_time, t, side=side))  # type: ignore[call-overload]

    def take(self, rows: slice | np.ndarray) -> MarketData:
        """The bars selected by ``rows``: a slice (zero-copy views), a boolean mask or an index array."""
        return MarketData(
            self.symbols,
            self.timeframe,
            self.open_time[rows],
            self.open[rows],
            self.high[rows],
            self.low[rows],
            self.close[rows],
            self.volume[rows],
            {k: v[rows] for k, v in self.extra.items()},
            None if self.filled is None else self.filled[rows],
            self.synthetic,
        )

    def iloc(self, start: int, stop: int) -> MarketData:
        """Bars ``start:stop`` by position (zero-copy views)."""
        return self.take(slice(start, stop))

    def slice(self, start: object | None = None, end: object | None = None) -> MarketData:
        """Bars with ``start <= open_time < end`` (either bound optional; ISO strings allowed)."""
        from tradeready_gym.validation import check_time_range

        s, e = check_time_range(start, end)
        i = 0 if s is None else int(np.searchsorted(self.open_time, s))
        j = self.n_bars if e is None else int(np.searchsorted(self.open_time, e))
        return self.iloc(i, j)

    def select(self, symbols: Sequence[str]) -> MarketData:
        """A copy holding only ``symbols`` (in that order)."""
        cols = [self.symbol_index(s) for s in symbols]
        return MarketData(
            tuple(symbols),
            self.timeframe,
            self.open_time,
            self.open[:, cols],
            self.high[:, cols],
            self.low[:, cols],
            self.close[:, cols],
            self.volume[:, cols],
            {k: v[:, cols] for k, v in self.extra.items()},
            None if self.filled is None else self.filled[:, cols],
            self.synthetic,
        )

    # ------------------------------------------------------------------ pandas bridges
    @classmethod
    def from_dataframe(
        cls,
        df: pd.DataFrame,
        *,
        symbol: str,
        timeframe: str | None = None,
        synthetic: bool = False,
    ) -> MarketData:
        """One symbol from a DataFrame with a UTC DatetimeIndex (or an ``open_time`` column).

        Required columns: open, high, low, close, volume (case-insensitive); optional columns of
        `OPTIONAL_FIELDS` are kept. ``timeframe`` is inferred from the most common spacing when omitted.
        """
        return cls.from_dataframes({symbol: df}, timeframe=timeframe, synthetic=synthetic)

    @classmethod
    def from_dataframes(
        cls,
        frames: Mapping[str, pd.DataFrame],
        *,
        timeframe: str | None = None,
        synthetic: bool = False,
    ) -> MarketData:
        """Several symbols, aligned on the open times common to all of them (inner join)."""
        import pandas as pd

        if not frames:
            raise ConfigError("frames must hold at least one symbol; got an empty mapping")
        times: list[np.ndarray] = []
        cols: list[dict[str, np.ndarray]] = []
        for sym, df in frames.items():
            if not isinstance(df, pd.DataFrame):
                raise ConfigError(f"data for {sym!r} must be a pandas DataFrame; got {type(df).__name__}")
            from tradeready_gym.data.readers import frame_open_times

            lower = {str(c).lower(): c for c in df.columns}
            ot = frame_open_times(df, f"data for {sym!r}")
            missing = [c for c in REQUIRED_FIELDS if c not in lower]
            if missing:
                raise DataError(f"data for {sym!r} lacks columns {missing}; required: {list(REQUIRED_FIELDS)}")
            times.append(ot)
            cols.append(
                {
                    c: df[lower[c]].to_numpy(dtype=np.float64)
                    for c in (*REQUIRED_FIELDS, *OPTIONAL_FIELDS)
                    if c in lower
                }
            )
        common = times[0]
        for other in times[1:]:
            common = np.intersect1d(common, other)
        if timeframe is None:
            timeframe = _infer_timeframe(common if common.size > 1 else times[0])
        fields: dict[str, list[np.ndarray]] = {}
        for tt, c in zip(times, cols, strict=True):
            if len(times) > 1:
                _, pos, _ = np.intersect1d(tt, common, return_indices=True, assume_unique=False)
            else:
                pos = np.arange(tt.shape[0])
            for name, values in c.items():
                fields.setdefault(name, []).append(values[pos])
        shared_extra = [n for n in OPTIONAL_FIELDS if len(fields.get(n, [])) == len(frames)]
        order = np.argsort(common if len(times) > 1 else times[0], kind="stable")
        t_all = (common if len(times) > 1 else times[0])[order]
        stack = {n: np.column_stack(v)[order] for n, v in fields.items()}
        return cls(
            tuple(frames),
            timeframe,
            t_all,
            stack["open"],
            stack["high"],
            stack["low"],
            stack["close"],
            stack["volume"],
            {n: stack[n] for n in shared_extra},
            synthetic=synthetic,
        )

    def to_dataframe(self, symbol: str | None = None) -> pd.DataFrame:
        """One symbol as a DataFrame indexed by UTC open time (the only symbol when ``symbol`` is None)."""
        import pandas as pd

        if symbol is None:
            if self.n_symbols != 1:
                raise ConfigError(f"symbol=None is ambiguous for {self.n_symbols} symbols; allowed: {self.symbols}")
            symbol = self.symbols[0]
        j = self.symbol_index(symbol)
        idx = pd.DatetimeIndex(pd.to_datetime(self.open_time, unit="ns", utc=True), name="open_time")
        data = {n: getattr(self, n)[:, j] for n in REQUIRED_FIELDS}
        data.update({n: v[:, j] for n, v in self.extra.items()})
        return pd.DataFrame(data, index=idx)

    def __repr__(self) -> str:
        span = "empty" if self.n_bars == 0 else (
            f"{format_iso(int(self.open_time[0]))} .. {format_iso(int(self.open_time[-1]))}"
        )
        tag = ", synthetic" if self.synthetic else ""
        return f"MarketData({list(self.symbols)}, {self.timeframe}, {self.n_bars} bars, {span}{tag})"

    def describe(self) -> dict[str, Any]:
        """A JSON-friendly summary: symbols, timeframe, first/last open time, bar count."""
        return {
            "symbols": list(self.symbols),
            "timeframe": self.timeframe,
            "bars": self.n_bars,
            "start": format_iso(int(self.open_time[0])) if self.n_bars else None,
            "end": format_iso(int(self.open_time[-1])) if self.n_bars else None,
            "synthetic": self.synthetic,
        }


def _infer_timeframe(open_time: np.ndarray) -> str:
    from tradeready_gym.timeframes import TIMEFRAMES

    if open_time.size < 2:
        raise DataError("cannot infer the timeframe from fewer than 2 bars; pass timeframe=")
    step = int(np.median(np.diff(open_time)))
    for name, ns in TIMEFRAMES.items():
        if ns == step:
            return name
    raise DataError(f"bar spacing of {step} ns matches no timeframe; allowed: {', '.join(TIMEFRAMES)}")

"""Readers that turn candle files into `MarketData`.

Supported formats:

* Binance public dump zips (``data.binance.vision``): one headless CSV per zip, 12 columns; open
  times in milliseconds until 2024-12 and in microseconds from 2025-01 (both are detected per row);
  an optional header row is skipped.
* Binance REST ``/api/v3/klines`` JSON (12 columns, numbers as strings), optionally gzip-compressed.
* freqtrade JSON candles ``[[ms, open, high, low, close, volume], ...]``, optionally gzip-compressed.
* Generic CSV / Parquet with named columns (``open_time``/``timestamp``/``date``, ``open``, ``high``,
  ``low``, ``close``, ``volume``; optional ``quote_volume``, ``trades``, taker volumes).

`read_path` picks the reader from the file name and content. Every reader validates the candles
(sorted, unique, positive, no NaN, consistent OHLC) and names the file in its error messages.
"""

from __future__ import annotations

import gzip
import io
import json
import re
import zipfile
import zlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from tradeready_gym.data.market import OPTIONAL_FIELDS, REQUIRED_FIELDS, DataQualityWarning, MarketData
from tradeready_gym.errors import ConfigError, DataError
from tradeready_gym.timeframes import NS_PER_MS, NS_PER_SECOND, NS_PER_US, TIMEFRAMES, format_iso
from tradeready_gym.validation import check_symbol

__all__ = [
    "concat_markets",
    "frame_open_times",
    "kline_rows_to_market",
    "normalize_symbol",
    "parse_binance_csv",
    "read_binance_zip",
    "read_freqtrade_json",
    "read_path",
    "read_rest_json",
    "read_table",
]

#: Open times at or above this value are microseconds (1e14 µs is 1973; 1e14 ms is year 5138).
_US_THRESHOLD = 10**14

_ZIP_NAME = re.compile(r"^(?P<symbol>[A-Z0-9]+)-(?P<tf>\d+[mhdwM])-(?P<date>\d{4}-\d{2}(-\d{2})?)$")
_FREQTRADE_NAME = re.compile(r"^(?P<base>[A-Za-z0-9]+)_(?P<quote>[A-Za-z0-9]+)-(?P<tf>\d+[mhd])$")
_TIME_COLUMNS = ("open_time", "timestamp", "date", "datetime", "time", "open time")


def normalize_symbol(symbol: object, *, param: str = "symbol") -> str:
    """Binance spelling of a symbol: ``"btc/usdt"`` -> ``"BTCUSDT"``; synthetic names keep their dash.

    The library's one symbol rule, `tradeready_gym.validation.check_symbol`.

    Raises:
        ConfigError: when ``symbol`` is not a Binance pair (2-20 letters and digits, optionally with one
            ``/``, ``_`` or ``-``) or a synthetic ``SYNTH-...`` name.
    """
    return check_symbol(symbol, param)


def _stem(path: Path) -> str:
    name = path.name
    for suffix in (".gz", ".zip", ".json", ".csv", ".parquet"):
        if name.lower().endswith(suffix):
            name = name[: -len(suffix)]
    for suffix in (".json", ".csv"):
        if name.lower().endswith(suffix):
            name = name[: -len(suffix)]
    return name


def _ms_or_us_to_ns(values: np.ndarray) -> np.ndarray:
    """Binance open times (ms before 2025, µs from 2025 in spot dumps) -> int64 ns, per value."""
    v = values.astype(np.int64)
    return np.where(v >= _US_THRESHOLD, v * NS_PER_US, v * NS_PER_MS)


def _check_grid(md: MarketData, source: str) -> MarketData:
    """Reject bars whose spacing is not a whole number of intervals (e.g. a 12:30 bar in 1h data)."""
    iv = md.interval_ns
    d = np.diff(md.open_time)
    bad = np.flatnonzero(d % iv)
    if bad.size:
        i = int(bad[0]) + 1
        raise DataError(
            f"{source}: the bar at {format_iso(int(md.open_time[i]))} opens {int(d[bad[0]]) // NS_PER_SECOND} s after "
            f"the previous one, not a multiple of {md.timeframe}; bars must sit on the {md.timeframe} grid"
        )
    return md


def _build(
    arr: np.ndarray,
    open_time_ns: np.ndarray,
    *,
    symbol: str,
    timeframe: str,
    source: str,
    with_extra: bool,
) -> MarketData:
    extra = (
        {
            "quote_volume": arr[:, 7],
            "trades": arr[:, 8],
            "taker_buy_base_volume": arr[:, 9],
            "taker_buy_quote_volume": arr[:, 10],
        }
        if with_extra
        else {}
    )
    try:
        md = MarketData(
            (symbol,), timeframe, open_time_ns, arr[:, 1], arr[:, 2], arr[:, 3], arr[:, 4], arr[:, 5], extra
        )
    except DataError as exc:
        raise DataError(f"{source}: {exc}") from None
    return _check_grid(md, source)


def _check_timeframe(timeframe: str | None, source: str) -> str:
    if timeframe is None:
        raise ConfigError(f"timeframe=None for {source}; pass timeframe= (allowed: {', '.join(TIMEFRAMES)})")
    if timeframe not in TIMEFRAMES:
        raise ConfigError(f"timeframe={timeframe!r} is not supported; allowed: {', '.join(TIMEFRAMES)}")
    return timeframe


def kline_rows_to_market(
    rows: Sequence[Sequence[Any]], *, symbol: str, timeframe: str, source: str | None = None
) -> MarketData:
    """Binance kline rows -> one-symbol `MarketData`.

    Rows have 12 columns: open time (ms, or µs in 2025+ spot dumps), open, high, low, close, volume,
    close time, quote volume, trades, taker buy base volume, taker buy quote volume, ignore. Numbers
    may be strings.

    Raises:
        DataError: empty or malformed rows, or candles that fail `MarketData.validate`.
    """
    where = source or f"kline rows for {symbol} {timeframe}"
    if len(rows) == 0:
        raise DataError(f"{where}: no kline rows")
    try:
        arr = np.asarray([r[:11] for r in rows], dtype=np.float64)
        if arr.ndim != 2 or arr.shape[1] < 11:
            raise ValueError(f"expected 12 columns per row; got shape {arr.shape}")
        ot = np.asarray([int(r[0]) for r in rows], dtype=np.int64)
    except (ValueError, TypeError, IndexError) as exc:
        raise DataError(f"{where} is malformed: {exc}; expected Binance kline rows of 12 columns") from None
    return _build(arr, _ms_or_us_to_ns(ot), symbol=symbol, timeframe=timeframe, source=where, with_extra=True)


def _open_text(path: Path) -> Any:
    return gzip.open(path, "rt") if path.suffix == ".gz" else open(path)


def _load_json(path: Path) -> Any:
    try:
        with _open_text(path) as fh:
            return json.load(fh)
    except (OSError, EOFError, json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise DataError(f"path={str(path)!r} is not a readable JSON candle file: {exc}") from None


def _symbol_from_rest_path(path: Path) -> tuple[str | None, str | None]:
    """``.../<SYMBOL>/<interval>/<window>.json.gz`` -> (symbol, interval) when the layout matches."""
    tf = path.parent.name
    sym = path.parent.parent.name
    if tf in TIMEFRAMES and re.fullmatch(r"[A-Z0-9]+", sym):
        return sym, tf
    return None, None


def read_rest_json(
    path: str | Path, *, symbol: str | None = None, timeframe: str | None = None
) -> MarketData:
    """A Binance REST ``/api/v3/klines`` response saved as JSON (optionally gzip-compressed).

    ``symbol`` and ``timeframe`` default to the ``<SYMBOL>/<interval>/`` folders of ``path``.
    """
    p = Path(path)
    psym, ptf = _symbol_from_rest_path(p)
    symbol = symbol or psym
    if symbol is None:
        raise ConfigError(f"symbol=None for {str(p)!r}; pass symbol= (e.g. 'BTCUSDT')")
    timeframe = _check_timeframe(timeframe or ptf, repr(str(p)))
    rows = _load_json(p)
    if not isinstance(rows, list):
        raise DataError(f"path={str(p)!r} holds {type(rows).__name__}; expected a JSON array of kline rows")
    return kline_rows_to_market(rows, symbol=symbol, timeframe=timeframe, source=f"path={str(p)!r}")


def read_freqtrade_json(
    path: str | Path, *, symbol: str | None = None, timeframe: str | None = None
) -> MarketData:
    """freqtrade's JSON candles ``[[ms, open, high, low, close, volume], ...]`` (``.json`` or ``.json.gz``).

    ``symbol`` and ``timeframe`` default to the file name, e.g. ``BTC_USDT-5m.json.gz`` -> BTCUSDT, 5m.
    """
    p = Path(path)
    m = _FREQTRADE_NAME.match(_stem(p))
    if symbol is None and m:
        symbol = (m["base"] + m["quote"]).upper()
    if symbol is None:
        raise ConfigError(f"symbol=None for {str(p)!r}; pass symbol= (e.g. 'BTCUSDT')")
    timeframe = _check_timeframe(timeframe or (m["tf"] if m else None), repr(str(p)))
    rows = _load_json(p)
    where = f"path={str(p)!r}"
    if not isinstance(rows, list) or not rows:
        raise DataError(f"{where} holds no candles; expected [[ms, open, high, low, close, volume], ...]")
    try:
        arr = np.asarray(rows, dtype=np.float64)
        if arr.ndim != 2 or arr.shape[1] != 6:
            raise ValueError(f"expected 6 columns per row; got shape {arr.shape}")
        ot = np.asarray([int(r[0]) for r in rows], dtype=np.int64)
    except (ValueError, TypeError) as exc:
        raise DataError(
            f"{where} is malformed: {exc}; expected [[ms, open, high, low, close, volume], ...]"
        ) from None
    return _build(
        arr, _ms_or_us_to_ns(ot), symbol=symbol, timeframe=timeframe, source=where, with_extra=False
    )


def parse_binance_csv(data: bytes | str, *, symbol: str, timeframe: str, source: str = "csv") -> MarketData:
    """The CSV inside a Binance dump zip (12 columns, no header or one header row) -> `MarketData`."""
    import pandas as pd

    try:
        text = data.decode("utf-8", errors="strict") if isinstance(data, bytes) else data
    except UnicodeDecodeError as exc:
        raise DataError(f"{source} is not a text CSV: {exc}") from None
    lines = text.lstrip("\ufeff").splitlines()
    if not lines or not lines[0].strip():
        raise DataError(f"{source}: empty CSV; expected 12-column Binance kline rows")
    first = lines[0].split(",")[0].strip()
    skip = 0 if first.lstrip("-").isdigit() else 1
    try:
        df = pd.read_csv(io.StringIO(text), header=None, skiprows=skip, dtype=str)
        if df.shape[1] < 11:
            raise ValueError(f"expected 12 columns; got {df.shape[1]}")
        ot = df[0].astype(np.int64).to_numpy()
        arr = df.iloc[:, :11].astype(np.float64).to_numpy()
    except (ValueError, TypeError, pd.errors.ParserError) as exc:
        raise DataError(f"{source} is malformed: {exc}; expected 12-column Binance kline rows") from None
    if arr.shape[0] == 0:
        raise DataError(f"{source}: no kline rows")
    return _build(
        arr, _ms_or_us_to_ns(ot), symbol=symbol, timeframe=timeframe, source=source, with_extra=True
    )


def read_binance_zip(
    source: str | Path | bytes,
    *,
    symbol: str | None = None,
    timeframe: str | None = None,
    name: str | None = None,
) -> MarketData:
    """A Binance dump zip (``BTCUSDT-1h-2025-01.zip``) from a path or bytes -> `MarketData`.

    ``symbol`` and ``timeframe`` default to the file name (``name`` when ``source`` is bytes).

    Raises:
        DataError: the zip is corrupt, empty, or its CSV is malformed.
    """
    label = name if isinstance(source, bytes) else str(source)
    where = f"zip {label!r}" if label else "zip"
    m = _ZIP_NAME.match(_stem(Path(label))) if label else None
    symbol = symbol or (m["symbol"] if m else None)
    if symbol is None:
        raise ConfigError(f"symbol=None for {where}; pass symbol= (e.g. 'BTCUSDT')")
    timeframe = _check_timeframe(timeframe or (m["tf"] if m else None), where)
    try:
        fh = io.BytesIO(source) if isinstance(source, bytes) else open(source, "rb")
        with fh, zipfile.ZipFile(fh) as zf:
            names = [n for n in zf.namelist() if n.lower().endswith(".csv")]
            if not names:
                raise DataError(f"{where} holds no CSV file; got {zf.namelist()}")
            payload = b"".join(zf.read(n) for n in sorted(names))
    except (zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error, EOFError, OSError, ValueError) as exc:
        if isinstance(exc, DataError):
            raise
        raise DataError(f"{where} is not a valid zip archive: {exc}") from None
    return parse_binance_csv(payload, symbol=symbol, timeframe=timeframe, source=where)


def _time_to_ns(values: Any, source: str) -> np.ndarray:
    """A time column (datetimes, ISO strings, or epoch numbers in s/ms/µs/ns) -> int64 ns UTC."""
    import pandas as pd

    s = pd.Series(values)
    if pd.api.types.is_numeric_dtype(s):
        v = s.to_numpy(dtype=np.float64)
        if np.isnan(v).any():
            raise DataError(f"{source}: the time column has missing values")
        iv = v.astype(np.int64)
        mag = np.abs(iv).max() if iv.size else 0
        if mag >= 10**17:
            return iv
        if mag >= _US_THRESHOLD:
            return iv * NS_PER_US
        if mag >= 10**11:
            return iv * NS_PER_MS
        return iv * NS_PER_SECOND
    try:
        idx = pd.DatetimeIndex(pd.to_datetime(s, utc=True))
    except (ValueError, TypeError) as exc:
        raise DataError(f"{source}: the time column cannot be parsed as dates: {exc}") from None
    if idx.hasnans:
        raise DataError(f"{source}: the time column has missing values")
    return np.asarray(idx.as_unit("ns").asi8, dtype=np.int64)


def frame_open_times(df: Any, source: str) -> np.ndarray:
    """The int64 ns UTC open times of a candle DataFrame: its time column, else its DatetimeIndex.

    The time column is one of ``open_time``, ``timestamp``, ``date``, ``datetime``, ``time`` (any
    case). Nothing is resolved silently:

    * a DatetimeIndex without a time zone is read as UTC with a `DataQualityWarning` (say so with
      ``df.tz_localize("UTC")``);
    * a time column and a DatetimeIndex that disagree raise `DataError` naming the first row where
      they differ.
    """
    import warnings

    import pandas as pd

    lower = {str(c).strip().lower(): c for c in df.columns}
    tcol = next((lower[c] for c in _TIME_COLUMNS if c in lower), None)
    idx_ns = None
    if isinstance(df.index, pd.DatetimeIndex):
        if df.index.tz is None:
            warnings.warn(
                f"{source}: the DatetimeIndex has no time zone; it is read as UTC "
                "(use df.tz_localize('UTC') to say so, or tz_convert('UTC') from your zone)",
                DataQualityWarning,
                stacklevel=3,
            )
            idx = df.index.tz_localize("UTC")
        else:
            idx = df.index.tz_convert("UTC")
        idx_ns = np.asarray(idx.as_unit("ns").asi8, dtype=np.int64)
    if tcol is not None:
        ot = _time_to_ns(df[tcol].to_numpy(), source)
        if idx_ns is not None and not np.array_equal(ot, idx_ns):
            k = int(np.flatnonzero(ot != idx_ns)[0])
            raise DataError(
                f"{source}: the {str(tcol)!r} column and the DatetimeIndex disagree at row {k} "
                f"({format_iso(int(ot[k]))} vs {format_iso(int(idx_ns[k]))}); allowed: one time source, "
                "or both equal (drop the column or reset the index)"
            )
        return ot
    if idx_ns is not None:
        return idx_ns
    raise DataError(
        f"{source} needs a DatetimeIndex or a time column (one of {list(_TIME_COLUMNS)}); "
        f"got index {type(df.index).__name__} and columns {list(df.columns)}"
    )


def dataframe_to_market(df: Any, *, symbol: str, timeframe: str | None, source: str) -> MarketData:
    """A DataFrame with a time column (or DatetimeIndex) and named OHLCV columns -> `MarketData`.

    Open times come from `frame_open_times` (which reports a tz-naive index and an index that
    disagrees with the time column).
    """
    import pandas as pd

    if not isinstance(df, pd.DataFrame):
        raise ConfigError(f"data for {symbol!r} must be a pandas DataFrame; got {type(df).__name__}")
    lower = {str(c).strip().lower(): c for c in df.columns}
    ot = frame_open_times(df, source)
    missing = [c for c in REQUIRED_FIELDS if c not in lower]
    if missing:
        raise DataError(f"{source} lacks columns {missing}; required: {list(REQUIRED_FIELDS)}")
    try:
        cols = {
            c: pd.to_numeric(df[lower[c]], errors="raise").to_numpy(dtype=np.float64)
            for c in (*REQUIRED_FIELDS, *OPTIONAL_FIELDS)
            if c in lower
        }
    except (ValueError, TypeError) as exc:
        raise DataError(f"{source} has a non-numeric price or volume column: {exc}") from None
    if ot.size > 1 and bool((np.diff(ot) < 0).all()):
        # newest first (as many exchange exports and spreadsheets save them): sorted, with a note
        import warnings

        ot = ot[::-1].copy()
        cols = {c: v[::-1].copy() for c, v in cols.items()}
        warnings.warn(
            f"{source}: the rows are newest first; they were sorted oldest first "
            f"({format_iso(int(ot[0]))} .. {format_iso(int(ot[-1]))})",
            DataQualityWarning,
            stacklevel=2,
        )
    if timeframe is None:
        from tradeready_gym.data.market import _infer_timeframe

        try:
            timeframe = _infer_timeframe(np.sort(ot))
        except DataError as exc:
            raise DataError(f"{source}: {exc}") from None
    extra = {n: cols[n] for n in OPTIONAL_FIELDS if n in cols}
    try:
        md = MarketData(
            (symbol,),
            timeframe,
            ot,
            cols["open"],
            cols["high"],
            cols["low"],
            cols["close"],
            cols["volume"],
            extra,
        )
    except DataError as exc:
        raise DataError(f"{source}: {exc}") from None
    return _check_grid(md, source)


def read_table(path: str | Path, *, symbol: str, timeframe: str | None = None) -> MarketData:
    """A generic CSV (optionally ``.csv.gz``) or Parquet file with named columns -> `MarketData`.

    The time column is one of ``open_time``, ``timestamp``, ``date``, ``datetime``, ``time`` (ISO
    strings or epoch numbers in s/ms/µs/ns, detected by magnitude); ``timeframe`` is inferred from
    the bar spacing when omitted.
    """
    import pandas as pd

    p = Path(path)
    where = f"path={str(p)!r}"
    try:
        if p.name.lower().endswith(".parquet"):
            df = pd.read_parquet(p)
        else:
            df = pd.read_csv(p)
    except (OSError, ValueError, pd.errors.ParserError) as exc:
        raise DataError(f"{where} is not a readable CSV/Parquet file: {exc}") from None
    if isinstance(df.index, pd.DatetimeIndex) or "open_time" in {str(c).lower() for c in df.columns}:
        pass
    elif df.index.name and str(df.index.name).lower() in _TIME_COLUMNS:
        df = df.reset_index()
    return dataframe_to_market(df, symbol=symbol, timeframe=timeframe, source=where)


def _csv_is_headless_binance(path: Path) -> bool:
    with _open_text(path) as fh:
        first = fh.readline().strip()
    parts = first.split(",")
    return len(parts) >= 11 and parts[0].strip().lstrip("-").isdigit()


def _json_row_width(path: Path) -> int:
    rows = _load_json(path)
    if isinstance(rows, list) and rows and isinstance(rows[0], list):
        return len(rows[0])
    return -1


def read_path(path: str | Path, *, symbol: str | None = None, timeframe: str | None = None) -> MarketData:
    """Read any supported candle file, or every candle file of a directory, into `MarketData`.

    The format comes from the name and content: ``.zip`` -> Binance dump; ``.json[.gz]`` -> REST
    (12 columns) or freqtrade (6 columns); ``.csv[.gz]`` -> headless Binance CSV or named columns;
    ``.parquet`` -> named columns. A directory is read file by file and concatenated (duplicate open
    times across files must agree; the later file wins).

    Raises:
        DataNotFoundError: the path does not exist.
        DataError: the file is malformed or its candles fail validation.
        ConfigError: symbol or timeframe are needed and cannot be inferred from the name.
    """
    from tradeready_gym.errors import DataNotFoundError

    p = Path(path).expanduser()
    if not p.exists():
        raise DataNotFoundError(f"path={str(p)!r} does not exist")
    if p.is_dir():
        return _read_dir(p, symbol=symbol, timeframe=timeframe)
    name = p.name.lower()
    if name.endswith(".zip"):
        return read_binance_zip(p, symbol=symbol, timeframe=timeframe)
    if name.endswith((".json", ".json.gz")):
        width = _json_row_width(p)
        if width == 6:
            return read_freqtrade_json(p, symbol=symbol, timeframe=timeframe)
        if width >= 11:
            return read_rest_json(p, symbol=symbol, timeframe=timeframe)
        raise DataError(
            f"path={str(p)!r} is not a known JSON candle format (rows of {width} values); "
            "allowed: Binance REST klines (12 values) or freqtrade ([ms, o, h, l, c, v])"
        )
    if name.endswith((".csv", ".csv.gz")):
        if _csv_is_headless_binance(p):
            m = _ZIP_NAME.match(_stem(p))
            sym = symbol or (m["symbol"] if m else None)
            if sym is None:
                raise ConfigError(f"symbol=None for {str(p)!r}; pass symbol= (e.g. 'BTCUSDT')")
            tf = _check_timeframe(timeframe or (m["tf"] if m else None), repr(str(p)))
            with _open_text(p) as fh:
                text = fh.read()
            return parse_binance_csv(text, symbol=sym, timeframe=tf, source=f"path={str(p)!r}")
        if symbol is None:
            raise ConfigError(f"symbol=None for {str(p)!r}; pass symbol= (e.g. 'BTCUSDT')")
        return read_table(p, symbol=symbol, timeframe=timeframe)
    if name.endswith(".parquet"):
        if symbol is None:
            raise ConfigError(f"symbol=None for {str(p)!r}; pass symbol= (e.g. 'BTCUSDT')")
        return read_table(p, symbol=symbol, timeframe=timeframe)
    raise DataError(
        f"path={str(p)!r} has an unknown format; allowed: .zip (Binance dump), .json[.gz] (REST or freqtrade), "
        ".csv[.gz], .parquet"
    )


def name_hints(path: Path) -> tuple[str | None, str | None]:
    """(symbol, timeframe) that the file name or folder layout states, if any.

    Binance dumps (``BTCUSDT-1h-2024-01.zip``), freqtrade files (``BTC_USDT-5m.json``) and REST
    folders (``.../BTCUSDT/1h/<file>.json.gz``).
    """
    stem = _stem(path)
    m = _ZIP_NAME.match(stem)
    if m:
        return m["symbol"], m["tf"]
    f = _FREQTRADE_NAME.match(stem)
    if f:
        return (f["base"] + f["quote"]).upper(), f["tf"]
    return _symbol_from_rest_path(path)


def _read_dir(folder: Path, *, symbol: str | None, timeframe: str | None) -> MarketData:
    """Every candle file of ``folder`` (recursively) for one symbol and timeframe, concatenated.

    Files whose name states another symbol or timeframe than the ones asked for are skipped; a
    folder holding several symbols or timeframes needs ``symbol=`` / ``timeframe=``.
    """
    from tradeready_gym.errors import DataNotFoundError

    files = sorted(
        f
        for f in folder.rglob("*")
        if f.is_file() and re.search(r"\.(zip|json|json\.gz|csv|csv\.gz|parquet)$", f.name.lower())
    )
    if not files:
        raise DataNotFoundError(
            f"path={str(folder)!r} holds no candle files (.zip, .json[.gz], .csv[.gz], .parquet)"
        )
    chosen = []
    for f in files:
        hs, ht = name_hints(f)
        if (symbol is not None and hs is not None and hs != symbol) or (
            timeframe is not None and ht is not None and ht != timeframe
        ):
            continue
        chosen.append(f)
    if not chosen:
        raise DataNotFoundError(
            f"path={str(folder)!r} holds no candle files for symbol={symbol!r} timeframe={timeframe!r}"
        )
    parts = [read_path(f, symbol=symbol, timeframe=timeframe) for f in chosen]
    kinds = sorted({(p.symbols[0], p.timeframe) for p in parts})
    if len(kinds) > 1:
        found = ", ".join(f"{s} {t}" for s, t in kinds)
        raise DataError(
            f"path={str(folder)!r} holds several series ({found}); pass symbol= and timeframe= to pick one"
        )
    return concat_markets(parts)


def concat_markets(parts: Sequence[MarketData]) -> MarketData:
    """Concatenate one-symbol pieces of the same symbol and timeframe, sorted by open time.

    Overlapping bars are de-duplicated (the later piece wins); extra columns are kept only when
    every piece has them.
    """
    if not parts:
        raise DataError("nothing to concatenate: no candle pieces")
    first = parts[0]
    for p in parts:
        if p.symbols != first.symbols or p.timeframe != first.timeframe:
            raise DataError(
                f"cannot combine {p.symbols} {p.timeframe} with {first.symbols} {first.timeframe}; "
                "pieces must share symbol and timeframe"
            )
    if len(parts) == 1:
        return first
    ot = np.concatenate([p.open_time for p in parts])
    order = np.argsort(ot, kind="stable")
    ot_sorted = ot[order]
    # keep the last occurrence of each open time (later piece wins)
    keep = np.ones(ot_sorted.shape[0], dtype=bool)
    keep[:-1] = ot_sorted[1:] != ot_sorted[:-1]
    sel = order[keep]
    names = set.intersection(*(set(p.extra) for p in parts))
    cols = {n: np.concatenate([getattr(p, n) for p in parts])[sel] for n in REQUIRED_FIELDS}
    extra = {n: np.concatenate([p.extra[n] for p in parts])[sel] for n in OPTIONAL_FIELDS if n in names}
    filled = None
    if any(p.filled is not None for p in parts):
        filled = np.concatenate(
            [p.filled if p.filled is not None else np.zeros(p.close.shape, bool) for p in parts]
        )[sel]
    return MarketData(
        first.symbols,
        first.timeframe,
        ot[sel],
        cols["open"],
        cols["high"],
        cols["low"],
        cols["close"],
        cols["volume"],
        extra,
        filled,
        any(p.synthetic for p in parts),
    )

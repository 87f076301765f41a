"""`load_market_data`: the one function environments call to get candles, and `import_data`.

Sources, in order: ``data=`` (a DataFrame, a mapping symbol -> DataFrame / path / MarketData, a
path, or a `MarketData`), then the local cache, then (with ``download=True``) Binance. When nothing
fits, a `DataNotFoundError` names the symbol, timeframe and range and gives the exact
``tradeready data download ...`` command that fetches it. Synthetic candles are never substituted.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from tradeready_gym.data.cache import CandleCache, default_data_dir
from tradeready_gym.data.gaps import GAP_POLICIES, apply_gap_policy, warn_missing_bars
from tradeready_gym.data.market import OPTIONAL_FIELDS, MarketData
from tradeready_gym.data.readers import dataframe_to_market, name_hints, normalize_symbol, read_path
from tradeready_gym.data.resample import resample
from tradeready_gym.data.synthetic import is_synthetic_symbol
from tradeready_gym.errors import ConfigError, DataError, DataNotFoundError
from tradeready_gym.timeframes import TIMEFRAMES, format_iso, timeframe_ns
from tradeready_gym.validation import check_bool, check_symbols, check_time_range

__all__ = ["align_markets", "download_command", "import_data", "load_market_data", "to_market"]

PathLike = str | os.PathLike[str]


def _symbols(symbols: object) -> list[str]:
    return list(check_symbols(symbols, "symbols"))


def _range(start: object | None, end: object | None) -> tuple[int | None, int | None]:
    return check_time_range(start, end)


def download_command(
    symbols: Sequence[str], timeframe: str, start: int | None, end: int | None, data_dir: Path | None = None
) -> str:
    """The ``tradeready data download ...`` command that fetches the given range."""
    parts = ["tradeready", "data", "download", *symbols, "--timeframe", timeframe]
    if start is not None:
        parts += ["--start", format_iso(start)]
    if end is not None:
        parts += ["--end", format_iso(end)]
    if data_dir is not None:
        parts += ["--data-dir", str(data_dir)]
    return " ".join(parts)


def _range_text(start: int | None, end: int | None) -> str:
    return f"[{'...' if start is None else format_iso(start)}, {'...' if end is None else format_iso(end)})"


def align_markets(parts: Sequence[MarketData]) -> MarketData:
    """Put several one-or-more-symbol `MarketData` of one timeframe on one grid (open times common to all).

    Raises:
        DataError: timeframes differ, real and synthetic candles are mixed, a symbol repeats, or the
            pieces share no open time.
    """
    if not parts:
        raise DataError("nothing to align: no market data")
    if len(parts) == 1:
        return parts[0]
    tf = parts[0].timeframe
    for p in parts:
        if p.timeframe != tf:
            raise DataError(f"cannot align {p.symbols} at {p.timeframe} with {parts[0].symbols} at {tf}")
    if len({p.synthetic for p in parts}) > 1:
        raise DataError(
            "cannot align synthetic with real candles; synthetic data never stands in for a real symbol"
        )
    common = parts[0].open_time
    for p in parts[1:]:
        common = np.intersect1d(common, p.open_time, assume_unique=True)
    if common.size == 0:
        spans = ", ".join(
            f"{p.symbols[0]} {_range_text(int(p.open_time[0]), int(p.open_time[-1]))}"
            for p in parts
            if p.n_bars
        )
        raise DataNotFoundError(f"the symbols share no bar at {tf}; their ranges: {spans}")
    idx = [np.searchsorted(p.open_time, common) for p in parts]
    symbols = tuple(s for p in parts for s in p.symbols)
    cols = {
        n: np.concatenate([getattr(p, n)[i] for p, i in zip(parts, idx, strict=True)], axis=1)
        for n in ("open", "high", "low", "close", "volume")
    }
    shared = [n for n in OPTIONAL_FIELDS if all(n in p.extra for p in parts)]
    extra = {
        n: np.concatenate([p.extra[n][i] for p, i in zip(parts, idx, strict=True)], axis=1) for n in shared
    }
    filled = None
    if any(p.filled is not None for p in parts):
        filled = np.concatenate(
            [
                (p.filled if p.filled is not None else np.zeros(p.close.shape, bool))[i]
                for p, i in zip(parts, idx, strict=True)
            ],
            axis=1,
        )
    return MarketData(
        symbols,
        tf,
        common,
        cols["open"],
        cols["high"],
        cols["low"],
        cols["close"],
        cols["volume"],
        extra,
        filled,
        parts[0].synthetic,
    )


def _to_timeframe(md: MarketData, timeframe: str, what: str) -> MarketData:
    if md.timeframe == timeframe:
        return md
    if md.interval_ns < timeframe_ns(timeframe) and timeframe_ns(timeframe) % md.interval_ns == 0:
        return resample(md, timeframe)
    raise ConfigError(
        f"timeframe={timeframe!r} cannot be built from {what} at {md.timeframe}; allowed: {md.timeframe} "
        "or a coarser whole multiple of it"
    )


def _read_user_path(path: Path, symbol: str, timeframe: str) -> MarketData:
    if path.is_dir():
        try:  # the folder's files at the requested timeframe, else a finer one to resample
            return read_path(path, symbol=symbol, timeframe=timeframe)
        except DataNotFoundError:
            return read_path(path, symbol=symbol)
    try:
        return read_path(path, symbol=symbol)
    except ConfigError as exc:
        if "timeframe=None" not in str(exc):
            raise
        return read_path(path, symbol=symbol, timeframe=timeframe)


def to_market(value: Any, *, symbol: str, timeframe: str) -> MarketData:
    """One symbol's ``data=`` value (DataFrame, path or MarketData) -> `MarketData` at ``timeframe``."""
    import pandas as pd

    if isinstance(value, MarketData):
        md = value if value.symbols == (symbol,) else value.select([symbol])
        return _to_timeframe(md, timeframe, "the given MarketData")
    if isinstance(value, pd.DataFrame):
        try:
            md = dataframe_to_market(value, symbol=symbol, timeframe=None, source=f"data for {symbol!r}")
        except DataError as exc:
            if "infer the timeframe" not in str(exc) and "matches no timeframe" not in str(exc):
                raise
            md = dataframe_to_market(value, symbol=symbol, timeframe=timeframe, source=f"data for {symbol!r}")
        return _to_timeframe(md, timeframe, f"the DataFrame for {symbol!r}")
    if isinstance(value, (str, os.PathLike)):
        md = _read_user_path(Path(value), symbol, timeframe)
        return _to_timeframe(md, timeframe, f"the file {str(value)!r}")
    raise ConfigError(
        f"data for {symbol!r} is a {type(value).__name__}; allowed: pandas DataFrame, path "
        "(CSV / Parquet / Binance zip / JSON) or MarketData"
    )


def _from_data(data: Any, symbols: list[str], timeframe: str) -> list[MarketData]:
    if isinstance(data, MarketData):
        missing = [s for s in symbols if s not in data.symbols]
        if missing:
            raise DataNotFoundError(
                f"symbols {missing} are not in the given MarketData; it holds {list(data.symbols)}"
            )
        md = data if data.symbols == tuple(symbols) else data.select(symbols)
        return [_to_timeframe(md, timeframe, "the given MarketData")]
    if isinstance(data, Mapping):
        keys = {normalize_symbol(k, param="data"): v for k, v in data.items()}
        missing = [s for s in symbols if s not in keys]
        if missing:
            raise DataNotFoundError(
                f"symbols {missing} are not in data=; it holds {sorted(keys)}; pass one entry per symbol"
            )
        return [to_market(keys[s], symbol=s, timeframe=timeframe) for s in symbols]
    if len(symbols) != 1:
        raise ConfigError(
            f"data= is a single {type(data).__name__} but symbols={symbols} has {len(symbols)} entries; "
            "allowed: a mapping {symbol: DataFrame or path} or a MarketData holding every symbol"
        )
    return [to_market(data, symbol=symbols[0], timeframe=timeframe)]


def _finer_cached(
    cache: CandleCache, symbol: str, timeframe: str, start: int | None, end: int | None
) -> str | None:
    """A finer cached timeframe that covers the range and divides ``timeframe`` (the coarsest such)."""
    target = timeframe_ns(timeframe)
    options = sorted(
        (ns, name)
        for name, ns in TIMEFRAMES.items()
        if ns < target and target % ns == 0 and cache.has(symbol, name)
    )
    for _, name in reversed(options):
        if start is None or end is None or not cache.missing(symbol, name, start, end):
            return name
    return None


def _from_cache(
    cache: CandleCache,
    symbol: str,
    timeframe: str,
    start: int | None,
    end: int | None,
    *,
    download: bool,
    base_url: str | None,
    vision_url: str | None,
    explicit_dir: Path | None,
) -> MarketData:
    def not_found(reason: str) -> DataNotFoundError:
        cmd = download_command([symbol], timeframe, start, end, explicit_dir)
        return DataNotFoundError(
            f"{reason}: symbol={symbol!r} timeframe={timeframe!r} range={_range_text(start, end)} "
            f"(cache: {cache.root}). Fetch it with: {cmd}  (or pass download=True)"
        )

    def gaps_in_cache(tf: str) -> list[tuple[int, int]]:
        if not cache.has(symbol, tf):
            return [(start or 0, end or 0)]
        cov = cache.coverage(symbol, tf)
        s = start if start is not None else (cov[0][0] if cov else 0)
        e = end if end is not None else (cov[-1][1] if cov else 0)
        return cache.missing(symbol, tf, s, e) if e > s else []

    tf = timeframe
    missing = gaps_in_cache(tf)
    if missing:
        finer = _finer_cached(cache, symbol, timeframe, start, end)
        if finer is not None and not gaps_in_cache(finer):
            tf, missing = finer, []
    if missing and download:
        if is_synthetic_symbol(symbol):
            raise not_found("synthetic symbols cannot be downloaded")
        from tradeready_gym.data.download import download as _download

        _download(
            [symbol],
            timeframe,
            start,
            end,
            data_dir=cache.root,
            api_url=base_url,
            vision_url=vision_url,
        )
        tf = timeframe
        missing = gaps_in_cache(tf)
    if missing:
        if not cache.has(symbol, timeframe):
            raise not_found("no cached candles")
        holes = ", ".join(_range_text(s, e) for s, e in missing[:3])
        raise not_found(f"the cache lacks {holes}{' ...' if len(missing) > 3 else ''}")
    try:
        md = cache.read(symbol, tf, start, end)
    except DataNotFoundError:
        raise not_found("no cached candles in the range (the exchange had no trading there)") from None
    if md.synthetic and not is_synthetic_symbol(symbol):
        raise DataError(
            f"cache file for {symbol!r} holds synthetic candles; synthetic data never stands in for a real symbol"
        )
    return resample(md, timeframe) if tf != timeframe else md


def load_market_data(
    symbols: str | Sequence[str],
    timeframe: str,
    start: object | None = None,
    end: object | None = None,
    *,
    data: Any = None,
    data_dir: PathLike | None = None,
    download: bool = False,
    base_url: str | None = None,
    vision_url: str | None = None,
    gaps: str = "skip",
) -> MarketData:
    """Candles of ``symbols`` at ``timeframe`` with ``start <= open_time < end``, on one aligned grid.

    Args:
        symbols: one symbol (``"BTCUSDT"``, ``"BTC/USDT"``) or a list; the column order of the result.
        timeframe: bar interval (``"1m"``, ``"5m"``, ``"15m"``, ``"30m"``, ``"1h"``, ``"4h"``, ``"1d"``, ...).
        start, end: ISO 8601 / datetime / int ns; either may be None (the whole available range).
        data: your own candles instead of the cache: a DataFrame (one symbol), a mapping
            symbol -> DataFrame / path / MarketData, a path (CSV / Parquet / Binance zip / REST or
            freqtrade JSON / a folder of them) or a `MarketData`. Finer data is resampled to ``timeframe``.
        data_dir: cache root (default ``$TRADEREADY_DATA_DIR`` or the user cache dir).
        download: fetch what the cache lacks from Binance instead of raising.
        base_url: Binance REST API base for downloads (default ``$TRADEREADY_BINANCE_API_URL`` or
            ``https://api.binance.com``).
        vision_url: Binance public-dump base (default ``$TRADEREADY_BINANCE_VISION_URL`` or
            ``https://data.binance.vision``).
        gaps: gap policy, ``"skip"`` (default: the grid keeps its holes) or ``"ffill"`` (flat bars,
            marked in ``filled``); see `tradeready_gym.data.gaps`.

    Returns:
        `MarketData`; several symbols are aligned on the open times common to all of them.

    Raises:
        ConfigError: a bad argument (unknown timeframe, start >= end, bad symbol, bad ``data``).
        DataNotFoundError: the symbol / timeframe / range is not available; the message holds the
            ``tradeready data download ...`` command that fetches it.
        DataError: the candles are malformed (unsorted, duplicated, NaN, non-positive, bad OHLC).
        DownloadError: ``download=True`` and the download failed.

    Example:
        >>> from tradeready_gym.data.synthetic import generate_synthetic
        >>> md = load_market_data("SYNTH-1", "4h", data=generate_synthetic(48, timeframe="1h"))
        >>> md.timeframe, md.n_bars
        ('4h', 12)
    """
    timeframe_ns(timeframe)
    names = _symbols(symbols)
    s, e = _range(start, end)
    if gaps not in GAP_POLICIES:
        raise ConfigError(f"gaps={gaps!r} is not a gap policy; allowed: {', '.join(GAP_POLICIES)}")
    if not isinstance(download, bool):
        raise ConfigError(f"download={download!r} is not allowed; allowed: True or False")
    if data is not None:
        parts = _from_data(data, names, timeframe)
        if s is not None or e is not None:
            parts = [p.slice(s, e) for p in parts]
        empty = [sym for p in parts if p.n_bars == 0 for sym in p.symbols]
        if empty:
            raise DataNotFoundError(
                f"data= has no bars for symbols={empty} timeframe={timeframe!r} in {_range_text(s, e)}"
            )
    else:
        explicit = Path(data_dir).expanduser() if data_dir is not None else None
        cache = CandleCache(explicit if explicit is not None else default_data_dir())
        parts = [
            _from_cache(
                cache,
                sym,
                timeframe,
                s,
                e,
                download=download,
                base_url=base_url,
                vision_url=vision_url,
                explicit_dir=explicit,
            )
            for sym in names
        ]
    if gaps == "ffill":  # fill each series on its own grid first: aligning drops bars any symbol lacks
        parts = [apply_gap_policy(p, gaps) for p in parts]
    md = apply_gap_policy(align_markets(parts), gaps)
    warn_missing_bars(md)
    return md


def _check_name_agrees(path: Path, symbol: str | None, timeframe: str | None) -> None:
    """Refuse ``symbol`` / ``timeframe`` that contradict what the file's name says."""
    name_symbol, name_tf = name_hints(path)
    if symbol is not None and name_symbol is not None and normalize_symbol(symbol) != name_symbol:
        raise ConfigError(
            f"symbol={symbol!r} is not allowed for {str(path)!r}: its name says {name_symbol!r}; allowed: "
            f"symbol={name_symbol!r} (or omit it), or force=True (--force) to store it as {symbol!r}"
        )
    if timeframe is not None and name_tf is not None and timeframe != name_tf:
        raise ConfigError(
            f"timeframe={timeframe!r} is not allowed for {str(path)!r}: its name says {name_tf!r}; allowed: "
            f"timeframe={name_tf!r} (or omit it), or force=True (--force)"
        )


def import_data(
    source: PathLike | MarketData | Any,
    *,
    symbol: str | None = None,
    timeframe: str | None = None,
    data_dir: PathLike | None = None,
    force: bool = False,
) -> MarketData:
    """Import candles from a file, folder, DataFrame or `MarketData` into the cache.

    Args:
        source: a path (any format `read_path` knows, or a folder of such files), a DataFrame
            (needs ``symbol``) or a `MarketData`.
        symbol: the symbol, when it cannot be read from the file name.
        timeframe: the interval, when it cannot be read from the file name or the bar spacing.
        data_dir: cache root (default ``$TRADEREADY_DATA_DIR`` or the user cache dir).
        force: store a file under ``symbol`` / ``timeframe`` even when its name says another one
            (without it such a file is refused with a `ConfigError`: a mislabelled import would
            put one market's candles under another's name).

    Returns:
        The imported candles. The cache records their range as covered (gaps inside are kept as
        real outages).
    """
    import pandas as pd

    if isinstance(source, MarketData):
        md = source
        label = "import:MarketData"
    elif isinstance(source, pd.DataFrame):
        if symbol is None:
            raise ConfigError("symbol=None; a DataFrame import needs symbol= (e.g. 'BTCUSDT')")
        md = dataframe_to_market(
            source, symbol=normalize_symbol(symbol), timeframe=timeframe, source="the DataFrame to import"
        )
        label = "import:DataFrame"
    elif isinstance(source, (str, os.PathLike)):
        p = Path(source).expanduser()
        check_bool("force", force)
        if p.is_file() and not force:
            _check_name_agrees(p, symbol, timeframe)
        md = read_path(p, symbol=None if symbol is None else normalize_symbol(symbol), timeframe=timeframe)
        label = f"import:{p}"
    else:
        raise ConfigError(
            f"source is a {type(source).__name__}; allowed: a path, a pandas DataFrame or a MarketData"
        )
    if md.synthetic:
        for sym in md.symbols:
            if not is_synthetic_symbol(sym):
                raise DataError(
                    f"synthetic candles cannot be stored as {sym!r}; synthetic symbols start with 'SYNTH-'"
                )
    CandleCache(data_dir).write(md, source=label)
    return md

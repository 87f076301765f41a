"""The local candle cache: one Parquet file per symbol and timeframe.

Layout (``<root>`` is ``$TRADEREADY_DATA_DIR`` or ``<user cache dir>/tradeready-gym/candles``)::

    <root>/spot/<SYMBOL>/<SYMBOL>-<timeframe>.parquet       the candles, sorted by open time
    <root>/spot/<SYMBOL>/<SYMBOL>-<timeframe>.parquet.lock  the writers' lock

Columns: ``open_time`` (int64 ns UTC), ``open``, ``high``, ``low``, ``close``, ``volume`` and, when
the source had them, ``quote_volume``, ``trades``, ``taker_buy_base_volume``,
``taker_buy_quote_volume`` (float64; NaN where a merged source lacked them). The Parquet key-value
metadata ``tradeready`` holds JSON: the *coverage* (half-open ``[start, end)`` ns ranges that were
fetched or imported, so gaps inside them are real exchange outages and are not fetched again), the
sources and the ``synthetic`` flag.

Safety: every write takes the file lock, merges with what is on disk, writes a temporary file in
the same folder and moves it into place with ``os.replace`` (atomic), so a reader sees the old
file or the new one, never half of one, and a failed write leaves the old file untouched.
"""

from __future__ import annotations

import json
import os
import tempfile
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from tradeready_gym.data.market import OPTIONAL_FIELDS, REQUIRED_FIELDS, MarketData
from tradeready_gym.errors import ConfigError, DataError, DataNotFoundError
from tradeready_gym.timeframes import TIMEFRAMES, format_iso, timeframe_ns

__all__ = [
    "DATA_DIR_ENV",
    "CacheEntry",
    "CandleCache",
    "default_data_dir",
    "merge_ranges",
    "missing_ranges",
]

#: Environment variable that overrides the cache root.
DATA_DIR_ENV = "TRADEREADY_DATA_DIR"
_META_KEY = b"tradeready"
_FORMAT_VERSION = 1


def default_data_dir() -> Path:
    """The cache root: ``$TRADEREADY_DATA_DIR`` if set, else the user cache dir (platformdirs)."""
    env = os.environ.get(DATA_DIR_ENV)
    if env:
        return Path(env).expanduser()
    import platformdirs

    return Path(platformdirs.user_cache_dir("tradeready-gym", appauthor=False)) / "candles"


def merge_ranges(ranges: Sequence[tuple[int, int]]) -> list[tuple[int, int]]:
    """Union of half-open ``[start, end)`` ranges, sorted, touching ranges joined."""
    out: list[tuple[int, int]] = []
    for s, e in sorted((int(a), int(b)) for a, b in ranges if b > a):
        if out and s <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], e))
        else:
            out.append((s, e))
    return out


def missing_ranges(covered: Sequence[tuple[int, int]], start: int, end: int) -> list[tuple[int, int]]:
    """Parts of ``[start, end)`` not inside the union of ``covered``."""
    out: list[tuple[int, int]] = []
    cur = start
    for s, e in merge_ranges(covered):
        if e <= cur:
            continue
        if s >= end:
            break
        if s > cur:
            out.append((cur, min(s, end)))
        cur = max(cur, e)
        if cur >= end:
            break
    if cur < end:
        out.append((cur, end))
    return out


@dataclass(frozen=True)
class CacheEntry:
    """What the cache holds for one symbol and timeframe (see `CandleCache.entries`)."""

    symbol: str
    timeframe: str
    path: Path
    bars: int
    first_open: int | None
    last_open: int | None
    coverage: tuple[tuple[int, int], ...]
    sources: tuple[str, ...]
    synthetic: bool

    def describe(self) -> dict[str, Any]:
        """JSON-friendly summary (ISO times)."""
        return {
            "symbol": self.symbol,
            "timeframe": self.timeframe,
            "bars": self.bars,
            "start": None if self.first_open is None else format_iso(self.first_open),
            "end": None if self.last_open is None else format_iso(self.last_open),
            "coverage": [[format_iso(s), format_iso(e)] for s, e in self.coverage],
            "sources": list(self.sources),
            "synthetic": self.synthetic,
            "path": str(self.path),
        }


class CandleCache:
    """Parquet candle cache rooted at ``root`` (default: `default_data_dir`).

    Example:
        >>> import tempfile
        >>> from tradeready_gym.data.synthetic import generate_synthetic
        >>> cache = CandleCache(tempfile.mkdtemp())
        >>> md = generate_synthetic(48, timeframe="1h", seed=1)
        >>> _ = cache.write(md, source="synthetic")
        >>> cache.read("SYNTH-1", "1h").n_bars
        48
    """

    def __init__(self, root: str | os.PathLike[str] | None = None, *, lock_timeout: float = 120.0) -> None:
        self.root = Path(root).expanduser() if root is not None else default_data_dir()
        self.lock_timeout = float(lock_timeout)

    def __repr__(self) -> str:
        return f"CandleCache({str(self.root)!r})"

    # ------------------------------------------------------------------ paths
    def path(self, symbol: str, timeframe: str) -> Path:
        """Parquet file of ``symbol`` / ``timeframe``."""
        timeframe_ns(timeframe)
        if not symbol or "/" in symbol or symbol.startswith("."):
            raise ConfigError(f"symbol={symbol!r} is not a valid cache symbol; allowed: e.g. 'BTCUSDT'")
        return self.root / "spot" / symbol / f"{symbol}-{timeframe}.parquet"

    def _lock(self, path: Path) -> Any:
        from filelock import FileLock

        path.parent.mkdir(parents=True, exist_ok=True)
        return FileLock(str(path) + ".lock", timeout=self.lock_timeout)

    # ------------------------------------------------------------------ metadata
    @staticmethod
    def _read_meta(path: Path) -> dict[str, Any]:
        import pyarrow.parquet as pq

        try:
            md = pq.read_schema(path).metadata or {}
        except (OSError, ValueError) as exc:
            raise DataError(
                f"cache file {str(path)!r} is unreadable: {exc}; delete it and fetch again"
            ) from None
        raw = md.get(_META_KEY)
        if raw is None:
            return {"coverage": [], "sources": [], "synthetic": False}
        meta: dict[str, Any] = json.loads(raw)
        return meta

    def coverage(self, symbol: str, timeframe: str) -> list[tuple[int, int]]:
        """Half-open ``[start, end)`` ns ranges known to the cache for ``symbol`` / ``timeframe``."""
        p = self.path(symbol, timeframe)
        if not p.exists():
            return []
        return [(int(s), int(e)) for s, e in self._read_meta(p)["coverage"]]

    def missing(self, symbol: str, timeframe: str, start: int, end: int) -> list[tuple[int, int]]:
        """Parts of ``[start, end)`` not yet in the cache."""
        return missing_ranges(self.coverage(symbol, timeframe), start, end)

    # ------------------------------------------------------------------ read
    def has(self, symbol: str, timeframe: str) -> bool:
        return self.path(symbol, timeframe).exists()

    def read(
        self, symbol: str, timeframe: str, start: int | None = None, end: int | None = None
    ) -> MarketData:
        """Cached bars of one symbol with ``start <= open_time < end`` as `MarketData`.

        Lock-free: files are only ever replaced atomically, so a reader sees a complete file.

        Raises:
            DataNotFoundError: nothing is cached for ``symbol`` / ``timeframe`` or the range is empty.
        """
        import pyarrow.parquet as pq

        p = self.path(symbol, timeframe)
        if not p.exists():
            raise DataNotFoundError(
                f"no cached candles for symbol={symbol!r} timeframe={timeframe!r} under {self.root}"
            )
        filters: list[tuple[str, str, int]] = []
        if start is not None:
            filters.append(("open_time", ">=", int(start)))
        if end is not None:
            filters.append(("open_time", "<", int(end)))
        try:
            pf = pq.ParquetFile(p)
            meta_raw = (pf.schema_arrow.metadata or {}).get(_META_KEY)
            table = pq.read_table(p, filters=filters or None, memory_map=True)
        except (OSError, ValueError) as exc:
            raise DataError(
                f"cache file {str(p)!r} is unreadable: {exc}; delete it and fetch again"
            ) from None
        meta = json.loads(meta_raw) if meta_raw else {}
        if table.num_rows == 0:
            raise DataNotFoundError(
                f"no cached candles for symbol={symbol!r} timeframe={timeframe!r} in "
                f"[{_iso(start)}, {_iso(end)})"
            )
        cols = {name: table.column(name).to_numpy() for name in table.column_names}
        extra = {
            n: cols[n].astype(np.float64, copy=False)
            for n in OPTIONAL_FIELDS
            if n in cols and not np.isnan(cols[n].astype(np.float64, copy=False)).any()
        }
        try:
            return MarketData(
                (symbol,),
                timeframe,
                cols["open_time"].astype(np.int64, copy=False),
                cols["open"],
                cols["high"],
                cols["low"],
                cols["close"],
                cols["volume"],
                extra,
                synthetic=bool(meta.get("synthetic", False)),
            )
        except DataError as exc:
            raise DataError(f"cache file {str(p)!r}: {exc}") from None

    # ------------------------------------------------------------------ write
    def write(
        self,
        market: MarketData,
        *,
        source: str,
        coverage: Sequence[tuple[int, int]] | None = None,
    ) -> list[Path]:
        """Merge ``market`` (any number of symbols) into the cache; returns the files written.

        ``coverage`` are the ``[start, end)`` ranges this data stands for (default: first open time
        to last close time). Bars already cached at the same open time are replaced. Forward-filled
        bars (``market.filled``) are never cached.

        Raises:
            DataError: the merged candles fail validation (nothing is written then).
        """
        from tradeready_gym.data.synthetic import is_synthetic_symbol

        for sym in market.symbols:
            if market.synthetic != is_synthetic_symbol(sym):
                kind = "synthetic" if market.synthetic else "real"
                raise DataError(
                    f"cannot cache {kind} candles as symbol={sym!r}; synthetic candles use 'SYNTH-' names "
                    "and real ones never do"
                )
        written: list[Path] = []
        for sym in market.symbols:
            col = market.select([sym]) if market.n_symbols > 1 else market
            if col.filled is not None and col.filled.any():
                keep = ~col.filled[:, 0]
                col = col.take(keep)
            if col.n_bars == 0:
                continue
            cov = (
                list(coverage)
                if coverage is not None
                else [(int(col.open_time[0]), int(col.open_time[-1]) + col.interval_ns)]
            )
            written.append(self._merge_one(sym, col, source=source, coverage=cov))
        return written

    def mark_covered(
        self, symbol: str, timeframe: str, ranges: Sequence[tuple[int, int]], *, source: str
    ) -> None:
        """Record ``ranges`` as covered without adding bars (ranges where the exchange had no trading).

        Only applies to a symbol / timeframe that already has a cache file; otherwise does nothing.
        """
        p = self.path(symbol, timeframe)
        if not p.exists():
            return
        with self._lock(p):
            meta = self._read_meta(p)
            old = self._read_all(p, symbol, timeframe, bool(meta.get("synthetic", False)))
            if old is None:
                return
            meta["coverage"] = [
                list(r) for r in merge_ranges([*map(tuple, meta.get("coverage", [])), *ranges])
            ]
            if source not in meta.get("sources", []):
                meta["sources"] = [*meta.get("sources", []), source]
            self._atomic_write(p, old[0], old[1], meta)

    def _merge_one(
        self, symbol: str, new: MarketData, *, source: str, coverage: list[tuple[int, int]]
    ) -> Path:
        from tradeready_gym.data.readers import concat_markets

        p = self.path(symbol, new.timeframe)
        with self._lock(p):
            _remove_stale_temp_files(p)
            if p.exists():
                meta = self._read_meta(p)
                if bool(meta.get("synthetic", False)) != new.synthetic:
                    raise DataError(
                        f"cannot merge {'synthetic' if new.synthetic else 'real'} candles into "
                        f"{'synthetic' if meta.get('synthetic') else 'real'} cache file {str(p)!r}"
                    )
                old = self._read_all(p, symbol, new.timeframe, bool(meta.get("synthetic", False)))
                merged = concat_markets([old[0], new]) if old is not None else new
                old_cov = [(int(s), int(e)) for s, e in meta.get("coverage", [])]
                sources = list(meta.get("sources", []))
            else:
                old = None
                merged = new
                old_cov = []
                sources = []
            if source not in sources:
                sources.append(source)
            meta_out = {
                "version": _FORMAT_VERSION,
                "symbol": symbol,
                "timeframe": new.timeframe,
                "coverage": [list(r) for r in merge_ranges([*old_cov, *coverage])],
                "sources": sources,
                "synthetic": new.synthetic,
            }
            extras = _union_extras(None if old is None else (old[0].open_time, old[1]), new, merged)
            self._atomic_write(p, merged, extras, meta_out)
        return p

    @staticmethod
    def _read_all(
        p: Path, symbol: str, timeframe: str, synthetic: bool
    ) -> tuple[MarketData, dict[str, np.ndarray]] | None:
        """The whole file: candles (extras without NaN attached) and every extra column as stored."""
        import pyarrow.parquet as pq

        table = pq.read_table(p)
        if table.num_rows == 0:
            return None
        cols = {name: table.column(name).to_numpy() for name in table.column_names}
        extra = {n: cols[n].astype(np.float64) for n in OPTIONAL_FIELDS if n in cols}
        md = MarketData(
            (symbol,),
            timeframe,
            cols["open_time"].astype(np.int64),
            cols["open"],
            cols["high"],
            cols["low"],
            cols["close"],
            cols["volume"],
            {n: v for n, v in extra.items() if not np.isnan(v).any()},
            synthetic=synthetic,
        )
        return md, extra

    @staticmethod
    def _atomic_write(p: Path, md: MarketData, extras: dict[str, np.ndarray], meta: dict[str, Any]) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        arrays: dict[str, Any] = {"open_time": pa.array(md.open_time, type=pa.int64())}
        for n in REQUIRED_FIELDS:
            arrays[n] = pa.array(getattr(md, n)[:, 0], type=pa.float64())
        for n, v in extras.items():
            arrays[n] = pa.array(v, type=pa.float64())
        table = pa.table(arrays)
        table = table.replace_schema_metadata({_META_KEY: json.dumps(meta).encode()})
        fd, tmp = tempfile.mkstemp(prefix=f".{p.name}.", suffix=f".{uuid.uuid4().hex[:8]}.tmp", dir=p.parent)
        os.close(fd)
        try:
            pq.write_table(table, tmp, compression="zstd", row_group_size=1 << 17)
            with open(tmp, "rb") as fh:
                os.fsync(fh.fileno())
            os.replace(tmp, p)
        except BaseException:
            try:
                os.unlink(tmp)
            except FileNotFoundError:
                pass
            raise

    # ------------------------------------------------------------------ listing
    def entries(self) -> Iterator[CacheEntry]:
        """Every cached symbol/timeframe, sorted by symbol then timeframe length."""
        import pyarrow.parquet as pq

        base = self.root / "spot"
        if not base.is_dir():
            return
        found: list[tuple[str, int, Path]] = []
        for f in base.glob("*/*.parquet"):
            sym = f.parent.name
            tf = f.name[len(sym) + 1 : -len(".parquet")]
            if f.name.startswith(sym + "-") and tf in TIMEFRAMES:
                found.append((sym, TIMEFRAMES[tf], f))
        for sym, _, f in sorted(found):
            tf = f.name[len(sym) + 1 : -len(".parquet")]
            meta = self._read_meta(f)
            table = pq.read_table(f, columns=["open_time"])
            ot = table.column("open_time").to_numpy()
            yield CacheEntry(
                symbol=sym,
                timeframe=tf,
                path=f,
                bars=int(ot.shape[0]),
                first_open=int(ot[0]) if ot.size else None,
                last_open=int(ot[-1]) if ot.size else None,
                coverage=tuple((int(s), int(e)) for s, e in meta.get("coverage", [])),
                sources=tuple(meta.get("sources", [])),
                synthetic=bool(meta.get("synthetic", False)),
            )


def _remove_stale_temp_files(p: Path) -> None:
    """Temp files of writers that were killed mid-write (only called while holding the lock)."""
    for stale in p.parent.glob(f".{p.name}.*.tmp"):
        try:
            stale.unlink()
        except OSError:
            pass


def _iso(t: int | None) -> str:
    return "..." if t is None else format_iso(t)


def _union_extras(
    old: tuple[np.ndarray, dict[str, np.ndarray]] | None, new: MarketData, merged: MarketData
) -> dict[str, np.ndarray]:
    """Extra columns for the merged file: a column present on either side is kept, NaN where absent."""
    sides: list[tuple[np.ndarray, dict[str, np.ndarray]]] = []
    if old is not None:
        sides.append(old)
    sides.append((new.open_time, {k: v[:, 0] for k, v in new.extra.items()}))
    names = [n for n in OPTIONAL_FIELDS if any(n in e for _, e in sides)]
    out: dict[str, np.ndarray] = {}
    for n in names:
        col = np.full(merged.n_bars, np.nan)
        for ot, e in sides:  # the new side is applied last and wins, as in concat_markets
            pos = np.searchsorted(merged.open_time, ot)
            col[pos] = e[n] if n in e else np.nan
        out[n] = col
    return out

"""Readers that turn Binance-format files into `MarketData`."""

from __future__ import annotations

import gzip
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from tradeready_gym.data.market import MarketData
from tradeready_gym.errors import DataError
from tradeready_gym.timeframes import NS_PER_MS

__all__ = ["kline_rows_to_market", "read_rest_json"]


def kline_rows_to_market(rows: Sequence[Sequence[Any]], *, symbol: str, timeframe: str) -> MarketData:
    """Binance kline rows (12 columns: open time ms, o, h, l, c, v, close time, quote volume, trades,
    taker buy base, taker buy quote, ignore; numbers may be strings) -> one-symbol `MarketData`."""
    if len(rows) == 0:
        raise DataError(f"no kline rows for {symbol} {timeframe}")
    try:
        arr = np.asarray([r[:11] for r in rows], dtype=np.float64)
    except (ValueError, TypeError, IndexError) as exc:
        raise DataError(f"kline rows for {symbol} {timeframe} are malformed: {exc}") from None
    open_time = arr[:, 0].astype(np.int64) * NS_PER_MS
    extra = {
        "quote_volume": arr[:, 7],
        "trades": arr[:, 8],
        "taker_buy_base_volume": arr[:, 9],
        "taker_buy_quote_volume": arr[:, 10],
    }
    return MarketData((symbol,), timeframe, open_time, arr[:, 1], arr[:, 2], arr[:, 3], arr[:, 4], arr[:, 5], extra)


def read_rest_json(path: str | Path, *, symbol: str, timeframe: str) -> MarketData:
    """A Binance REST ``/api/v3/klines`` response saved as JSON (optionally gzip-compressed)."""
    p = Path(path)
    opener = gzip.open if p.suffix == ".gz" else open
    try:
        with opener(p, "rt") as fh:
            rows = json.load(fh)
    except (OSError, json.JSONDecodeError) as exc:
        raise DataError(f"path={str(p)!r} is not a readable Binance REST JSON file: {exc}") from None
    return kline_rows_to_market(rows, symbol=symbol, timeframe=timeframe)

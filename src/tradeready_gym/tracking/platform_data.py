"""Candles from the platform's market-data API, for envs whose local cache lacks them.

With an API key and the platform's URL, `load_market_data_via_platform` reads the local cache
first; only the ranges the cache lacks are fetched from the platform
(``GET /api/v1/market/candles/{symbol}?interval=&limit=&end_time=``, paged backwards from the end
of the range, ``limit`` up to 1000 per page), written into the local cache (source
``"platform"``), and the candles are read from the cache again. The engine stays in-process: only
candles travel.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from tradeready_gym.errors import DataNotFoundError, DownloadError

__all__ = ["fetch_platform_candles", "fill_cache_from_platform", "load_market_data_via_platform"]


def fetch_platform_candles(
    base_url: str,
    symbol: str,
    timeframe: str,
    start_ns: int,
    end_ns: int,
    *,
    api_key: str | None = None,
    page: int = 1000,
    timeout_s: float = 30.0,
    client: Any = None,
) -> Any:
    """The platform's candles of ``symbol`` with ``start_ns <= open_time`` and close time ``<= end_ns``.

    Returns:
        A `MarketData` (possibly with no bars when the platform has none in the range).

    Raises:
        DownloadError: the platform answered with an error or could not be reached.
    """
    import httpx

    from tradeready_gym.data.market import MarketData
    from tradeready_gym.timeframes import format_iso, parse_time, timeframe_ns

    interval = timeframe_ns(timeframe)
    headers = {"X-API-Key": api_key} if api_key else {}
    own = client is None
    http = client if client is not None else httpx.Client(base_url=base_url.rstrip("/"), headers=headers,
                                                          timeout=timeout_s)
    rows: dict[int, tuple[float, float, float, float, float]] = {}
    cursor = int(end_ns)
    try:
        for _ in range(100_000):
            try:
                resp = http.get(f"/api/v1/market/candles/{symbol}",
                                params={"interval": timeframe, "limit": int(page), "end_time": format_iso(cursor)})
            except httpx.HTTPError as exc:
                raise DownloadError(f"platform {base_url} not reachable for {symbol} {timeframe}: {exc}") from exc
            if resp.status_code != 200:
                raise DownloadError(
                    f"platform {base_url} answered {resp.status_code} for {symbol} {timeframe} candles: {resp.text[:300]}"
                )
            candles = resp.json().get("candles") or []
            if not candles:
                break
            opens = [int(parse_time(c.get("time") or c["bucket"], param="time")) for c in candles]
            for t, c in zip(opens, candles, strict=True):
                if start_ns <= t and t + interval <= end_ns:
                    rows[t] = (float(c["open"]), float(c["high"]), float(c["low"]), float(c["close"]),
                               float(c["volume"]))
            first = min(opens)
            if first <= start_ns or first >= cursor:
                break
            cursor = first  # the next page: candles that closed by the first open of this one
    finally:
        if own:
            http.close()
    ts = np.array(sorted(rows), dtype=np.int64)
    vals = np.array([rows[t] for t in ts.tolist()], dtype=np.float64).reshape(-1, 5)
    o, h, lo, c, v = (vals[:, k : k + 1].copy() for k in range(5))
    return MarketData((symbol,), timeframe, ts, o, h, lo, c, v)


def fill_cache_from_platform(
    symbols: Sequence[str],
    timeframe: str,
    start: Any,
    end: Any,
    *,
    base_url: str,
    api_key: str | None = None,
    data_dir: Any = None,
) -> int:
    """Fetch the ranges of ``[start, end)`` the local cache lacks from the platform; returns bars added."""
    from tradeready_gym.data.cache import CandleCache
    from tradeready_gym.timeframes import parse_time

    start_ns = parse_time(start, param="start_time")
    end_ns = parse_time(end, param="end_time")
    cache = CandleCache(data_dir)
    added = 0
    for sym in symbols:
        for lo, hi in cache.missing(sym, timeframe, start_ns, end_ns):
            md = fetch_platform_candles(base_url, sym, timeframe, lo, hi, api_key=api_key)
            if md.n_bars:
                cache.write(md, source="platform", coverage=[(lo, hi)])
                added += md.n_bars
    return added


def load_market_data_via_platform(
    symbols: str | Sequence[str],
    timeframe: str,
    start: Any,
    end: Any,
    *,
    base_url: str,
    api_key: str | None = None,
    data_dir: Any = None,
    **kwargs: Any,
) -> Any:
    """`tradeready_gym.data.load_market_data` from the local cache, filled from the platform where it lacks candles.

    Raises:
        DataNotFoundError: neither the cache nor the platform has the candles.
        DownloadError: the platform failed.
    """
    from tradeready_gym.data import load_market_data

    syms = [symbols] if isinstance(symbols, str) else list(symbols)
    try:
        return load_market_data(syms, timeframe, start, end, data_dir=data_dir, **kwargs)
    except DataNotFoundError:
        if start is None or end is None:
            raise
    fill_cache_from_platform(syms, timeframe, start, end, base_url=base_url, api_key=api_key, data_dir=data_dir)
    return load_market_data(syms, timeframe, start, end, data_dir=data_dir, **kwargs)

"""``/api/v1/market``: public market data from the server's candle cache (no key, no limit).

``candles`` returns the newest ``limit`` cached bars (or those closed by ``end_time``); ``price``
is the last cached close; ``data-range`` lists what the cache holds.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse

from tradeready_gym.timeframes import format_iso, parse_time
from tradeready_platform.deps import Backtests
from tradeready_platform.errors import ApiError
from tradeready_platform.routers.common import ERRORS
from tradeready_platform.schemas import SYMBOL_RE, CandlesPublic, DataRangePublic, PricesPublic
from tradeready_platform.services.backtests import interval_label

__all__ = ["router"]

router = APIRouter(prefix="/api/v1/market", tags=["market"])


def _symbol(symbol: str) -> str:
    if not SYMBOL_RE.match(symbol):
        raise ApiError(400, "INVALID_SYMBOL", f"symbol={symbol!r} is not allowed; allowed: e.g. 'BTCUSDT'")
    return symbol


@router.get("/candles/{symbol}", response_model=CandlesPublic, responses={400: ERRORS[400]})
def candles(
    symbol: str,
    backtests: Backtests,
    interval: Annotated[str, Query(max_length=10)] = "1h",
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    end_time: Annotated[str | None, Query(max_length=40)] = None,
) -> JSONResponse:
    """Cached candles of ``symbol``, oldest first, ending at the newest bar or at ``end_time``."""
    label = interval_label(interval)
    end_ns = 2**62 if end_time is None else _time(end_time)
    return JSONResponse(backtests.candles_until(_symbol(symbol), label, end_ns, limit))


def _time(value: str) -> int:
    try:
        return parse_time(value, param="end_time")
    except Exception as exc:
        raise ApiError(400, "VALIDATION_ERROR", str(exc)) from exc


@router.get("/price/{symbol}", responses={400: ERRORS[400]})
def price(symbol: str, backtests: Backtests, interval: Annotated[str, Query(max_length=10)] = "1m") -> JSONResponse:
    """The last cached close of ``symbol`` (at ``interval``, default 1m)."""
    c = backtests.candles_until(_symbol(symbol), interval_label(interval), 2**62, 1)["candles"]
    if not c:
        raise ApiError(400, "NO_DATA", f"no cached candles for {symbol}")
    return JSONResponse({"symbol": symbol, "price": c[-1]["close"], "timestamp": c[-1]["bucket"]})


@router.get("/prices", response_model=PricesPublic, responses={400: ERRORS[400]})
def prices(
    backtests: Backtests,
    symbols: Annotated[str, Query(min_length=2, max_length=2000)],
    interval: Annotated[str, Query(max_length=10)] = "1m",
) -> JSONResponse:
    """Last cached closes of the comma-separated ``symbols``."""
    label = interval_label(interval)
    out: dict[str, str] = {}
    for sym in [s.strip() for s in symbols.split(",") if s.strip()]:
        c = backtests.candles_until(_symbol(sym), label, 2**62, 1)["candles"]
        if c:
            out[sym] = c[-1]["close"]
    return JSONResponse({"prices": out})


@router.get("/data-range", response_model=DataRangePublic)
def data_range(request: Request) -> JSONResponse:
    """Every cached symbol and timeframe with its first and last bar."""
    from tradeready_gym.data.cache import CandleCache

    entries: list[dict[str, Any]] = []
    for e in CandleCache(request.app.state.settings.data_dir).entries():
        entries.append(
            {
                "symbol": e.symbol,
                "timeframe": e.timeframe,
                "bars": e.bars,
                "first": None if e.first_open is None else format_iso(e.first_open),
                "last": None if e.last_open is None else format_iso(e.last_open),
            }
        )
    entries.sort(key=lambda d: (d["symbol"], d["timeframe"]))
    return JSONResponse({"entries": entries})

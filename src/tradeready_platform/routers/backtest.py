"""``/api/v1/backtest``: REST backtest sessions (PLATFORM-API §2.2 with the fixes of §3).

Per ``reset()`` the original client calls create -> start -> step; per ``step(a)``: 0..N orders ->
step -> candles of each pair; after the final step, results.
"""

from __future__ import annotations

import json
import logging
import re
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from tradeready_platform.deps import AccountId, Backtests, Caller
from tradeready_platform.errors import ApiError, error_body
from tradeready_platform.ratelimit import HotRoute
from tradeready_platform.routers.common import errors
from tradeready_platform.schemas import (
    BacktestCreate,
    BacktestCreated,
    BacktestResults,
    BacktestsPublic,
    BacktestStatus,
    BatchStep,
    CandlesPublic,
    EquityCurvePublic,
    OrderCreate,
    OrderPublic,
    OrdersPublic,
    PricesPublic,
    SessionState,
    StepPublic,
    TradesPublic,
)
from tradeready_platform.services.backtests import BacktestService, interval_label

__all__ = ["hot_routes", "router"]

log = logging.getLogger(__name__)

router = APIRouter(prefix="/api/v1/backtest", tags=["backtest"])

Limit = Annotated[int, Query(ge=1, le=1000)]


@router.post("/create", response_model=BacktestCreated, responses=errors(400))
def create(body: BacktestCreate, ident: Caller, backtests: Backtests) -> JSONResponse:
    """Create a session over cached candles (200, as the original)."""
    data = body.model_dump()
    return JSONResponse(backtests.create(ident[0], ident[1], data))


@router.get("/list", response_model=BacktestsPublic, responses=errors())
def list_sessions(
    account_id: AccountId,
    backtests: Backtests,
    status: Annotated[str | None, Query(max_length=16)] = None,
    limit: Limit = 100,
    offset: Annotated[int, Query(ge=0, le=10**9)] = 0,
) -> JSONResponse:
    """The caller's sessions, newest first."""
    return JSONResponse(backtests.list(account_id, status, limit, offset))


@router.post("/{session_id}/start", response_model=SessionState, responses=errors(404, 409))
def start(session_id: str, account_id: AccountId, backtests: Backtests) -> JSONResponse:
    """Start a created session."""
    return JSONResponse(backtests.start(account_id, session_id))


# The hot routes (step, order, candles) run in the event loop when the session is in memory (no thread
# hop, no database); otherwise, and to store a completed session's results, they go through the thread
# pool. They read the caller and the service from the request instead of a dependency tree: FastAPI's
# dependency solving was a third of a step's server time.


def _hot(request: Request) -> tuple[int, BacktestService]:
    ident = request.scope.get("state", {}).get("identity")
    if ident is None:
        raise ApiError(401, "INVALID_API_KEY", "missing API key: send it in the X-API-Key header")
    return ident[0], request.app.state.backtests


@router.post("/{session_id}/step", response_model=StepPublic, responses=errors(404, 409))
async def step(session_id: str, request: Request) -> JSONResponse:
    """Advance one bar: queued orders fill, the portfolio is marked at the new close."""
    account_id, backtests = _hot(request)
    sess = backtests.peek(account_id, session_id)
    if sess is None:
        return JSONResponse(await run_in_threadpool(backtests.step, account_id, session_id))
    out, finish = backtests.step_in_memory(sess)
    if finish is not None:
        await run_in_threadpool(finish)
    return JSONResponse(out)


def _json(content: Any) -> bytes:
    """The bytes `JSONResponse` renders for ``content``."""
    return json.dumps(content, ensure_ascii=False, allow_nan=False, indent=None, separators=(",", ":")).encode()


def hot_routes(backtests: BacktestService) -> list[HotRoute]:
    """The routes the auth middleware answers itself (`AuthRateLimitMiddleware` ``hot_routes``).

    ``POST /api/v1/backtest/{session_id}/step`` of a session in memory: the same service call, the
    same JSON bytes, status and error envelope as `step`, without the router, the dependency
    solving and the request object. Sessions not in memory go on to `step`.
    """

    async def step_hot(match: re.Match[str], ident: Any) -> tuple[int, bytes] | None:
        sess = backtests.peek(ident[0], match.group(1))
        if sess is None:
            return None
        try:
            out, finish = backtests.step_in_memory(sess)
            if finish is not None:
                await run_in_threadpool(finish)
        except ApiError as exc:
            if exc.headers:
                return None  # the route answers it with the headers
            return exc.status, _json(error_body(exc.code, exc.message, exc.details))
        except Exception:
            log.exception("unhandled error on POST %s", match.group(0))
            return 500, _json(error_body("INTERNAL_ERROR", "internal server error"))
        return 200, _json(out)

    return [("POST", re.compile(r"/api/v1/backtest/([^/]+)/step"), step_hot)]


@router.post("/{session_id}/step/batch", response_model=StepPublic, responses=errors(404, 409))
async def step_batch(session_id: str, body: BatchStep, account_id: AccountId, backtests: Backtests) -> JSONResponse:
    """Advance up to ``steps`` bars in one call (stops at the end); fills of all of them are listed."""
    return JSONResponse(await run_in_threadpool(backtests.step_batch, account_id, session_id, body.steps))


@router.post("/{session_id}/trade/order", response_model=OrderPublic, responses=errors(400, 404, 409))
async def order(session_id: str, body: OrderCreate, request: Request) -> JSONResponse:
    """Place an order (200). Market orders fill at the next step; a sell of an unheld symbol is 400."""
    account_id, backtests = _hot(request)
    sess = backtests.peek(account_id, session_id)
    if sess is None:
        return JSONResponse(await run_in_threadpool(backtests.place_order, account_id, session_id, body.model_dump()))
    return JSONResponse(backtests.order_in_memory(sess, body.model_dump()))


@router.get("/{session_id}/trade/orders", response_model=OrdersPublic, responses=errors(404))
def orders(
    session_id: str,
    account_id: AccountId,
    backtests: Backtests,
    status: Annotated[str | None, Query(max_length=16)] = None,
) -> JSONResponse:
    """Every order of the session with its status."""
    return JSONResponse(backtests.orders(account_id, session_id, status))


@router.delete("/{session_id}/trade/order/{order_id}", response_model=OrderPublic, responses=errors(404))
def cancel_order(session_id: str, order_id: str, account_id: AccountId, backtests: Backtests) -> JSONResponse:
    """Cancel a pending order."""
    return JSONResponse(backtests.cancel_order(account_id, session_id, order_id))


@router.get("/{session_id}/trade/history", response_model=TradesPublic, responses=errors(404))
def trade_history(session_id: str, account_id: AccountId, backtests: Backtests) -> JSONResponse:
    """Every fill of the session."""
    return JSONResponse(backtests.trades(account_id, session_id))


@router.post("/{session_id}/cancel", response_model=BacktestStatus, responses=errors(404, 409))
def cancel(session_id: str, account_id: AccountId, backtests: Backtests) -> JSONResponse:
    """Cancel a created or running session; its results so far are stored."""
    out = backtests.cancel(account_id, session_id)
    return JSONResponse(backtests.status(account_id, out["session_id"]))


@router.get("/{session_id}/status", response_model=BacktestStatus, responses=errors(404))
def status(session_id: str, account_id: AccountId, backtests: Backtests) -> JSONResponse:
    """Status and progress."""
    return JSONResponse(backtests.status(account_id, session_id))


@router.get("/{session_id}/market/candles/{symbol}", response_model=CandlesPublic, responses=errors(400, 404))
async def candles(
    session_id: str,
    symbol: str,
    request: Request,
    interval: Annotated[str, Query(max_length=10)] = "1m",
    limit: Limit = 100,
) -> JSONResponse:
    """Candles closed by the session's virtual time, oldest first (also after the final step)."""
    account_id, backtests = _hot(request)
    fast = await _fast_candles(session_id, symbol, account_id, backtests, interval, limit)
    if fast is not None:
        return fast
    return JSONResponse(await run_in_threadpool(backtests.candles, account_id, session_id, symbol, interval, limit))


async def _fast_candles(
    session_id: str, symbol: str, account_id: int, backtests: Any, interval: str, limit: int
) -> JSONResponse | None:
    sess = backtests.peek(account_id, session_id)
    if sess is None:
        return None
    out = backtests.candles_in_memory(sess, symbol, interval_label(interval), limit)
    return None if out is None else JSONResponse(out)


@router.get("/{session_id}/market/prices", response_model=PricesPublic, responses=errors(404))
def prices(session_id: str, account_id: AccountId, backtests: Backtests) -> JSONResponse:
    """The close of every pair at the virtual time."""
    return JSONResponse(backtests.prices(account_id, session_id))


@router.get("/{session_id}/results", response_model=BacktestResults, responses=errors(404, 409))
def results(session_id: str, account_id: AccountId, backtests: Backtests) -> JSONResponse:
    """Results of a completed (or cancelled) session, with the tracker's top-level keys."""
    return JSONResponse(backtests.results(account_id, session_id))


@router.get("/{session_id}/results/equity-curve", response_model=EquityCurvePublic, responses=errors(404, 409))
def equity_curve(session_id: str, account_id: AccountId, backtests: Backtests) -> JSONResponse:
    """Equity at every step's virtual time."""
    return JSONResponse(backtests.equity_curve(account_id, session_id))


@router.get("/{session_id}/results/trades", response_model=TradesPublic, responses=errors(404, 409))
def results_trades(session_id: str, account_id: AccountId, backtests: Backtests) -> JSONResponse:
    """Every fill of the session."""
    return JSONResponse(backtests.trades(account_id, session_id))

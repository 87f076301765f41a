"""``/api/v1/training``: training runs (PLATFORM-API §2.3 plus list, get, learning curve, compare)."""

from __future__ import annotations

import base64
import binascii
from typing import Annotated, Literal

from fastapi import APIRouter, Body, Query
from fastapi.responses import JSONResponse

from tradeready_platform.deps import AccountId, Training
from tradeready_platform.errors import ApiError
from tradeready_platform.routers.common import errors
from tradeready_platform.schemas import (
    EpisodeCreate,
    LearningCurvePublic,
    RunComplete,
    RunCreate,
    RunPublic,
    RunsCompare,
    RunsPublic,
    ScalarCreate,
)

__all__ = ["router"]

CurveMetric = Literal[
    "roi_pct", "sharpe", "sharpe_ratio", "sortino", "sortino_ratio", "max_drawdown_pct", "reward_sum", "trades",
    "total_trades", "fees", "final_equity", "buy_hold_roi_pct", "length",
]

router = APIRouter(prefix="/api/v1/training", tags=["training"])


@router.post("/runs", status_code=201, response_model=RunPublic, responses={200: {"model": RunPublic}, **errors(404)})
def register(body: RunCreate, account_id: AccountId, training: Training) -> JSONResponse:
    """Register a run (201); an existing run of the caller answers 200 unchanged (idempotent)."""
    run, created = training.register(account_id, body.model_dump())
    return JSONResponse(run, status_code=201 if created else 200)


@router.get("/runs", response_model=RunsPublic, responses=errors())
def list_runs(
    account_id: AccountId,
    training: Training,
    status: Annotated[str | None, Query(max_length=16)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=10**9)] = 0,
) -> JSONResponse:
    """The caller's runs, newest first."""
    return JSONResponse(training.list_runs(account_id, status, limit, offset))


@router.get("/compare", response_model=RunsCompare, responses=errors(404))
def compare(
    account_id: AccountId, training: Training, run_ids: Annotated[str, Query(min_length=1, max_length=4000)]
) -> JSONResponse:
    """Aggregate statistics of several runs (``run_ids`` comma separated)."""
    ids = [r.strip() for r in run_ids.split(",") if r.strip()]
    return JSONResponse(training.compare(account_id, ids))


@router.get("/runs/{run_id}", response_model=RunPublic, responses=errors(404))
def get_run(run_id: str, account_id: AccountId, training: Training) -> JSONResponse:
    """One run with its episodes and aggregate statistics."""
    return JSONResponse(training.get_run(account_id, run_id))


@router.post("/runs/{run_id}/episodes", response_model=RunPublic, responses=errors(404))
def add_episode(run_id: str, body: EpisodeCreate, account_id: AccountId, training: Training) -> JSONResponse:
    """Report a finished episode (idempotent on ``episode_number``)."""
    return JSONResponse(training.add_episode(account_id, run_id, body.model_dump(exclude_none=True)))


@router.post("/runs/{run_id}/complete", response_model=RunPublic, responses=errors(404))
def complete(
    run_id: str, account_id: AccountId, training: Training, body: Annotated[RunComplete | None, Body()] = None
) -> JSONResponse:
    """Mark the run finished (or ``failed``); aggregate statistics and the learning curve are returned.

    The body is optional: ``{status, summary, total_steps}`` (the tracking library's remote mode sends it).
    """
    b = body or RunComplete.model_validate({})
    return JSONResponse(training.complete(account_id, run_id, b.status, b.summary, b.total_steps))


@router.post("/runs/{run_id}/heartbeat", response_model=RunPublic, responses=errors(404))
def heartbeat(run_id: str, account_id: AccountId, training: Training) -> JSONResponse:
    """Refresh the run's heartbeat (a running run without one for 120 s reads as "stale")."""
    return JSONResponse(training.heartbeat(account_id, run_id))


@router.post("/runs/{run_id}/scalars", responses=errors(404))
def add_scalars(
    run_id: str, items: Annotated[list[ScalarCreate], Body(max_length=10_000)], account_id: AccountId, training: Training
) -> JSONResponse:
    """Store training scalars (Stable-Baselines3 logger values), idempotent on (key, step)."""
    return JSONResponse(training.add_scalars(account_id, run_id, [i.model_dump() for i in items]))


@router.put("/runs/{run_id}/traces/{episode}", responses=errors(400, 404))
def put_trace(
    run_id: str,
    episode: int,
    account_id: AccountId,
    training: Training,
    data_b64: Annotated[str, Body(embed=True, max_length=50_000_000)],
    reasons: Annotated[str, Body(embed=True, max_length=100)] = "",
) -> JSONResponse:
    """Store an episode trace: ``data_b64`` is the base64 of `tradeready_gym.tracking.traces` bytes."""
    try:
        data = base64.b64decode(data_b64, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ApiError(400, "VALIDATION_ERROR", f"data_b64 is not valid base64: {exc}") from exc
    return JSONResponse(training.put_trace(account_id, run_id, episode, data, reasons))


@router.get("/runs/{run_id}/learning-curve", response_model=LearningCurvePublic, responses=errors(404))
def learning_curve(
    run_id: str,
    account_id: AccountId,
    training: Training,
    metric: Annotated[CurveMetric, Query()] = "roi_pct",
    window: Annotated[int, Query(ge=1, le=10_000)] = 10,
) -> JSONResponse:
    """Per-episode values of ``metric`` and their trailing rolling mean over ``window`` episodes."""
    return JSONResponse(training.learning_curve(account_id, run_id, metric, window))

"""FastAPI dependencies: the services of the app and the caller's identity."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from tradeready_platform.errors import ApiError
from tradeready_platform.services.accounts import AccountService
from tradeready_platform.services.backtests import BacktestService
from tradeready_platform.services.training import TrainingService

__all__ = ["AccountId", "Accounts", "Backtests", "Caller", "Training", "caller"]


async def caller(request: Request) -> tuple[int, int]:
    """``(account_id, key_id)`` resolved by the auth middleware (401 if there is none)."""
    ident = request.scope.get("state", {}).get("identity")
    if ident is None:
        raise ApiError(401, "INVALID_API_KEY", "missing API key: send it in the X-API-Key header")
    return ident  # type: ignore[no-any-return]


async def account_id(ident: Annotated[tuple[int, int], Depends(caller)]) -> int:
    return ident[0]


async def _backtests(request: Request) -> BacktestService:
    return request.app.state.backtests  # type: ignore[no-any-return]


async def _training(request: Request) -> TrainingService:
    return request.app.state.training  # type: ignore[no-any-return]


async def _accounts(request: Request) -> AccountService:
    return request.app.state.accounts  # type: ignore[no-any-return]


Caller = Annotated[tuple[int, int], Depends(caller)]
AccountId = Annotated[int, Depends(account_id)]
Backtests = Annotated[BacktestService, Depends(_backtests)]
Training = Annotated[TrainingService, Depends(_training)]
Accounts = Annotated[AccountService, Depends(_accounts)]

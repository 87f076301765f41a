"""`create_app`: the FastAPI application of ``tradeready serve``.

Routers: ``/api/v1/auth``, ``/api/v1/account``, ``/api/v1/backtest``, ``/api/v1/training``,
``/api/v1/market`` and ``/health``; when importable, ``tradeready_platform.routers.live.router``
(PLATFORM-API §2.4; included first so its paths win) and the dashboard
(``tradeready_platform.dashboard.dashboard_router(app_state)`` mounted at ``/training``).
"""

from __future__ import annotations

import importlib
import logging
from typing import Any

from fastapi import FastAPI
from fastapi.responses import JSONResponse

from tradeready_platform.db import Database
from tradeready_platform.errors import install_error_handlers
from tradeready_platform.ratelimit import AuthRateLimitMiddleware
from tradeready_platform.routers import auth, backtest, market, training
from tradeready_platform.services.accounts import AccountService
from tradeready_platform.services.backtests import BacktestService
from tradeready_platform.services.training import TrainingService
from tradeready_platform.settings import Settings

__all__ = ["create_app"]

log = logging.getLogger(__name__)


def _optional(module: str) -> Any:
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name and module.startswith(exc.name):
            return None
        raise


def create_app(settings: Settings | None = None, *, database: Database | None = None) -> FastAPI:
    """Build the server app.

    Args:
        settings: server settings (default: `Settings()` from the environment).
        database: an open `Database` to use instead of opening ``settings.database_url``.

    The app's ``state`` holds ``settings``, ``db`` (`Database`), ``accounts`` (`AccountService`),
    ``backtests`` (`BacktestService`) and ``training`` (`TrainingService`).
    """
    settings = settings or Settings()
    db = database or Database(settings.resolved_database_url)
    app = FastAPI(
        title="tradeready platform",
        version=_version(),
        description="Backtests, training runs and market data over the tradeready-gym engine. "
        "Authenticate with the header X-API-Key: ak_live_...",
    )
    app.state.settings = settings
    app.state.db = db
    app.state.accounts = AccountService(db)
    app.state.backtests = BacktestService(db, settings)
    app.state.training = TrainingService(db)
    install_error_handlers(app)

    live = _optional("tradeready_platform.routers.live")
    if live is not None:
        app.include_router(live.router)
    app.include_router(backtest.router)  # first of ours: its step route is the hottest path
    app.include_router(auth.router)
    app.include_router(auth.account_router)
    app.include_router(training.router)
    app.include_router(market.router)
    dash = _optional("tradeready_platform.dashboard")
    if dash is not None and hasattr(dash, "dashboard_router"):
        app.include_router(dash.dashboard_router(app.state))

    @app.get("/health", tags=["health"])
    @app.get("/api/v1/health", tags=["health"], include_in_schema=False)
    def health() -> JSONResponse:
        """Liveness and the database dialect."""
        return JSONResponse({"status": "ok", "database": db.dialect})

    app.add_middleware(
        AuthRateLimitMiddleware,
        accounts=app.state.accounts,
        settings=settings,
        hot_routes=backtest.hot_routes(app.state.backtests),
    )
    return app


def _version() -> str:
    try:
        from importlib.metadata import version

        return version("tradeready-gym")
    except Exception:
        return "0"

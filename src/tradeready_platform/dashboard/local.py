"""`create_local_app`: the dashboard over a local tracking store, for ``tradeready dashboard``.

No accounts and no key: the app answers only clients on the loopback interface (127.0.0.0/8, ::1) and
only requests whose ``Host`` is a loopback name, so a web page elsewhere cannot read it through DNS
rebinding. It opens the store read-mostly through `tradeready_gym.tracking.store.Store` (which applies
the store's migrations under its file lock).
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from tradeready_platform.dashboard.router import DEFAULT_REFRESH_S, PAGE_PREFIX, dashboard_router
from tradeready_platform.errors import error_body, install_error_handlers

__all__ = ["LOOPBACK_HOSTS", "create_local_app", "is_loopback"]

#: Host names accepted in the ``Host`` header of the local app.
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1", "[::1]")


def is_loopback(host: str | None) -> bool:
    """Whether ``host`` (an IP address or ``localhost``) is on the loopback interface."""
    if not host:
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _host_name(header: str) -> str:
    if header.startswith("["):
        return header[: header.find("]") + 1]
    return header.rsplit(":", 1)[0] if header.count(":") == 1 else header


def create_local_app(
    store_path: str | os.PathLike[str] | None = None,
    *,
    cache_dir: str | None = None,
    refresh_s: float = DEFAULT_REFRESH_S,
) -> FastAPI:
    """A FastAPI app serving the dashboard over the local store at ``store_path``.

    Args:
        store_path: The tracking store (file path or SQLAlchemy URL); default the library's default store
            (``$TRADEREADY_HOME/tracking.sqlite``).
        cache_dir: Candle cache folder for the replay's open/high/low.
        refresh_s: Poll interval of the pages, seconds.

    Returns:
        The app; run it on 127.0.0.1 (``tradeready dashboard`` refuses any other address).
    """
    from tradeready_gym.tracking.store import Store

    store = Store(store_path)

    def get_session() -> Iterator[Session]:
        with Session(store.engine) as session:
            yield session

    app = FastAPI(title="tradeready dashboard (local store)", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.store = store
    install_error_handlers(app)

    @app.middleware("http")
    async def loopback_only(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        client = request.client.host if request.client else None
        host = _host_name(request.headers.get("host", ""))
        if not is_loopback(client) or (host not in LOOPBACK_HOSTS and not is_loopback(host)):
            return JSONResponse(
                error_body("PERMISSION_DENIED", "the local dashboard answers loopback clients only"), 403
            )
        return await call_next(request)

    @app.get("/", include_in_schema=False)
    def root() -> Any:
        return RedirectResponse(PAGE_PREFIX, status_code=307)

    app.include_router(dashboard_router(get_session, None, auth="none", cache_dir=cache_dir, refresh_s=refresh_s))
    return app

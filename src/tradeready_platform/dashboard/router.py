"""The dashboard's routes: HTML pages under ``/training`` and their JSON under ``/api/v1/dashboard``.

`dashboard_router` builds one `APIRouter` from two dependencies, so the same routes serve the platform
(a database session and the caller's account, from the API key) and the local store (a session on the
SQLite file and no account). The pages hold no data: they are static HTML + JavaScript that call the
JSON API, sending ``X-API-Key`` when the user has typed a key into the page's login form (kept in the
tab's ``sessionStorage``).

JSON endpoints (all ``GET``; errors use the platform's envelope ``{"error": {"code", "message", "details"}}``):

=========================================================  =====================================================
``/api/v1/dashboard/runs?label=&since=``                    run list (`service.runs_list`)
``/api/v1/dashboard/runs/{id}``                             run detail, cards, best/worst (`service.run_detail`)
``/api/v1/dashboard/runs/{id}/curves?metrics=&x=&max_points=``  downsampled curves (`service.run_curves`)
``/api/v1/dashboard/runs/{id}/updates?after=``              live: episodes after a cursor (`service.run_updates`)
``/api/v1/dashboard/runs/{id}/episodes?page=&page_size=&q=&sort=&order=``  episode table
``/api/v1/dashboard/runs/{id}/episodes/{n}/replay?symbol=``  replay of a traced episode
``/api/v1/dashboard/compare?ids=a,b&metric=&x=``            compare (`service.compare_runs`)
``/api/v1/dashboard/config``                                page settings (refresh interval, auth mode)
=========================================================  =====================================================
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from tradeready_gym.errors import ConfigError
from tradeready_platform.dashboard import service
from tradeready_platform.dashboard.downsample import MAX_POINTS
from tradeready_platform.errors import ApiError

__all__ = ["API_PREFIX", "CSP", "DEFAULT_REFRESH_S", "PAGE_PREFIX", "STATIC_DIR", "dashboard_router"]

log = logging.getLogger(__name__)

PAGE_PREFIX = "/training"
API_PREFIX = "/api/v1/dashboard"
STATIC_DIR = Path(__file__).resolve().parent / "static"
DEFAULT_REFRESH_S = 5.0
#: Content-Security-Policy of the pages: scripts, styles, images and requests only from this server.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; "
    "form-action 'self'"
)
_PAGES = {"runs": "runs.html", "run": "run.html", "compare": "compare.html", "replay": "replay.html"}
_STATIC_TYPES = {
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".html": "text/html; charset=utf-8",
    ".txt": "text/plain; charset=utf-8",
    ".svg": "image/svg+xml",
}


def _fail(exc: Exception) -> ApiError:
    if isinstance(exc, service.NotFound):
        return ApiError(404, "NOT_FOUND", str(exc))
    return ApiError(400, "VALIDATION_ERROR", str(exc))


def _call(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Response:
    """Run a service function; answer its dict as JSON (plain ``json.dumps``: the series are long lists of
    floats, which FastAPI's generic encoder walks element by element)."""
    try:
        data = fn(*args, **kwargs)
    except (ConfigError, service.NotFound) as exc:
        raise _fail(exc) from None
    body = json.dumps(data, separators=(",", ":"), allow_nan=False).encode("utf-8")
    return Response(body, media_type="application/json", headers={"Cache-Control": "no-store"})


@functools.lru_cache(maxsize=64)
def _static(path: str) -> tuple[bytes, str, str] | None:
    """A static file's bytes, media type and ETag (read once; the files ship with the package)."""
    target = (STATIC_DIR / path).resolve()
    if not target.is_relative_to(STATIC_DIR) or not target.is_file() or target.suffix not in _STATIC_TYPES:
        return None
    body = target.read_bytes()
    return body, _STATIC_TYPES[target.suffix], '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


def _page(name: str, *, auth: str, refresh_s: float) -> HTMLResponse:
    text = (STATIC_DIR / _PAGES[name]).read_text(encoding="utf-8")
    text = text.replace("{{AUTH}}", auth).replace("{{REFRESH_MS}}", str(int(refresh_s * 1000)))
    return HTMLResponse(text, headers={"Content-Security-Policy": CSP, "Cache-Control": "no-store"})


def _platform_deps(state: Any) -> tuple[Callable[..., Iterator[Session]], Callable[..., Any], str | None]:
    """Session and account dependencies over the platform app's ``state`` (``state.db``, the auth middleware)."""
    from tradeready_platform.deps import account_id

    db = state.db

    def platform_session() -> Iterator[Session]:
        with db.sessionmaker() as session:
            yield session

    settings = getattr(state, "settings", None)
    data_dir = getattr(settings, "data_dir", None)
    return platform_session, account_id, (str(data_dir) if data_dir else None)


def dashboard_router(
    session_dep: Any,
    account_dep: Callable[..., Any] | None = None,
    *,
    auth: str = "key",
    cache_dir: str | None = None,
    refresh_s: float = DEFAULT_REFRESH_S,
) -> APIRouter:
    """The dashboard's pages and JSON API as one router.

    Args:
        session_dep: FastAPI dependency giving a SQLAlchemy `Session` on the tracking tables, or the
            platform app's ``state`` (with ``state.db``, a `tradeready_platform.db.Database`): then the
            sessions come from that database, the account from the platform's API-key auth
            (`tradeready_platform.deps.account_id`) and the candle cache from ``state.settings.data_dir``.
        account_dep: FastAPI dependency giving the caller's account id (it rejects a missing or wrong
            key itself); ``None`` (local store) serves every run without a key.
        auth: ``"key"`` (pages show a login form when the API answers 401) or ``"none"``.
        cache_dir: Candle cache folder for the replay's open/high/low (default: the library's data dir).
        refresh_s: How often the pages poll for new data, seconds (> 0).

    Returns:
        An `APIRouter` to include in an app without a prefix.

    Raises:
        ConfigError: For a bad ``auth`` or ``refresh_s``.

    Example:
        >>> app.include_router(dashboard_router(get_session, current_account_id))  # doctest: +SKIP
    """
    if auth not in ("key", "none"):
        raise ConfigError(f"auth={auth!r} is invalid: allowed are 'key', 'none'")
    if not (isinstance(refresh_s, (int, float)) and 0 < refresh_s <= 3600):
        raise ConfigError(f"refresh_s={refresh_s!r} is invalid: allowed is a number in (0, 3600]")

    if not callable(session_dep) and hasattr(session_dep, "db"):
        session_dep, account_dep, state_cache = _platform_deps(session_dep)
        cache_dir = cache_dir or state_cache
        auth = "key"

    def _no_account() -> int | None:
        return None

    acct = account_dep or _no_account
    router = APIRouter()

    # ------------------------------------------------------------------ pages (no data, no auth)
    @router.get(PAGE_PREFIX, include_in_schema=False)
    def page_runs() -> Response:
        return _page("runs", auth=auth, refresh_s=refresh_s)

    @router.get(PAGE_PREFIX + "/", include_in_schema=False)
    def page_runs_slash() -> Response:
        return RedirectResponse(PAGE_PREFIX, status_code=307)

    @router.get(PAGE_PREFIX + "/runs/{run_id}", include_in_schema=False)
    def page_run(run_id: str) -> Response:
        return _page("run", auth=auth, refresh_s=refresh_s)

    @router.get(PAGE_PREFIX + "/compare", include_in_schema=False)
    def page_compare() -> Response:
        return _page("compare", auth=auth, refresh_s=refresh_s)

    @router.get(PAGE_PREFIX + "/runs/{run_id}/episodes/{episode}", include_in_schema=False)
    def page_replay(run_id: str, episode: int) -> Response:
        return _page("replay", auth=auth, refresh_s=refresh_s)

    @router.get(PAGE_PREFIX + "/static/{path:path}", include_in_schema=False)
    async def static_file(path: str, request: Request) -> Response:
        found = _static(path)
        if found is None:
            raise ApiError(404, "NOT_FOUND", f"static file {path!r} not found")
        body, media_type, etag = found
        headers = {"Cache-Control": "no-cache", "ETag": etag, "X-Content-Type-Options": "nosniff"}
        if request.headers.get("if-none-match") == etag:
            return Response(status_code=304, headers=headers)
        return Response(body, media_type=media_type, headers=headers)

    # ------------------------------------------------------------------ JSON
    @router.get(API_PREFIX + "/config", tags=["dashboard"])
    def config(request: Request) -> dict[str, Any]:
        return {"refresh_ms": int(refresh_s * 1000), "auth": auth, "max_points": MAX_POINTS,
                "stale_after_s": service.STALE_AFTER_S,
                "precomputed": bool(getattr(request.app.state, "precomputed", False))}

    @router.get(API_PREFIX + "/runs", tags=["dashboard"])
    def runs(
        label: str | None = None,
        since: str | None = None,
        limit: int = 1000,
        session: Session = Depends(session_dep),
        account_id: int | None = Depends(acct),
    ) -> Response:
        return _call(service.runs_list, session, account_id, label=label, since=since, limit=limit)

    @router.get(API_PREFIX + "/runs/{run_id}", tags=["dashboard"])
    def run(
        run_id: str, session: Session = Depends(session_dep), account_id: int | None = Depends(acct)
    ) -> Response:
        return _call(service.run_detail, session, account_id, run_id)

    @router.get(API_PREFIX + "/runs/{run_id}/curves", tags=["dashboard"])
    def curves(
        run_id: str,
        metrics: str = Query("roi_pct", description="comma-separated metric keys"),
        x: str = "episode",
        max_points: int = MAX_POINTS,
        session: Session = Depends(session_dep),
        account_id: int | None = Depends(acct),
    ) -> Response:
        ms = [m.strip() for m in metrics.split(",") if m.strip()]
        return _call(
            service.run_curves, session, account_id, run_id, metrics=ms, x=x, max_points=max_points
        )

    @router.get(API_PREFIX + "/runs/{run_id}/updates", tags=["dashboard"])
    def updates(
        run_id: str,
        after: int = 0,
        limit: int = 2000,
        session: Session = Depends(session_dep),
        account_id: int | None = Depends(acct),
    ) -> Response:
        return _call(service.run_updates, session, account_id, run_id, after=after, limit=limit)

    @router.get(API_PREFIX + "/runs/{run_id}/episodes", tags=["dashboard"])
    def episodes(
        run_id: str,
        page: int = 1,
        page_size: int = 50,
        q: str = "",
        sort: str = "episode",
        order: str = "desc",
        session: Session = Depends(session_dep),
        account_id: int | None = Depends(acct),
    ) -> Response:
        return _call(
            service.episode_page, session, account_id, run_id,
            page=page, page_size=page_size, q=q, sort=sort, order=order,
        )

    @router.get(API_PREFIX + "/runs/{run_id}/episodes/{episode}/replay", tags=["dashboard"])
    def replay(
        run_id: str,
        episode: int,
        symbol: str | None = None,
        session: Session = Depends(session_dep),
        account_id: int | None = Depends(acct),
    ) -> Response:
        return _call(
            service.episode_replay, session, account_id, run_id, episode, symbol=symbol, cache_dir=cache_dir
        )

    @router.get(API_PREFIX + "/compare", tags=["dashboard"])
    def compare(
        ids: str = Query(..., description="comma-separated run ids"),
        metric: str = "roi_pct",
        x: str = "episode",
        max_points: int = MAX_POINTS,
        session: Session = Depends(session_dep),
        account_id: int | None = Depends(acct),
    ) -> Response:
        id_list = [i.strip() for i in ids.split(",") if i.strip()]
        return _call(
            service.compare_runs, session, account_id, id_list, metric=metric, x=x, max_points=max_points
        )

    return router

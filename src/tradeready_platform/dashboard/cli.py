"""``tradeready dashboard``: the training dashboard over the local tracking store, on loopback only."""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path
from typing import Any

import typer

from tradeready_gym.errors import ConfigError

__all__ = ["WARM_RUNS", "dashboard", "serve_local"]

log = logging.getLogger(__name__)


#: Run pages pre-computed at start (the newest runs).
WARM_RUNS = 20
#: The curves the run page asks for first (see static/run.js).
_PAGE_METRICS = ("roi_pct", "sharpe", "reward_sum", "max_drawdown_pct", "scalar:*")


def _warm(app: Any) -> None:
    """Compute the run list and the newest runs' pages once at start, so first visits find them cached."""
    from sqlalchemy.orm import Session

    from tradeready_platform.dashboard.service import run_curves, run_detail, runs_list

    t0 = time.perf_counter()
    try:
        with Session(app.state.store.engine) as session:
            listed = runs_list(session, None)
            newest = listed["runs"][:WARM_RUNS]
            for run in newest:
                run_detail(session, None, run["id"])
                run_curves(session, None, run["id"], metrics=_PAGE_METRICS, x="episode")
    except Exception:  # the pages compute what they need themselves then
        log.warning("could not pre-compute the dashboard's pages", exc_info=True)
        return
    app.state.precomputed = True
    log.info("pre-computed the run list and %d run pages in %.1f s", len(newest), time.perf_counter() - t0)


def serve_local(
    store: str | Path | None = None,
    *,
    host: str = "127.0.0.1",
    port: int = 8050,
    data_dir: str | Path | None = None,
    refresh_s: float = 5.0,
    open_browser: bool = False,
) -> None:
    """Serve the dashboard over the local store until interrupted.

    Args:
        store: Tracking store file (default: ``$TRADEREADY_HOME/tracking.sqlite``).
        host: A loopback address (``127.0.0.1``, ``::1`` or ``localhost``); any other is refused.
        port: TCP port (1..65535).
        data_dir: Candle cache used for the replay's open/high/low (default: the library's cache).
        refresh_s: Poll interval of the pages, seconds.
        open_browser: Open the run list in the default web browser once the server is up.

    Raises:
        ConfigError: For a non-loopback ``host`` or a bad ``port``.
    """
    import uvicorn

    from tradeready_platform.dashboard.local import create_local_app, is_loopback

    if not is_loopback(host):
        raise ConfigError(
            f"host={host!r} is not allowed: the local dashboard has no key, so it listens on loopback only "
            "(127.0.0.1, ::1 or localhost); use 'tradeready serve' to share runs behind API keys"
        )
    if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535:
        raise ConfigError(f"port={port!r} is invalid: allowed is an integer in [1, 65535]")
    app = create_local_app(store, cache_dir=str(data_dir) if data_dir else None, refresh_s=refresh_s)
    shown = f"[{host}]" if ":" in host else host
    url = f"http://{shown}:{port}/training"
    typer.echo(f"tradeready dashboard: {url}  (store: {app.state.store.url}; Ctrl+C to stop)")
    threading.Thread(target=_warm, args=(app,), name="dashboard-warm", daemon=True).start()
    if open_browser:
        import webbrowser

        threading.Timer(1.0, webbrowser.open, args=(url,)).start()
    uvicorn.run(app, host=host, port=port, log_level="warning")


def dashboard(
    store: Path = typer.Option(None, "--store", help="Tracking store file (default: $TRADEREADY_HOME/tracking.sqlite)."),
    host: str = typer.Option("127.0.0.1", help="Loopback address to listen on (no other is allowed)."),
    port: int = typer.Option(8050, help="Port to listen on."),
    data_dir: Path = typer.Option(None, "--data-dir", help="Candle cache for the replay's candles."),
    refresh: float = typer.Option(5.0, help="How often the pages poll for new episodes, seconds."),
    open_browser: bool = typer.Option(False, "--open", help="Open the dashboard in the web browser."),
) -> None:
    """Open the training dashboard over the local tracking store (loopback only, no key).

    \b
    Examples:
      tradeready dashboard
      tradeready dashboard --port 8060 --open
    """
    try:
        serve_local(store, host=host, port=port, data_dir=data_dir, refresh_s=refresh, open_browser=open_browser)
    except ConfigError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None

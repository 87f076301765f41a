"""``tradeready runs ...``: list, show, export and sync the tracked training runs.

Every command first replays the journals of dead training processes into the store (see
`tradeready_gym.tracking.tracker.recover_journals`), so a killed run shows every finished episode.
A run is named by its id or any unique prefix of it.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Annotated, Any

import typer

__all__ = ["app"]

app = typer.Typer(help="Tracked training runs: list, show, export, sync.", no_args_is_help=True)

StoreOpt = Annotated[
    Path | None,
    typer.Option("--store", help="Tracking store file (default: $TRADEREADY_HOME/tracking.sqlite)."),
]


def _fail(msg: str) -> None:
    typer.echo(f"error: {msg}", err=True)
    raise typer.Exit(code=1)


def _open(store: Path | None) -> Any:
    from tradeready_gym.tracking.store import Store, default_store_path
    from tradeready_gym.tracking.tracker import recover_journals

    path = store or default_store_path()
    if store is not None and not path.exists():
        _fail(f"--store {str(path)!r} does not exist")
    s = Store(path)
    recover_journals(s)
    return s


def _resolve(s: Any, run: str) -> str:
    ids = s.find_runs(run)
    if not ids:
        _fail(f"run {run!r} not found; `tradeready runs list` shows the runs")
    if len(ids) > 1:
        _fail(f"run {run!r} is ambiguous: {', '.join(sorted(ids)[:5])}...; give more of the id")
    return str(ids[0])


def _fmt(v: Any, digits: int = 4) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return "nan" if math.isnan(v) else f"{v:.{digits}g}" if abs(v) < 1e6 else f"{v:.6g}"
    return str(v)


@app.command("list")
def list_runs(
    store: StoreOpt = None,
    status: Annotated[str | None, typer.Option(help="running, finished, failed or stale.")] = None,
    limit: Annotated[int, typer.Option(help="At most this many runs (newest first).")] = 50,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """List the runs, newest first.

    \b
    Examples:
      tradeready runs list
      tradeready runs list --status finished --limit 10 --json
    """
    if status is not None and status not in ("running", "finished", "failed", "stale"):
        _fail(f"--status {status!r} is not allowed; allowed: running, finished, failed, stale")
    if limit < 1:
        _fail(f"--limit {limit} is not allowed; allowed: an integer >= 1")
    s = _open(store)
    runs = s.list_runs(status=status, limit=limit)
    if as_json:
        typer.echo(json.dumps(runs, default=str, indent=1))
        return
    if not runs:
        typer.echo(f"no runs in {s.path or s.url}")
        return
    from rich.console import Console
    from rich.table import Table

    t = Table(title=f"Runs in {s.path or s.url}")
    t.add_column("id", no_wrap=True, min_width=8)
    t.add_column("status", no_wrap=True, min_width=8)
    for col in ("name", "mode", "env", "algorithm", "episodes", "steps", "mean ROI %", "created"):
        t.add_column(col, justify="right" if col in ("episodes", "steps", "mean ROI %") else "left")
    for r in runs:
        summary = r.get("summary") or {}
        t.add_row(r["id"][:8], r["status"], _fmt(r["name"]), r["mode"], _fmt(r["env_id"]), _fmt(r["algorithm"]),
                  str(r["episodes_completed"]), str(r["total_steps"]), _fmt(summary.get("mean_roi_pct")),
                  (r["created_at"] or "")[:19])
    Console().print(t)


@app.command("show")
def show(
    run: Annotated[str, typer.Argument(help="Run id or a unique prefix.")],
    store: StoreOpt = None,
    episodes: Annotated[int, typer.Option(help="Show the last N episodes.")] = 20,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")] = False,
) -> None:
    """Show one run: settings, summary, last episodes, scalars and traces.

    \b
    Examples:
      tradeready runs show 3f2a
      tradeready runs show 3f2a --episodes 5 --json
    """
    s = _open(store)
    rid = _resolve(s, run)
    info = s.get_run(rid)
    eps = s.episodes(rid)
    keys = sorted({x["key"] for x in s.scalars(rid)})
    traces = s.traces(rid)
    if as_json:
        typer.echo(json.dumps({"run": info, "episodes": eps[-episodes:], "scalar_keys": keys, "traces": traces},
                              default=str, indent=1))
        return
    from rich.console import Console
    from rich.table import Table

    con = Console()
    head = Table(title=f"Run {rid}", show_header=False)
    head.add_column("field")
    head.add_column("value")
    for k in ("name", "strategy_label", "status", "mode", "env_id", "algorithm", "group_name", "seed",
              "episodes_completed", "total_steps", "library_version", "created_at", "heartbeat_at", "completed_at"):
        head.add_row(k, _fmt(info.get(k)))
    for k, v in (info.get("summary") or {}).items():
        head.add_row(f"summary.{k}", _fmt(v))
    con.print(head)
    t = Table(title=f"Last {min(episodes, len(eps))} of {len(eps)} episodes")
    cols = ("episode", "env_index", "length", "reward_sum", "roi_pct", "sharpe", "max_drawdown_pct", "trades",
            "buy_hold_roi_pct", "final_equity", "data_start")
    for c in cols:
        t.add_column(c, justify="left" if c == "data_start" else "right")
    for e in eps[-episodes:]:
        t.add_row(*[_fmt(e.get(c)) for c in cols])
    con.print(t)
    if keys:
        con.print(f"scalars: {', '.join(keys)}")
    if traces:
        con.print("traces: " + ", ".join(f"{x['episode']} ({x['reasons']})" for x in traces))
    con.print(f"config: {json.dumps(info.get('config'), default=str)}")


@app.command("export")
def export(
    run: Annotated[str, typer.Argument(help="Run id or a unique prefix.")],
    fmt: Annotated[str, typer.Option("--format", help="csv or parquet.")] = "csv",
    out: Annotated[Path | None, typer.Option("--out", help="Output file (default: <run id>-<what>.<format>).")] = None,
    what: Annotated[str, typer.Option(help="episodes or scalars.")] = "episodes",
    store: StoreOpt = None,
) -> None:
    """Write a run's episodes (or scalars) to a CSV or Parquet file.

    \b
    Examples:
      tradeready runs export 3f2a
      tradeready runs export 3f2a --what scalars --format parquet --out scalars.parquet
    """
    if fmt not in ("csv", "parquet"):
        _fail(f"--format {fmt!r} is not allowed; allowed: csv, parquet")
    if what not in ("episodes", "scalars"):
        _fail(f"--what {what!r} is not allowed; allowed: episodes, scalars")
    import pandas as pd

    s = _open(store)
    rid = _resolve(s, run)
    rows = s.episodes(rid) if what == "episodes" else s.scalars(rid)
    for r in rows:
        extra = r.pop("extra", None) or {}
        for k, v in extra.items():
            r.setdefault(k, v)
    df = pd.DataFrame(rows)
    path = out or Path(f"{rid}-{what}.{fmt}")
    if fmt == "csv":
        df.to_csv(path, index=False)
    else:
        df.to_parquet(path, index=False)
    typer.echo(f"wrote {len(df)} {what} of run {rid} to {path}")


@app.command("sync")
def sync(
    base_url: Annotated[str | None, typer.Option(help="Platform URL (default: $TRADEREADY_BASE_URL, else the URL "
                                                       "each queued report was made for).")] = None,
    api_key: Annotated[str | None, typer.Option(help="Platform API key (default: $TRADEREADY_API_KEY).")] = None,
    store: StoreOpt = None,
) -> None:
    """Deliver every report still in the outbox to the platform now (exactly once per row).

    \b
    Examples:
      tradeready runs sync
      tradeready runs sync --base-url http://127.0.0.1:8000 --api-key KEY
    """
    from tradeready_gym.tracking.remote import sync_outbox

    key = api_key or os.environ.get("TRADEREADY_API_KEY")
    if not key:
        _fail("no API key: pass --api-key or set TRADEREADY_API_KEY")
    s = _open(store)
    bases = [base_url or os.environ.get("TRADEREADY_BASE_URL")]
    if bases[0] is None:
        found = {(it["payload"] or {}).get("base_url") for it in s.pending(limit=100_000, due_only=False)}
        bases = sorted(b for b in found if b)
    if not bases:
        typer.echo(f"nothing to deliver ({s.outbox_counts()['pending']} pending rows have no platform URL)")
        return
    total = {"delivered": 0, "failed": 0, "pending": 0}
    for b in bases:
        assert b is not None
        c = sync_outbox(s, b, str(key))
        total["delivered"] += c["delivered"]
        total["failed"] += c["failed"]
        total["pending"] = c["pending"]
        typer.echo(f"{b}: delivered {c['delivered']}, failed {c['failed']}")
    typer.echo(f"pending: {total['pending']}")
    if total["pending"]:
        raise typer.Exit(code=2)

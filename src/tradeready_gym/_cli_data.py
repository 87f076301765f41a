"""``tradeready data ...``: download, import and list cached candles.

Thin: each command parses its arguments, calls `tradeready_gym.data`, and prints the result. Errors
of the library (bad symbol, timeframe, range, file, download) are printed on stderr with exit code 1.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from tradeready_gym.errors import TradeReadyError

__all__ = ["app"]

app = typer.Typer(help="Download, import and list market data.", no_args_is_help=True)

T = TypeVar("T")

DataDir = Annotated[
    Path | None,
    typer.Option("--data-dir", help="Cache root (default: $TRADEREADY_DATA_DIR or the user cache dir)."),
]


def _run(fn: Callable[[], T]) -> T:
    try:
        return fn()
    except TradeReadyError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(code=1) from None


@app.command()
def download(
    symbols: Annotated[list[str], typer.Argument(help="Symbols, e.g. BTCUSDT ETHUSDT.")],
    timeframe: Annotated[
        str, typer.Option("--timeframe", "-t", help="Bar interval: 1m, 5m, 15m, 30m, 1h, 4h, 1d, ...")
    ] = "1h",
    start: Annotated[str | None, typer.Option(help="First open time, ISO 8601 (default 2017-07-01).")] = None,
    end: Annotated[
        str | None, typer.Option(help="End of the range, exclusive, ISO 8601 (default: now).")
    ] = None,
    source: Annotated[str, typer.Option(help="auto (dumps, then REST), vision or rest.")] = "auto",
    data_dir: DataDir = None,
    vision_url: Annotated[
        str | None,
        typer.Option(help="Dump base URL (default: $TRADEREADY_BINANCE_VISION_URL or data.binance.vision)."),
    ] = None,
    api_url: Annotated[
        str | None,
        typer.Option(help="REST base URL (default: $TRADEREADY_BINANCE_API_URL or api.binance.com)."),
    ] = None,
    retries: Annotated[int, typer.Option(help="Retries per request after the first attempt.")] = 4,
    progress: Annotated[bool, typer.Option("--progress/--no-progress", help="Show a progress bar.")] = True,
) -> None:
    """Download Binance candles into the cache (only what is not cached yet).

    Symbols, interval, range and source are checked before any request is made.
    """
    from tradeready_gym.data.download import RetryPolicy
    from tradeready_gym.data.download import download as _download
    from tradeready_gym.validation import check_symbols

    _run(lambda: check_symbols(symbols, "symbols"))

    results = _run(
        lambda: _download(
            symbols,
            timeframe,
            start,
            end,
            data_dir=data_dir,
            source=source,
            vision_url=vision_url,
            api_url=api_url,
            retry=RetryPolicy(retries=retries),
            progress=progress,
        )
    )
    for r in results:
        span = ", ".join(f"{a} .. {b}" for a, b in r.covered) or "nothing"
        typer.echo(f"{r.symbol} {r.timeframe}: {r.bars} new bars from {len(r.urls)} requests; cached: {span}")


@app.command("import")
def import_(
    paths: Annotated[
        list[Path], typer.Argument(help="Files or folders: Binance zips, REST/freqtrade JSON, CSV, Parquet.")
    ],
    symbol: Annotated[str | None, typer.Option(help="Symbol, when the file name does not say it.")] = None,
    timeframe: Annotated[
        str | None,
        typer.Option(
            "--timeframe", "-t", help="Interval, when neither the name nor the bar spacing says it."
        ),
    ] = None,
    data_dir: DataDir = None,
    force: Annotated[
        bool,
        typer.Option(
            "--force", help="Import even when the file name says another symbol or interval than --symbol / -t."
        ),
    ] = False,
) -> None:
    """Import candle files into the cache.

    A file whose name says another symbol or interval than ``--symbol`` / ``--timeframe`` is refused
    unless ``--force`` is given.
    """
    from tradeready_gym.data.load import import_data

    for p in paths:

        def one(p: Path = p) -> Any:
            return import_data(p, symbol=symbol, timeframe=timeframe, data_dir=data_dir, force=force)

        md = _run(one)
        d = md.describe()
        typer.echo(
            f"{p}: {', '.join(d['symbols'])} {d['timeframe']} {d['bars']} bars, {d['start']} .. {d['end']}"
        )


@app.command("list")
def list_(
    data_dir: DataDir = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
    max_gaps: Annotated[int, typer.Option(help="Gaps to show per entry (all are counted).")] = 5,
) -> None:
    """List cached symbols, intervals, ranges and gaps."""
    from tradeready_gym.data.cache import CandleCache
    from tradeready_gym.data.gaps import find_gaps

    def collect() -> list[dict[str, Any]]:
        cache = CandleCache(data_dir)
        rows = []
        for e in cache.entries():
            info = e.describe()
            gaps = find_gaps(cache.read(e.symbol, e.timeframe)) if e.bars else []
            info["gaps"] = [g.describe() for g in gaps]
            info["root"] = str(cache.root)
            rows.append(info)
        return rows

    rows = _run(collect)
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    root = rows[0]["root"] if rows else str(_run(lambda: CandleCache(data_dir).root))
    if not rows:
        typer.echo(
            f"no candles cached under {root}; fetch some with: tradeready data download BTCUSDT --timeframe 1h"
        )
        return
    typer.echo(f"cache: {root}")
    header = f"{'symbol':<12} {'tf':>4} {'bars':>9}  {'start':<20}  {'end (last open)':<20}  gaps"
    typer.echo(header)
    for r in rows:
        tag = "  (synthetic)" if r["synthetic"] else ""
        typer.echo(
            f"{r['symbol']:<12} {r['timeframe']:>4} {r['bars']:>9}  {r['start'] or '-':<20}  {r['end'] or '-':<20}  "
            f"{len(r['gaps'])}{tag}"
        )
        for g in r["gaps"][:max_gaps]:
            typer.echo(f"{'':<12}   gap {g['start']} .. {g['end']} ({g['missing_bars']} bars missing)")
        if len(r["gaps"]) > max_gaps:
            typer.echo(f"{'':<12}   ... {len(r['gaps']) - max_gaps} more gaps")

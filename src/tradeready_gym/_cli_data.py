"""``tradeready data ...``: download, import, list and verify cached candles.

Thin: each command parses its arguments, calls `tradeready_gym.data`, and prints the result. Errors
of the library (bad symbol, timeframe, range, file, download) are printed on stderr with exit code 1.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from tradeready_gym._cli_progress import progress_bars
from tradeready_gym.errors import TradeReadyError

__all__ = ["app"]

app = typer.Typer(help="Download, import, list and verify market data.", no_args_is_help=True)

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

    Symbols, interval, range and source are checked before any request is made. A rich progress bar
    per symbol counts the dump files and REST requests (on stderr; --no-progress turns it off).

    \b
    Examples:
      tradeready data download BTCUSDT --timeframe 1h --start 2024-01-01 --end 2024-07-01
      tradeready data download BTCUSDT ETHUSDT -t 4h --source vision --no-progress
    """
    from tradeready_gym.data.download import RetryPolicy
    from tradeready_gym.data.download import download as _download
    from tradeready_gym.validation import check_symbols

    _run(lambda: check_symbols(symbols, "symbols"))

    with progress_bars(progress, unit="requests") as update:
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
                progress=False,
                on_progress=lambda sym, tf, done, total: update(f"{sym} {tf}", done, total),
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

    \b
    Examples:
      tradeready data import BTCUSDT-1h-2024-01.zip
      tradeready data import ~/freqtrade/data/binance/ --timeframe 1h
      tradeready data import candles.csv --symbol BTCUSDT -t 15m
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
    """List cached symbols, intervals, ranges and gaps.

    \b
    Examples:
      tradeready data list
      tradeready data list --json --data-dir ./candles
    """
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


def _cached_files(root: Path, symbols: list[str], timeframe: str | None) -> list[tuple[str, str, Path]]:
    """``(symbol, timeframe, path)`` of the cache files to verify, sorted like `CandleCache.entries`."""
    from tradeready_gym.data.cache import CandleCache
    from tradeready_gym.timeframes import TIMEFRAMES

    cache = CandleCache(root)
    found: list[tuple[str, int, str, Path]] = []
    base = cache.root / "spot"
    for f in sorted(base.glob("*/*.parquet")) if base.is_dir() else []:
        sym = f.parent.name
        tf = f.name[len(sym) + 1 : -len(".parquet")]
        if f.name.startswith(sym + "-") and tf in TIMEFRAMES:
            found.append((sym, TIMEFRAMES[tf], tf, f))
    out = [
        (sym, tf, f)
        for sym, _, tf, f in sorted(found)
        if (not symbols or sym in symbols) and (timeframe is None or tf == timeframe)
    ]
    for sym in symbols:  # a symbol asked for but not cached is a failure, not silence
        if not any(s == sym for s, _, _ in out):
            tf = timeframe or "*"
            out.append((sym, tf, base / sym / f"{sym}-{tf}.parquet"))
    return out


def _verify_file(root: Path, symbol: str, timeframe: str, path: Path, max_gaps: int) -> dict[str, Any]:
    """Check one cache file with the library's own checks: `CandleCache.read` (Parquet footer and
    pages decode) builds a `MarketData`, whose `MarketData.validate` checks order, duplicates, NaN,
    prices and OHLC; `find_gaps` reports the holes in the time grid."""
    from tradeready_gym.data.cache import CandleCache
    from tradeready_gym.data.gaps import find_gaps
    from tradeready_gym.errors import DataNotFoundError
    from tradeready_gym.timeframes import format_iso

    row: dict[str, Any] = {
        "symbol": symbol,
        "timeframe": timeframe,
        "path": str(path),
        "ok": False,
        "error": None,
        "bars": 0,
        "start": None,
        "end": None,
        "gaps": 0,
        "missing_bars": 0,
        "first_gaps": [],
    }
    if not path.is_file():
        row["error"] = f"{path}: not cached (fetch it with: tradeready data download {symbol} -t {timeframe})"
        return row
    try:
        md = CandleCache(root).read(symbol, timeframe)
    except DataNotFoundError:
        row["error"] = f"{path}: the file holds no candles"
        return row
    except TradeReadyError as exc:  # unreadable Parquet or a failed data check; the message names the file
        row["error"] = str(exc)
        return row
    except Exception as exc:  # e.g. a required column missing from a foreign Parquet file
        row["error"] = f"cache file {str(path)!r} is not a candle file: {type(exc).__name__}: {exc}"
        return row
    gaps = find_gaps(md)
    row.update(
        ok=True,
        bars=md.n_bars,
        start=format_iso(int(md.open_time[0])),
        end=format_iso(int(md.open_time[-1])),
        gaps=len(gaps),
        missing_bars=sum(g.missing_bars for g in gaps),
        first_gaps=[g.describe() for g in gaps[:max_gaps]],
    )
    return row


@app.command()
def verify(
    symbols: Annotated[
        list[str] | None, typer.Argument(help="Symbols to check (default: every cached symbol).")
    ] = None,
    timeframe: Annotated[
        str | None, typer.Option("--timeframe", "-t", help="Only this interval (default: all).")
    ] = None,
    data_dir: DataDir = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
    max_gaps: Annotated[int, typer.Option(help="Gaps to show per file (all are counted).")] = 3,
) -> None:
    """Check the cached Parquet files with the data checks of loading and report their gaps.

    Each file must be readable and pass the checks every load applies: sorted, no duplicate times,
    no NaN, prices > 0, high >= max(open, close), low <= min(open, close). Gaps (real exchange
    outages) do not fail a file; they are counted and the first few are shown.

    Exit code 1 when any file fails (each failure names the file and the first bad bar).

    \b
    Examples:
      tradeready data verify
      tradeready data verify BTCUSDT ETHUSDT --timeframe 1h
      tradeready data verify --json --data-dir ./candles
    """
    from tradeready_gym.data.cache import CandleCache
    from tradeready_gym.timeframes import timeframe_ns
    from tradeready_gym.validation import check_symbols

    names = list(_run(lambda: check_symbols(symbols, "symbols"))) if symbols else []
    if timeframe is not None:
        _run(lambda: timeframe_ns(timeframe))
    if max_gaps < 0:
        typer.echo(f"error: max_gaps={max_gaps} is not allowed; allowed: an integer >= 0", err=True)
        raise typer.Exit(code=1)
    root = _run(lambda: CandleCache(data_dir).root)
    rows = [_verify_file(root, s, tf, p, max_gaps) for s, tf, p in _cached_files(root, names, timeframe)]
    failed = [r for r in rows if not r["ok"]]
    if as_json:
        typer.echo(json.dumps({"root": str(root), "ok": not failed, "files": rows}, indent=2))
    elif not rows:
        typer.echo(f"no candles cached under {root}; nothing to verify")
    else:
        from rich.console import Console
        from rich.table import Table

        table = Table(title=f"cache: {root}")
        for col, just in (("symbol", "left"), ("tf", "right"), ("bars", "right"), ("start", "left"),
                          ("end (last open)", "left"), ("gaps", "right"), ("missing", "right"),
                          ("status", "left")):
            table.add_column(col, justify=just)  # type: ignore[arg-type]
        for r in rows:
            status = "[green]ok[/green]" if r["ok"] else "[bold red]FAIL[/bold red]"
            table.add_row(r["symbol"], r["timeframe"], str(r["bars"]), r["start"] or "-", r["end"] or "-",
                          str(r["gaps"]), str(r["missing_bars"]), status)
        Console(width=120).print(table)
        for r in rows:
            for g in r["first_gaps"]:
                typer.echo(f"{r['symbol']} {r['timeframe']}: gap {g['start']} .. {g['end']} "
                           f"({g['missing_bars']} bars missing)")
            if r["gaps"] > len(r["first_gaps"]):
                typer.echo(f"{r['symbol']} {r['timeframe']}: ... {r['gaps'] - len(r['first_gaps'])} more gaps")
        for r in failed:
            typer.echo(f"FAIL {r['error']}")
        typer.echo(f"{len(rows) - len(failed)} of {len(rows)} files ok" + (f", {len(failed)} failed" if failed else ""))
    if failed:
        if as_json:  # the table already lists the failures on stdout
            for r in failed:
                typer.echo(f"error: {r['error']}", err=True)
        raise typer.Exit(code=1)

"""``tradeready live ...`` (replay server, stored paper sessions) and ``tradeready deploy``.

Thin: each command parses its arguments and calls `tradeready_gym.live`. Library errors are printed
on stderr with exit code 1.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from tradeready_gym.errors import ConfigError, TradeReadyError

__all__ = ["app", "deploy", "parse_bar_values", "parse_bars", "parse_rest_errors"]

app = typer.Typer(help="Live paper trading: a Binance replay server and the stored paper sessions.",
                  no_args_is_help=True)

T = TypeVar("T")


def _run(fn: Callable[[], T]) -> T:
    try:
        return fn()
    except TradeReadyError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(code=1) from None


def parse_bars(text: str | None, param: str) -> set[int]:
    """``"2,5,9"`` -> {2, 5, 9} (bars counted from the first live bar)."""
    if not text:
        return set()
    try:
        out = {int(x) for x in text.split(",") if x.strip()}
    except ValueError:
        raise ConfigError(f"{param}={text!r} is not allowed; allowed: bar numbers such as '2,5,9'") from None
    if any(x < 0 for x in out):
        raise ConfigError(f"{param}={text!r} is not allowed; bar numbers are >= 0")
    return out


def parse_bar_values(text: str | None, param: str) -> dict[int, float]:
    """``"3:30,7:120"`` -> {3: 30.0, 7: 120.0}."""
    if not text:
        return {}
    out: dict[int, float] = {}
    for part in text.split(","):
        try:
            k, v = part.split(":")
            out[int(k)] = float(v)
        except ValueError:
            raise ConfigError(f"{param}={text!r} is not allowed; allowed: BAR:VALUE pairs such as '3:30,7:120'") from None
    return out


def parse_rest_errors(values: list[str] | None) -> dict[str, list[int]]:
    """``["/api/v3/klines:500,429"]`` -> {"/api/v3/klines": [500, 429]}."""
    out: dict[str, list[int]] = {}
    for v in values or []:
        try:
            path, codes = v.rsplit(":", 1)
            out.setdefault(path, []).extend(int(c) for c in codes.split(","))
        except ValueError:
            raise ConfigError(f"--rest-error={v!r} is not allowed; allowed: PATH:STATUS[,STATUS...] such as "
                              "'/api/v3/klines:500,429'") from None
    return out


@app.command()
def replay(
    symbols: Annotated[list[str], typer.Argument(help="Symbols to stream, e.g. BTCUSDT ETHUSDT.")],
    timeframe: Annotated[str, typer.Option("--timeframe", "-t", help="Kline interval.")] = "1m",
    start: Annotated[str, typer.Option(help="Open time of the first live bar (ISO 8601); earlier bars are history.")] = "",
    end: Annotated[str | None, typer.Option(help="End of the replayed range (exclusive, ISO 8601).")] = None,
    history_bars: Annotated[int, typer.Option(help="Bars of history before --start served by REST.")] = 1000,
    speed: Annotated[float, typer.Option(help="Market seconds per wall second (60: a 1m candle per second).")] = 60.0,
    port: Annotated[int, typer.Option(help="Port on 127.0.0.1 (0: a free port).")] = 0,
    updates_per_bar: Annotated[int, typer.Option(help="Messages per bar and symbol, the last one final.")] = 3,
    data: Annotated[Path | None, typer.Option(help="Candle file or folder instead of the cache.")] = None,
    data_dir: Annotated[Path | None, typer.Option("--data-dir", help="Cache root.")] = None,
    duration: Annotated[float | None, typer.Option(help="Stop after this many wall seconds.")] = None,
    drop_before_final: Annotated[str | None, typer.Option(help="Bars (from the first live bar, e.g. '2,5') whose "
                                                          "final message is lost: sockets cut.")] = None,
    skip_final: Annotated[str | None, typer.Option(help="Bars whose x=true message is never sent.")] = None,
    duplicate_final: Annotated[str | None, typer.Option(help="Bars whose x=true message is sent twice.")] = None,
    late_final: Annotated[str | None, typer.Option(help="BAR:SECONDS, x=true sent that many market s late.")] = None,
    stall: Annotated[str | None, typer.Option(help="BAR:SECONDS of silence (sockets stay open).")] = None,
    outage: Annotated[str | None, typer.Option(help="BAR:BARS, sockets cut and refused for that many bars.")] = None,
    shutdown_before_final: Annotated[str | None, typer.Option(help="Bars preceded by a serverShutdown event.")] = None,
    clock_skew_ms: Annotated[int, typer.Option(help="Server clock minus true time, ms.")] = 0,
    max_connection_s: Annotated[float | None, typer.Option(help="Close connections older than this (market s).")] = None,
    rest_error: Annotated[list[str] | None, typer.Option(help="PATH:STATUS[,STATUS] answered to the next requests.")] = None,
    retry_after_s: Annotated[float, typer.Option(help="Retry-After of 429/418 answers.")] = 1.0,
    weight_limit: Annotated[int, typer.Option(help="REST weight per minute before 429.")] = 6000,
) -> None:
    """Serve cached candles in Binance's kline websocket + REST formats on 127.0.0.1 (Ctrl-C stops).

    Prints one JSON line with the URLs; point LiveTradingEnv(binance_ws_url=..., binance_rest_url=...,
    speed=...) or `tradeready deploy --ws-url ... --rest-url ... --speed ...` at them.

    \b
    Examples:
      tradeready live replay BTCUSDT --timeframe 1m --start 2024-03-01 --speed 600
      tradeready live replay BTCUSDT ETHUSDT -t 1h --start 2024-03-01 --port 9443 --duration 60
    """

    def go() -> None:
        from tradeready_gym.data import load_market_data
        from tradeready_gym.live.replay import ReplayFaults, ReplayServer
        from tradeready_gym.timeframes import format_iso, parse_time, timeframe_ns

        if not start:
            raise ConfigError("--start is required: the open time of the first live bar, e.g. 2025-01-02T00:00:00Z")
        s_ns = parse_time(start, param="start")
        first = s_ns - history_bars * timeframe_ns(timeframe)
        market = load_market_data(symbols, timeframe, first, end, data=data, data_dir=data_dir)
        k0 = market.index_of(s_ns)
        if k0 >= market.n_bars:
            raise ConfigError(f"--start={start!r} is after the last cached bar {format_iso(int(market.open_time[-1]))}")

        def shift(d: dict[int, Any]) -> dict[int, Any]:
            return {k + k0: v for k, v in d.items()}

        faults = ReplayFaults(
            drop_before_final={k + k0 for k in parse_bars(drop_before_final, "--drop-before-final")},
            skip_final={k + k0 for k in parse_bars(skip_final, "--skip-final")},
            duplicate_final={k + k0 for k in parse_bars(duplicate_final, "--duplicate-final")},
            shutdown_before_final={k + k0 for k in parse_bars(shutdown_before_final, "--shutdown-before-final")},
            late_final=shift(parse_bar_values(late_final, "--late-final")),
            stall=shift(parse_bar_values(stall, "--stall")),
            outage={k: int(v) for k, v in shift(parse_bar_values(outage, "--outage")).items()},
            clock_skew_ms=clock_skew_ms,
            max_connection_s=max_connection_s,
            rest_errors=parse_rest_errors(rest_error),
            retry_after_s=retry_after_s,
            weight_limit=weight_limit,
        )
        server = ReplayServer(market, start_index=k0, speed=speed, updates_per_bar=updates_per_bar, faults=faults,
                              port=port)
        server.start()
        typer.echo(json.dumps({
            "ws_url": server.ws_url, "rest_url": server.rest_url, "symbols": list(market.symbols),
            "timeframe": timeframe, "speed": speed, "first_live_bar": format_iso(int(market.open_time[k0])),
            "last_bar": format_iso(int(market.open_time[-1])),
        }))
        t_end = None if duration is None else time.perf_counter() + duration
        try:
            server.serve_forever(lambda: t_end is not None and time.perf_counter() >= t_end)
        except KeyboardInterrupt:
            server.stop()

    _run(go)


@app.command()
def sessions(
    store: Annotated[Path | None, typer.Option(help="Store file (default $TRADEREADY_HOME/live.sqlite).")] = None,
) -> None:
    """List the stored paper sessions (JSON lines: name, status, steps, equity).

    \b
    Examples:
      tradeready live sessions
      tradeready live sessions --store ./live.sqlite
    """

    def go() -> None:
        from tradeready_gym.live.store import PaperStore

        st = PaperStore(store)
        for s in st.sessions():
            steps = st.steps(s["name"])
            typer.echo(json.dumps({
                "name": s["name"], "status": s["status"], "steps": len(steps),
                "equity": steps[-1]["equity"] if steps else s["config"].get("starting_balance"),
                "symbols": s["config"].get("symbols"), "timeframe": s["config"].get("timeframe"),
            }))

    _run(go)


def deploy(
    run: Annotated[Path, typer.Argument(help="A run folder written by `tradeready train` (model, normalization statistics, env settings).")],
    symbol: Annotated[list[str] | None, typer.Option("--symbol", "-s", help="Traded pair(s) (default: the run's).")] = None,
    timeframe: Annotated[str | None, typer.Option("--timeframe", "-t", help="Candles (default: the run's).")] = None,
    session: Annotated[str | None, typer.Option(help="Paper account name (default: derived).")] = None,
    store: Annotated[Path | None, typer.Option(help="Paper store file (default $TRADEREADY_HOME/live.sqlite).")] = None,
    ws_url: Annotated[str | None, typer.Option(help="Binance websocket base (or a replay server).")] = None,
    rest_url: Annotated[str | None, typer.Option(help="Binance REST base (or a replay server).")] = None,
    speed: Annotated[float, typer.Option(help="Market seconds per wall second (a replay server's speed).")] = 1.0,
    steps: Annotated[int | None, typer.Option(help="Stop after this many candles (default: until Ctrl-C).")] = None,
    restart: Annotated[bool, typer.Option(help="Archive the stored account and start a new one.")] = False,
    track: Annotated[bool, typer.Option("--track/--no-track", help="Record the session as a tracked run (mode paper).")] = True,
    verbose: Annotated[bool, typer.Option(help="Log the feed's warnings.")] = False,
) -> None:
    """Run a trained SB3 model on paper trading: one line per candle; Ctrl-C stops cleanly.

    \b
    Examples:
      tradeready deploy runs/ppo-btc-20250101T000000/seed-0
      tradeready deploy RUN --ws-url ws://127.0.0.1:PORT --rest-url http://127.0.0.1:PORT --speed 60
    """
    from tradeready_gym.live.deploy import run_deploy

    logging.basicConfig(level=logging.INFO if verbose else logging.ERROR)
    _run(lambda: run_deploy(
        run, symbols=symbol, timeframe=timeframe, session=session, store=store, ws_url=ws_url, rest_url=rest_url,
        speed=speed, max_steps=steps, restart=restart, track=track, echo=typer.echo,
    ))

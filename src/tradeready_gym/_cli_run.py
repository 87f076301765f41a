"""``tradeready episode ...``: run one episode of a registered env on real candles and print its metrics."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from tradeready_gym.errors import TradeReadyError

__all__ = ["episode"]


def _format(summary: dict[str, Any]) -> str:
    lines = [
        f"{summary['env']}  {', '.join(summary['symbols'])} {summary['timeframe']}  "
        f"{summary['start']} .. {summary['end']}  ({summary['steps']} steps, policy={summary['policy']}, "
        f"seed={summary['seed']})",
        f"  {'total_reward':<22} {summary['total_reward']:.6g}",
    ]
    for key, value in summary["metrics"].items():
        text = "n/a" if value is None else (f"{value:,.4f}" if isinstance(value, float) else str(value))
        lines.append(f"  {key:<22} {text}")
    return "\n".join(lines)


def episode(
    env_id: Annotated[str, typer.Argument(help="Registered id, e.g. TradeReady-BTC-v0.")] = "TradeReady-BTC-v0",
    start: Annotated[str | None, typer.Option("--start", help="ISO 8601 start (default: all cached data).")] = None,
    end: Annotated[str | None, typer.Option("--end", help="ISO 8601 end (exclusive).")] = None,
    timeframe: Annotated[str, typer.Option("--timeframe", "-t", help="Bar interval.")] = "1h",
    policy: Annotated[str, typer.Option("--policy", help="random, hold or buy.")] = "random",
    seed: Annotated[int, typer.Option("--seed", help="Seed of the env and the random policy.")] = 0,
    features: Annotated[str, typer.Option("--features", help="Comma-separated observation features.")] = "ohlcv",
    lookback: Annotated[int, typer.Option("--lookback", help="Observation lookback window.")] = 30,
    balance: Annotated[float, typer.Option("--balance", help="Starting balance (USDT).")] = 10_000.0,
    fee_rate: Annotated[float, typer.Option("--fee-rate", help="Fee as a fraction of notional.")] = 0.001,
    slippage: Annotated[float, typer.Option("--slippage-bps", help="Fixed slippage in basis points.")] = 0.0,
    symbols: Annotated[
        str | None, typer.Option("--symbols", help="Comma-separated symbols (TradeReady-Portfolio-v0 only).")
    ] = None,
    data_dir: Annotated[
        Path | None, typer.Option("--data-dir", help="Cache root (default: $TRADEREADY_DATA_DIR or the user cache).")
    ] = None,
    download: Annotated[bool, typer.Option("--download", help="Download missing candles from Binance.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
) -> None:
    """Run one episode on real candles with a baseline policy and print its metrics.

    \b
    Examples:
      tradeready episode TradeReady-BTC-v0 --start 2024-01-01 --end 2024-07-01 --policy buy
      tradeready episode TradeReady-Portfolio-v0 --symbols BTCUSDT,ETHUSDT -t 4h --json
    """
    import tradeready_gym  # noqa: F401  (registers the ids)
    from tradeready_gym.envs.episode import run_episode

    kwargs: dict[str, Any] = {
        "start_time": start,
        "end_time": end,
        "timeframe": timeframe,
        "observation_features": [f.strip() for f in features.split(",") if f.strip()],
        "lookback_window": lookback,
        "starting_balance": balance,
        "fee_rate": fee_rate,
        "slippage": slippage,
        "data_dir": data_dir,
        "download": download,
    }
    if symbols is not None:
        kwargs["symbols"] = [s.strip() for s in symbols.split(",") if s.strip()]
    try:
        summary = run_episode(env_id, policy=policy, seed=seed, **kwargs)
    except TradeReadyError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(code=1) from None
    except Exception as exc:  # unknown id and other gymnasium errors
        if type(exc).__module__.startswith("gymnasium"):
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(code=1) from None
        raise
    typer.echo(json.dumps(summary, indent=2) if as_json else _format(summary))

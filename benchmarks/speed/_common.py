"""Shared pieces of the speed workers: candle loading, the timing loop and the JSON result line.

This module uses only the standard library (plus numpy, which every benchmarked library already
depends on), so it runs unchanged in the project venv and in the peers venv
(``benchmarks/.peers-venv``, created by ``scripts/setup_peers.sh``).

Every worker is a script run as a subprocess by ``benchmarks/bench_speed.py``; it loads the same
BTCUSDT 1h candles from the shared Binance REST JSON files, builds one environment, runs seeded
random actions and prints exactly one JSON object on its last stdout line.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import resource
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

__all__ = [
    "DEFAULT_END",
    "DEFAULT_START",
    "WINDOW",
    "Candles",
    "emit",
    "iso_to_ms",
    "load_candles",
    "peak_rss_mb",
    "random_actions",
    "rest_files",
    "shared_data_dir",
    "time_resets",
    "time_steps",
    "worker_args",
]

REPO = Path(__file__).resolve().parents[2]
WINDOW = 10
DEFAULT_START = "2024-01-01"
DEFAULT_END = "2025-01-01"


def shared_data_dir(path: str | None = None) -> Path:
    """Folder of the shared real candles: ``path``, else ``$TRADEREADY_SHARED_DATA``, else ``../shared/data``."""
    if path:
        return Path(path).resolve()
    env = os.environ.get("TRADEREADY_SHARED_DATA")
    return (Path(env) if env else REPO.parent / "shared" / "data").resolve()


def iso_to_ms(text: str) -> int:
    """``"2024-01-01"`` or ``"2024-01-01T12:00:00Z"`` (UTC) -> epoch milliseconds."""
    stamp = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if stamp.tzinfo is None:
        stamp = stamp.replace(tzinfo=UTC)
    return int(stamp.timestamp() * 1000)


def rest_files(data_dir: Path, symbol: str, timeframe: str) -> list[Path]:
    """The REST kline files of one symbol and timeframe, in time order."""
    folder = data_dir / "raw" / "binance_spot_rest_klines" / symbol / timeframe
    files = sorted(folder.glob("*.json.gz"))
    if not files:
        raise FileNotFoundError(
            f"no REST kline files for symbol={symbol!r} timeframe={timeframe!r} under {folder}; "
            "pass --data-dir or set TRADEREADY_SHARED_DATA to the shared data folder"
        )
    return files


@dataclass(frozen=True)
class Candles:
    """Plain-list OHLCV candles of one symbol (open times in epoch milliseconds, UTC)."""

    symbol: str
    timeframe: str
    open_time_ms: list[int]
    open: list[float]
    high: list[float]
    low: list[float]
    close: list[float]
    volume: list[float]

    def __len__(self) -> int:
        return len(self.open_time_ms)


def load_candles(
    data_dir: Path,
    symbol: str = "BTCUSDT",
    timeframe: str = "1h",
    start: str = DEFAULT_START,
    end: str = DEFAULT_END,
) -> Candles:
    """Read the shared REST JSON klines of ``symbol`` with ``start <= open_time < end`` (deduplicated, sorted)."""
    lo, hi = iso_to_ms(start), iso_to_ms(end)
    rows: dict[int, list[Any]] = {}
    for path in rest_files(data_dir, symbol, timeframe):
        with gzip.open(path, "rt", encoding="utf-8") as fh:
            for row in json.load(fh):
                t = int(row[0])
                if lo <= t < hi:
                    rows[t] = row
    if not rows:
        raise ValueError(f"no {symbol} {timeframe} candles in [{start}, {end}) under {data_dir}")
    times = sorted(rows)
    pick = [rows[t] for t in times]
    return Candles(
        symbol=symbol,
        timeframe=timeframe,
        open_time_ms=times,
        open=[float(r[1]) for r in pick],
        high=[float(r[2]) for r in pick],
        low=[float(r[3]) for r in pick],
        close=[float(r[4]) for r in pick],
        volume=[float(r[5]) for r in pick],
    )


def peak_rss_mb() -> float:
    """Peak resident set size of this process so far, in MiB (``ru_maxrss`` is KiB on Linux)."""
    kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    if sys.platform == "darwin":  # bytes there
        return kib / 2**20
    return kib / 1024


def worker_args(
    description: str, extra: Callable[[argparse.ArgumentParser], None] | None = None
) -> argparse.Namespace:
    """Common command line of every worker."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument(
        "--data-dir",
        default=None,
        help="shared data folder (default: $TRADEREADY_SHARED_DATA or ../shared/data)",
    )
    parser.add_argument("--start", default=DEFAULT_START, help="first candle open time, UTC (inclusive)")
    parser.add_argument("--end", default=DEFAULT_END, help="last candle open time, UTC (exclusive)")
    parser.add_argument("--window", type=int, default=WINDOW, help="observation window in bars")
    parser.add_argument("--seconds", type=float, default=2.0, help="measured stepping time budget")
    parser.add_argument("--warmup", type=int, default=2_000, help="steps run before timing")
    parser.add_argument("--resets", type=int, default=30, help="timed reset() calls")
    parser.add_argument("--seed", type=int, default=0)
    if extra is not None:
        extra(parser)
    return parser.parse_args()


def random_actions(n_actions: int, count: int, seed: int) -> list[int]:
    """``count`` seeded uniform random actions in ``[0, n_actions)`` as Python ints."""
    import numpy as np

    return np.random.default_rng(seed).integers(0, n_actions, size=count).tolist()


def time_steps(
    step: Callable[[Any], tuple[Any, ...]],
    reset: Callable[[], Any],
    n_actions: int,
    *,
    seconds: float,
    warmup: int,
    seed: int,
    block: int = 512,
) -> dict[str, float]:
    """Step with seeded random actions for about ``seconds`` of measured CPU time (process time).

    Only the stepping itself is timed: when an episode ends the clock stops, the env is reset, and
    the clock starts again, so episode length does not mix reset cost into steps/s. The actions are
    drawn up front so drawing them costs nothing inside the loop.

    Returns:
        ``steps``, ``seconds`` and ``steps_per_s``, plus ``episodes_ended`` (how many resets the run needed).
    """
    actions = random_actions(n_actions, 64 * block, seed)
    for i in range(warmup):
        _, _, terminated, truncated, _ = step(actions[i % len(actions)])
        if terminated or truncated:
            reset()
    reset()
    total = 0.0
    steps = 0
    ended = 0
    offset = 0
    # CPU time of this (single-threaded) process: on a shared machine, wall time would also count
    # the time other processes held the core
    clock = time.process_time
    while total < seconds:
        chunk = actions[offset : offset + block]
        offset = (offset + block) % len(actions)
        done = False
        t0 = clock()
        n = 0
        for a in chunk:
            _, _, terminated, truncated, _ = step(a)
            n += 1
            if terminated or truncated:
                done = True
                break
        total += clock() - t0
        steps += n
        if done:
            reset()
            ended += 1
    return {"steps": steps, "seconds": total, "steps_per_s": steps / total, "episodes_ended": ended}


def time_resets(
    reset: Callable[[], Any], step: Callable[[Any], Any], count: int, steps_between: int = 5
) -> dict[str, float]:
    """Median and minimum wall time of ``reset()`` in milliseconds, stepping a little between resets."""
    samples: list[float] = []
    reset()
    for k in range(count):
        for j in range(steps_between):
            step((k + j) % 2)
        t0 = time.perf_counter()
        reset()
        samples.append((time.perf_counter() - t0) * 1000.0)
    samples.sort()
    return {"reset_ms": samples[len(samples) // 2], "reset_min_ms": samples[0]}


def emit(result: dict[str, Any]) -> None:
    """Print the result as one JSON object on the last stdout line (``peak_rss_mb`` added here)."""
    result = dict(result)
    result.setdefault("python", sys.version.split()[0])
    result["peak_rss_mb"] = round(peak_rss_mb(), 1)
    sys.stdout.write(json.dumps(result, sort_keys=True) + "\n")
    sys.stdout.flush()

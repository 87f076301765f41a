"""Evaluation speed: 100 random-policy seeds over one year of 1h bars through the native vector env.

Prints one JSON document. Not a test: numbers depend on the machine. Target: < 2 s per evaluation
of the random baseline (the env already built and compiled; the build is reported apart).

    python benchmarks/bench_evaluate.py [--data DIR] [--seeds 100] [--repeats 3]

The measured call is exactly what ``tradeready evaluate`` runs for the random baseline:
`random_actions` (one seeded generator per env) and `run_policy` over the whole year in one
``gymnasium.make_vec("TradeReady-BTC-v0", num_envs=seeds)`` env, recording every env's equity and
exposure at every bar.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

from tradeready_gym.data.market import MarketData
from tradeready_gym.data.readers import concat_markets, read_rest_json
from tradeready_gym.pipeline.rollout import make_eval_vec_env, random_actions, run_policy

os.environ.setdefault("TRADEREADY_JIT", "wait")  # time compiled code: a missing kernel compiles before its call returns


def load(data_dir: Path, symbol: str = "BTCUSDT", timeframe: str = "1h") -> MarketData:
    folder = data_dir / "raw" / "binance_spot_rest_klines" / symbol / timeframe
    parts = [read_rest_json(f, symbol=symbol, timeframe=timeframe) for f in sorted(folder.glob("*.json.gz"))]
    if not parts:
        raise SystemExit(f"no candles under {folder}; pass --data")
    return concat_markets(parts)


def main(argv: list[str] | None = None) -> dict[str, object]:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    here = Path(__file__).resolve().parents[1]
    ap.add_argument("--data", type=Path, default=Path(os.environ.get("TRADEREADY_SHARED_DATA", here.parent / "shared" / "data")))
    ap.add_argument("--seeds", type=int, default=100)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--start", default="2024-01-01T00:00:00Z")
    ap.add_argument("--end", default="2025-01-01T00:00:00Z")
    args = ap.parse_args(argv)
    market = load(args.data).slice("2023-11-01", args.end)
    kwargs = {"data": market, "start_time": args.start, "end_time": args.end, "fee_rate": 0.001}
    t0 = time.perf_counter()
    venv = make_eval_vec_env("TradeReady-BTC-v0", args.seeds, kwargs)
    build_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    warm = run_policy(venv, random_actions(venv.single_action_space, 64, np.arange(args.seeds)), name="warm")
    first_s = time.perf_counter() - t0  # includes numba compilation (or loading it from the cache)
    times = []
    bars = 0
    result = warm
    for rep in range(args.repeats):
        t0 = time.perf_counter()
        _, info = venv.reset(seed=rep)
        n_steps = int(np.max(info["total_steps"]))
        acts = random_actions(venv.single_action_space, n_steps, rep * 1000 + np.arange(args.seeds))
        result = run_policy(venv, acts, name="random", seed=rep)
        times.append(time.perf_counter() - t0)
        bars = result.n_bars
    best = min(times)
    out = {
        "benchmark": "evaluate_random_baseline",
        "env": "TradeReady-BTC-v0",
        "timeframe": "1h",
        "seeds": args.seeds,
        "bars": bars,
        "period": [args.start, args.end],
        "env_build_s": round(build_s, 3),
        "first_short_run_s": round(first_s, 3),
        "seconds": [round(t, 3) for t in times],
        "best_s": round(best, 3),
        "median_s": round(float(np.median(times)), 3),
        "env_steps_per_s": round(args.seeds * bars / best),
        "target_s": 2.0,
        "target_met": bool(float(np.median(times)) < 2.0),
        "final_equity_median": round(float(np.median(result.equity[-1])), 2),
        "python": sys.version.split()[0],
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
    }
    print(json.dumps(out, indent=2))
    return out


if __name__ == "__main__":
    main()

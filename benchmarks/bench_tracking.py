"""Cost of training tracking: env time with ``track_training=True`` against ``False``, same process.

Prints one JSON document. Not a test: numbers depend on the machine.

    python benchmarks/bench_tracking.py [--episodes 100] [--episode-length 720] [--repeats 7] [--num-envs 8]

Builds ``TradeReady-BTC-v0`` (single env) and its native vector env on the shared BTCUSDT 1h
candles of 2024, with random starts and ``--episode-length``-step episodes, and runs the same
pre-drawn random actions through a tracked and an untracked env, interleaved, ``--repeats`` times
(the tracked env writes to a fresh store in a temporary ``TRADEREADY_HOME``). Reported per case:
median wall time of the untracked and tracked runs, the median of the per-repeat overheads
``tracked / untracked - 1`` in percent, and whether it is under the 1% target. The time measured
includes the background writer's commits (it shares the interpreter) and the final ``close()``
(which waits for the last commit).

Also reported: the cost of ``info["episode_metrics"]`` per finished episode (paid with or without
tracking) and the env-thread cost of one tracked episode report.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent / "speed"))

from _common import DEFAULT_END, DEFAULT_START, load_candles, shared_data_dir
from worker_tradeready import market_data


def _single(market: Any, track: bool, length: int) -> Any:
    from tradeready_gym.envs.presets import make_historical_env

    return make_historical_env(data=market, episode_length=length, random_start=True, track_training=track)


def _vector(market: Any, track: bool, length: int, n: int) -> Any:
    from tradeready_gym.envs.presets import make_historical_vector_env

    return make_historical_vector_env(n, data=market, episode_length=length, random_start=True, track_training=track)


def _run_single(env: Any, actions: np.ndarray, length: int) -> float:
    t0 = time.perf_counter()
    env.reset(seed=0)
    k = 0
    for a in actions:
        _, _, te, tr, _ = env.step(a)
        k += 1
        if te or tr:
            env.reset()
    env.close()
    return time.perf_counter() - t0


def _run_vector(venv: Any, actions: np.ndarray) -> float:
    t0 = time.perf_counter()
    venv.reset(seed=0)
    for a in actions:
        venv.step(a)
    venv.close()
    return time.perf_counter() - t0


def _case(name: str, make: Any, run: Any, repeats: int) -> dict[str, Any]:
    base, tracked, over = [], [], []
    for r in range(repeats):
        order = (False, True) if r % 2 == 0 else (True, False)
        times = {}
        for track in order:
            env = make(track)
            times[track] = run(env)
        base.append(times[False])
        tracked.append(times[True])
        over.append(100.0 * (times[True] / times[False] - 1.0))
    med = statistics.median(over)
    return {
        "case": name,
        "untracked_s_median": statistics.median(base),
        "tracked_s_median": statistics.median(tracked),
        "overhead_pct_median": med,
        "overhead_pct_all": over,
        "target_pct": 1.0,
        "met": med < 1.0,
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--episodes", type=int, default=100)
    p.add_argument("--episode-length", type=int, default=720)
    p.add_argument("--repeats", type=int, default=7)
    p.add_argument("--num-envs", type=int, default=8)
    p.add_argument("--data-dir", default=None)
    args = p.parse_args()
    home = tempfile.mkdtemp(prefix="bench-tracking-")
    os.environ["TRADEREADY_HOME"] = home
    market = market_data([load_candles(shared_data_dir(args.data_dir), "BTCUSDT", "1h", DEFAULT_START, DEFAULT_END)])
    length = args.episode_length
    rng = np.random.default_rng(0)
    steps = args.episodes * length
    single_actions = [int(a) for a in rng.integers(0, 3, size=steps)]
    n = args.num_envs
    vec_actions = rng.integers(0, 3, size=(max(args.episodes * length // n, length * 2), n))
    # warm up the compiled code and the store (migrations) once
    _run_single(_single(market, True, length), np.asarray(single_actions[: 3 * length]), length)
    _run_vector(_vector(market, True, length, n), vec_actions[:length])

    results = [
        _case(f"single env, {length}-step episodes, {args.episodes} episodes",
              lambda track: _single(market, track, length),
              lambda env: _run_single(env, single_actions, length), args.repeats),
        _case(f"vector env x{n}, {length}-step episodes, {len(vec_actions)} batch steps",
              lambda track: _vector(market, track, length, n), lambda venv: _run_vector(venv, vec_actions),
              args.repeats),
    ]

    # per-episode costs
    from tradeready_gym.envs._episode_end import single_episode_metrics

    env = _single(market, True, length)
    env.reset(seed=0)
    for a in single_actions[: length - 1]:
        env.step(a)
    core = env._core
    t0 = time.perf_counter()
    for _ in range(2000):
        metrics = single_episode_metrics(core)
    metrics_us = (time.perf_counter() - t0) / 2000 * 1e6
    tracker = env._tracking
    t0 = time.perf_counter()
    for _ in range(500):
        tracker.on_single_episode(env, metrics, False, True)
    report_us = (time.perf_counter() - t0) / 500 * 1e6
    tracker.close()

    out = {
        "benchmark": "bench_tracking",
        "python": platform.python_version(),
        "machine": platform.processor() or platform.machine(),
        "cpus": os.cpu_count(),
        "episode_length": length,
        "results": results,
        "episode_metrics_us_per_episode": metrics_us,
        "tracker_report_us_per_episode_env_thread": report_us,
    }
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()

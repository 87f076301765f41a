"""Hot-path benchmark: the one-call step against the component-by-component step, same process.

Prints one JSON document. Not a test: numbers depend on the machine.

    python benchmarks/bench_hotpath.py [--data-dir DIR] [--steps 20000] [--num-envs 1024] [--repeats 5]

Builds ``TradeReady-BTC-v0`` on the shared BTCUSDT 1h candles of 2024 (default observation: 30 x
OHLCV + 3 account values) and measures, interleaved and repeated (best and median reported):

* ``single``: ``gymnasium.make`` env, seeded random actions, steps/s;
* ``single_unwrapped``: the same env without Gymnasium's wrappers;
* ``single_components``: the same env forced onto the component-by-component path;
* ``vector``: ``gymnasium.make_vec`` with ``--num-envs`` envs, env-steps/s;
* ``vector_components``: the same vector env forced onto the component-by-component path.

Also prints the time of the single env's ``info`` dict alone, and numba's thread count.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import gymnasium as gym
import numba
import numpy as np

os.environ.setdefault("TRADEREADY_JIT", "wait")  # time compiled code: a missing kernel compiles before its call returns

sys.path.insert(0, str(Path(__file__).resolve().parent / "speed"))

from _common import DEFAULT_END, DEFAULT_START, load_candles, shared_data_dir
from worker_tradeready import ENV_ID, market_data

import tradeready_gym


def _single_rate(env: Any, actions: list[np.int64]) -> float:
    env.reset(seed=0)
    t0 = time.perf_counter()
    for a in actions:
        _, _, term, trunc, _ = env.step(a)
        if term or trunc:
            env.reset()
    return len(actions) / (time.perf_counter() - t0)


def _vector_rate(venv: Any, actions: list[np.ndarray], n: int) -> float:
    venv.reset(seed=0)
    for a in actions[:8]:
        venv.step(a)
    t0 = time.perf_counter()
    for a in actions:
        venv.step(a)
    return len(actions) * n / (time.perf_counter() - t0)


def _info_us(env: Any, reps: int) -> float:
    info = env.unwrapped._core.informer.info
    t0 = time.perf_counter()
    for _ in range(reps):
        info(0)
    return (time.perf_counter() - t0) / reps * 1e6


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--steps", type=int, default=20_000, help="single-env steps per measurement")
    parser.add_argument("--num-envs", type=int, default=1024)
    parser.add_argument("--batches", type=int, default=128, help="vector steps per measurement")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)

    md = market_data(
        [load_candles(shared_data_dir(args.data_dir), "BTCUSDT", "1h", DEFAULT_START, DEFAULT_END)]
    )
    kwargs: dict[str, Any] = {"data": md, "timeframe": "1h"}
    rng = np.random.default_rng(0)
    single_actions = [np.int64(a) for a in rng.integers(0, 3, size=args.steps)]
    n = args.num_envs
    vector_actions = [rng.integers(0, 3, size=n) for _ in range(args.batches)]

    fused = gym.make(ENV_ID, **kwargs)
    components = gym.make(ENV_ID, **kwargs)
    base: Any = components.unwrapped
    base._core._fused = None
    vfused = gym.make_vec(ENV_ID, num_envs=n, **kwargs)
    vcomponents = gym.make_vec(ENV_ID, num_envs=n, **kwargs)
    vcomponents._core._fused = None  # type: ignore[attr-defined]

    cases: dict[str, Any] = {
        "single": lambda: _single_rate(fused, single_actions),
        "single_unwrapped": lambda: _single_rate(fused.unwrapped, single_actions),
        "single_components": lambda: _single_rate(components, single_actions),
        "vector": lambda: _vector_rate(vfused, vector_actions, n),
        "vector_components": lambda: _vector_rate(vcomponents, vector_actions, n),
    }
    for run in cases.values():  # warm-up: loads the compiled kernels
        run()
    samples: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(args.repeats):
        for name, run in cases.items():
            samples[name].append(run())
    fused.reset(seed=0)
    fused.step(1)
    medians = {name: statistics.median(v) for name, v in samples.items()}
    results = {
        name: {
            "best": max(v),
            "median": medians[name],
            "unit": "env-steps/s" if "vector" in name else "steps/s",
        }
        for name, v in samples.items()
    }
    print(
        json.dumps(
            {
                "benchmark": "hotpath",
                "env": ENV_ID,
                "bars": md.n_bars,
                "num_envs": n,
                "results": results,
                "single_info_us": _info_us(fused, 20_000),
                "fused_speedup_single": medians["single"] / medians["single_components"],
                "fused_speedup_vector": medians["vector"] / medians["vector_components"],
                "machine": {
                    "python": platform.python_version(),
                    "numpy": np.__version__,
                    "numba": numba.__version__,
                    "numba_threads": numba.get_num_threads(),
                    "cpu_count": os.cpu_count(),
                    "tradeready_gym": tradeready_gym.__version__,
                },
            },
            indent=2,
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Info-mode benchmark: what ``info_mode="lean"`` saves per step in vector training.

Prints one JSON document. Not a test: numbers depend on the machine.

    python benchmarks/bench_info_modes.py [--data-dir DIR] [--steps 3000] [--num-envs 8] [--native-envs 1024] [--repeats 5]

On the shared BTCUSDT 1h candles of 2024, with seeded random actions, it times (best of
``--repeats``, interleaved) microseconds per vector step with the full and the lean info:

* ``sync``: Gymnasium's ``SyncVectorEnv`` over ``--num-envs`` single envs (``gymnasium.make_vec(...,
  vectorization_mode="sync")``): the full info's per-fill lists and price / position dicts are merged
  into object arrays by Gymnasium on every step;
* ``native``: the native vector env with ``--native-envs`` envs (``gymnasium.make_vec``): the lean
  info copies seven engine arrays instead of building the documented info (prices, positions,
  progress, ISO times). Its whole step is dominated by the threaded compiled step, whose time on a
  shared machine varies far more than the info's, so the info's own cost per step (the part the
  mode changes) is timed too: ``info_full_us`` / ``info_lean_us``.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent / "speed"))

from _common import DEFAULT_END, DEFAULT_START, load_candles, shared_data_dir
from worker_tradeready import market_data

import tradeready_gym  # noqa: F401

__import__("os").environ.setdefault("TRADEREADY_JIT", "wait")  # time compiled code: a missing kernel compiles before its call returns


def _us_per_step(venv: Any, actions: list[np.ndarray]) -> float:
    venv.reset(seed=0)
    for a in actions[:20]:
        venv.step(a)
    t0 = time.perf_counter()
    for a in actions:
        venv.step(a)
    return (time.perf_counter() - t0) / len(actions) * 1e6


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data-dir", default=None)
    p.add_argument("--steps", type=int, default=3000)
    p.add_argument("--num-envs", type=int, default=8)
    p.add_argument("--native-envs", type=int, default=1024)
    p.add_argument("--repeats", type=int, default=5)
    args = p.parse_args()
    md = market_data([load_candles(shared_data_dir(args.data_dir), "BTCUSDT", "1h", DEFAULT_START, DEFAULT_END)])
    kw = {"data": md, "track_training": False, "episode_length": 500}
    rng = np.random.default_rng(0)
    results: dict[str, Any] = {}
    for name, n, extra in (
        ("sync", args.num_envs, {"vectorization_mode": "sync"}),
        ("native", args.native_envs, {}),
    ):
        envs = {mode: gym.make_vec("TradeReady-BTC-v0", num_envs=n, info_mode=mode, **extra, **kw)
                for mode in ("full", "lean")}
        actions = [rng.integers(0, 3, n) for _ in range(args.steps)]
        best = {mode: float("inf") for mode in envs}
        for _ in range(args.repeats):
            for mode, venv in envs.items():
                best[mode] = min(best[mode], _us_per_step(venv, actions))
        info_us: dict[str, float] = {}
        if name == "native":
            for mode, venv in envs.items():
                venv.reset(seed=0)
                venv.step(actions[0])
                best_info = float("inf")
                for _ in range(20):  # best of 20 batches of 50: the cost without the machine's noise
                    t0 = time.perf_counter()
                    for _ in range(50):
                        venv._infos()
                    best_info = min(best_info, (time.perf_counter() - t0) / 50 * 1e6)
                info_us[mode] = best_info
        results[name] = {
            "num_envs": n,
            "full_us_per_step": round(best["full"], 2),
            "lean_us_per_step": round(best["lean"], 2),
            "saved_us_per_step": round(best["full"] - best["lean"], 2),
            "saved_pct": round(100.0 * (best["full"] - best["lean"]) / best["full"], 1),
        }
        if info_us:
            results[name].update({
                "info_full_us": round(info_us["full"], 2),
                "info_lean_us": round(info_us["lean"], 2),
                "info_saved_us": round(info_us["full"] - info_us["lean"], 2),
            })
        for venv in envs.values():
            venv.close()
    out = {
        "benchmark": "info_modes",
        "machine": {"python": platform.python_version(), "processor": platform.processor() or platform.machine()},
        "steps": args.steps,
        "repeats": args.repeats,
        **results,
    }
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()

"""Rendering benchmark: the time of one ``render_mode="rgb_array"`` frame at the default size.

Prints one JSON document. Not a test: numbers depend on the machine.

    python benchmarks/bench_render.py [--data-dir DIR] [--steps 2000] [--frames 200]

Builds ``TradeReady-BTC-v0`` with ``render_mode="rgb_array"`` on the shared BTCUSDT 1h candles of
2024, plays ``--steps`` seeded random steps (so the chart holds a long episode, buys and sells) and
times ``--frames`` calls of ``env.render()`` (a 640 x 400 frame), reporting the median, p95 and max
milliseconds. For comparison it also times one matplotlib figure of the same episode
(``env.unwrapped.plot()``), which is what a frame cost when frames were drawn with matplotlib.
The goal is a frame in <= 20 ms, so Gymnasium's ``RecordVideo`` can record every step.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time
from pathlib import Path

import gymnasium as gym
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent / "speed"))

from _common import DEFAULT_END, DEFAULT_START, load_candles, shared_data_dir
from worker_tradeready import market_data

import tradeready_gym  # noqa: F401

__import__("os").environ.setdefault("TRADEREADY_JIT", "wait")  # time compiled code: a missing kernel compiles before its call returns


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data-dir", default=None)
    p.add_argument("--steps", type=int, default=2000)
    p.add_argument("--frames", type=int, default=200)
    args = p.parse_args()
    md = market_data([load_candles(shared_data_dir(args.data_dir), "BTCUSDT", "1h", DEFAULT_START, DEFAULT_END)])
    env = gym.make("TradeReady-BTC-v0", data=md, render_mode="rgb_array", track_training=False)
    env.reset(seed=0)
    rng = np.random.default_rng(0)
    steps = 0
    for _ in range(args.steps):
        _, _, term, trunc, _ = env.step(int(rng.integers(0, 3)))
        steps += 1
        if term or trunc:
            break
    frame = env.render()  # warm-up (first-call set-up)
    times = []
    for _ in range(args.frames):
        t0 = time.perf_counter()
        frame = env.render()
        times.append((time.perf_counter() - t0) * 1000.0)
    times.sort()
    t0 = time.perf_counter()
    env.unwrapped.plot()
    plot_ms = (time.perf_counter() - t0) * 1000.0
    out = {
        "benchmark": "render_rgb_array",
        "machine": {"python": platform.python_version(), "processor": platform.processor() or platform.machine()},
        "frame_shape": list(frame.shape),
        "episode_steps": steps,
        "fills": len(env.unwrapped.history.fills),
        "frames": args.frames,
        "frame_ms_median": round(statistics.median(times), 3),
        "frame_ms_p95": round(times[int(0.95 * (len(times) - 1))], 3),
        "frame_ms_max": round(times[-1], 3),
        "target_ms": 20.0,
        "target_met": bool(statistics.median(times) <= 20.0),
        "matplotlib_figure_ms": round(plot_ms, 1),
    }
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()

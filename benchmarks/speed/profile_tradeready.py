"""Profile one tradeready-gym environment step with cProfile and save the report as text.

    python benchmarks/speed/profile_tradeready.py                 # single env, default observation
    python benchmarks/speed/profile_tradeready.py --vector 1024   # the native vector env instead

Builds ``TradeReady-BTC-v0`` on the shared BTCUSDT 1h candles (2024), warms it up (so compiled
kernels are loaded), then profiles ``--steps`` steps with seeded random actions. The report
(``benchmarks/results/profile_single_step.txt`` or ``profile_vector_step.txt``) lists the top
functions by own time and by cumulative time, plus the measured per-step cost with and without
the profiler, so the hot spots can be read next to the real speed.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import sys
import time
from pathlib import Path
from typing import Any

from _common import DEFAULT_END, DEFAULT_START, load_candles, random_actions, shared_data_dir
from worker_tradeready import ENV_ID, market_data

__import__("os").environ.setdefault("TRADEREADY_JIT", "wait")  # time compiled code: a missing kernel compiles before its call returns

RESULTS = Path(__file__).resolve().parents[1] / "results"


def _run(env: Any, actions: list[Any]) -> int:
    steps = 0
    for a in actions:
        _, _, terminated, truncated, _ = env.step(a)
        steps += 1
        if (terminated is True or truncated is True) and not hasattr(env, "num_envs"):
            env.reset()
    return steps


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--data-dir", default=None)
    parser.add_argument(
        "--steps", type=int, default=50_000, help="profiled steps (batched steps with --vector)"
    )
    parser.add_argument(
        "--vector", type=int, default=0, help="profile gymnasium.make_vec with this many envs"
    )
    parser.add_argument(
        "--window", type=int, default=None, help="lookback_window (default: the env's default)"
    )
    parser.add_argument("--top", type=int, default=35)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)

    import gymnasium as gym
    import numpy as np

    import tradeready_gym

    md = market_data(
        [load_candles(shared_data_dir(args.data_dir), "BTCUSDT", "1h", DEFAULT_START, DEFAULT_END)]
    )
    kwargs: dict[str, Any] = {"data": md, "timeframe": "1h"}
    if args.window is not None:
        kwargs["lookback_window"] = args.window
    env: Any
    if args.vector:
        env = gym.make_vec(ENV_ID, num_envs=args.vector, **kwargs)
        rng = np.random.default_rng(0)
        n = int(env.single_action_space.n)
        actions: list[Any] = [rng.integers(0, n, size=args.vector) for _ in range(args.steps)]
        what = f"gymnasium.make_vec({ENV_ID!r}, num_envs={args.vector})"
    else:
        env = gym.make(ENV_ID, **kwargs)
        actions = random_actions(int(env.action_space.n), args.steps, 0)
        what = f"gymnasium.make({ENV_ID!r})"
    env.reset(seed=0)
    _run(env, actions[: min(len(actions), 2_000)])

    env.reset(seed=0)
    t0 = time.perf_counter()
    _run(env, actions)
    plain_s = time.perf_counter() - t0

    env.reset(seed=0)
    prof = cProfile.Profile()
    t0 = time.perf_counter()
    prof.enable()
    _run(env, actions)
    prof.disable()
    profiled_s = time.perf_counter() - t0
    env.close()

    out = io.StringIO()
    out.write(
        f"Profile of {len(actions):,} steps of {what}, {kwargs.get('lookback_window', 'default')} window\n"
    )
    out.write(
        f"tradeready-gym {tradeready_gym.__version__}, Python {sys.version.split()[0]}, BTCUSDT 1h {md.n_bars} bars\n"
    )
    out.write(f"observation space: {env.observation_space}\n")
    per = 1e6 / len(actions)
    out.write(f"without profiler: {plain_s * per:.2f} us/step ({len(actions) / plain_s:,.0f} steps/s)\n")
    out.write(
        f"with profiler:    {profiled_s * per:.2f} us/step (profiler overhead inflates Python-level calls)\n\n"
    )
    for key, title in (("tottime", "own time"), ("cumulative", "cumulative time")):
        out.write(f"=== top {args.top} by {title} ===\n")
        stats = pstats.Stats(prof, stream=out)
        stats.strip_dirs().sort_stats(key).print_stats(args.top)
    path = args.out or RESULTS / ("profile_vector_step.txt" if args.vector else "profile_single_step.txt")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(out.getvalue(), encoding="utf-8")
    tmp.replace(path)
    sys.stderr.write(f"wrote {path}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Speed worker for tradeready-gym (run with the project venv).

Modes (``--mode``):

* ``single``: ``gymnasium.make("TradeReady-BTC-v0", data=..., lookback_window=W, timeframe="1h")``, the
  side-by-side configuration (same 10-bar window as the peers).
* ``single-default``: the same env id at its default observation (30 bars x OHLCV + account).
* ``vector``: ``gymnasium.make_vec("TradeReady-BTC-v0", num_envs=N, ...)``, the native vector env;
  reports env-steps/s (``N`` x batched steps/s) and the batched ``reset()`` time.
* ``build-cache``: env build time from the local candle cache (no ``data=``): the cache
  (``TRADEREADY_DATA_DIR``, a temporary folder) is filled once from the same candles, then the env
  is built by id and time range; reports numba's start-up in the fresh process (the first call of a
  one-line cached function), the first build after it, and the median of later builds.
* ``memory``: resident memory of an ``N``-env vector env over a year of 1h candles for 3 symbols
  (BTCUSDT, ETHUSDT, SOLUSDT): RSS before building, after building + reset + stepping, and the delta.
* ``ppo``: Stable-Baselines3 PPO on the single env; the share of wall time spent inside the env's
  ``step``/``reset`` (timed by a thin wrapper around the env, outside SB3's own bookkeeping).

Each mode prints one JSON line (see ``_common.emit``).
"""

from __future__ import annotations

import argparse
import gc
import tempfile
import time
from pathlib import Path
from typing import Any

from _common import (
    Candles,
    emit,
    load_candles,
    peak_rss_mb,
    shared_data_dir,
    time_resets,
    time_steps,
    worker_args,
)

__import__("os").environ.setdefault("TRADEREADY_JIT", "wait")  # time compiled code: a missing kernel compiles before its call returns

ENV_ID = "TradeReady-BTC-v0"
PORTFOLIO_ENV_ID = "TradeReady-Portfolio-v0"
CACHE_START = "2024-02-01"
NS_PER_MS = 1_000_000


def _extra(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--mode",
        choices=["single", "single-default", "vector", "build-cache", "memory", "ppo"],
        default="single",
    )
    parser.add_argument("--num-envs", type=int, default=1024, help="vector / memory modes")
    parser.add_argument("--builds", type=int, default=10, help="build-cache mode: timed builds")
    parser.add_argument("--ppo-steps", type=int, default=8192, help="ppo mode: total timesteps")
    parser.add_argument(
        "--no-warm-cache", action="store_true", help="memory mode: skip filling numba's cache in a throwaway run"
    )


def current_rss_mb() -> float:
    """Resident set size now (``VmRSS``), MiB."""
    with open("/proc/self/status", encoding="ascii") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def market_data(candles: list[Candles]) -> Any:
    """A `MarketData` over the common open times of ``candles`` (one entry per symbol)."""
    import numpy as np

    from tradeready_gym.data.market import MarketData

    common = set(candles[0].open_time_ms)
    for c in candles[1:]:
        common &= set(c.open_time_ms)
    times = sorted(common)
    cols: dict[str, list[np.ndarray]] = {f: [] for f in ("open", "high", "low", "close", "volume")}
    for c in candles:
        pos = {t: i for i, t in enumerate(c.open_time_ms)}
        idx = np.array([pos[t] for t in times], dtype=np.int64)
        for f in cols:
            cols[f].append(np.asarray(getattr(c, f), dtype=np.float64)[idx])
    stacked = {f: np.stack(v, axis=1) for f, v in cols.items()}
    open_time = np.asarray(times, dtype=np.int64) * NS_PER_MS
    return MarketData(
        tuple(c.symbol for c in candles),
        candles[0].timeframe,
        open_time,
        stacked["open"],
        stacked["high"],
        stacked["low"],
        stacked["close"],
        stacked["volume"],
    )


def _version() -> str:
    import tradeready_gym

    return str(tradeready_gym.__version__)


def run_single(args: argparse.Namespace, md: Any, *, default_obs: bool) -> dict[str, Any]:
    import gymnasium as gym

    kwargs: dict[str, Any] = {"data": md, "timeframe": "1h"}
    if not default_obs:
        kwargs["lookback_window"] = args.window
    t0 = time.perf_counter()
    env = gym.make(ENV_ID, **kwargs)
    env.reset(seed=args.seed)
    build_s = time.perf_counter() - t0
    n_actions = int(env.action_space.n)  # type: ignore[attr-defined]
    timing = time_steps(
        env.step, env.reset, n_actions, seconds=args.seconds, warmup=args.warmup, seed=args.seed
    )
    resets = time_resets(env.reset, env.step, args.resets)
    obs_shape = _shape(env.observation_space)
    env.close()
    what = "default observation" if default_obs else f"lookback_window={args.window}"
    return {
        "library": "tradeready-gym" if not default_obs else "tradeready-gym (default obs)",
        "config": f"{ENV_ID} via gymnasium.make, {what}, Discrete({n_actions})",
        "obs_shape": obs_shape,
        "build_s": build_s,
        **timing,
        **resets,
    }


def _shape(space: Any) -> Any:
    shape = getattr(space, "shape", None)
    if shape is not None:
        return list(shape)
    spaces = getattr(space, "spaces", None)
    if isinstance(spaces, dict):
        return {k: _shape(v) for k, v in spaces.items()}
    return str(space)


def run_vector(args: argparse.Namespace, md: Any) -> dict[str, Any]:
    import gymnasium as gym
    import numpy as np

    n = args.num_envs
    t0 = time.perf_counter()
    venv = gym.make_vec(ENV_ID, num_envs=n, data=md, timeframe="1h", autoreset_mode=_next_step())
    venv.reset(seed=args.seed)
    build_s = time.perf_counter() - t0
    n_actions = int(venv.single_action_space.n)  # type: ignore[attr-defined]
    rng = np.random.default_rng(args.seed)
    actions = [rng.integers(0, n_actions, size=n) for _ in range(64)]
    for i in range(max(1, args.warmup // 100)):
        venv.step(actions[i % 64])
    total = 0.0
    batches = 0
    while total < args.seconds:
        t0 = time.perf_counter()
        for a in actions:
            venv.step(a)
        total += time.perf_counter() - t0
        batches += len(actions)
    samples = []
    for _ in range(max(5, args.resets // 3)):
        t0 = time.perf_counter()
        venv.reset()
        samples.append((time.perf_counter() - t0) * 1000.0)
        venv.step(actions[0])
    samples.sort()
    venv.close()
    return {
        "library": "tradeready-gym (vector)",
        "config": f"{ENV_ID} via gymnasium.make_vec, num_envs={n}, default observation",
        "num_envs": n,
        "obs_shape": _shape(venv.single_observation_space),
        "build_s": build_s,
        "batch_steps": batches,
        "seconds": total,
        "batch_steps_per_s": batches / total,
        "steps_per_s": batches * n / total,
        "reset_ms": samples[len(samples) // 2],
        "reset_min_ms": samples[0],
    }


def _next_step() -> Any:
    """Gymnasium's default autoreset mode, passed explicitly as the enum member."""
    from gymnasium.vector import AutoresetMode

    return AutoresetMode.NEXT_STEP


def run_build_cache(args: argparse.Namespace, md: Any) -> dict[str, Any]:
    import gymnasium as gym

    from tradeready_gym.data.cache import CandleCache

    with tempfile.TemporaryDirectory(prefix="tradeready-bench-cache-") as tmp:
        CandleCache(Path(tmp)).write(md, source="benchmark")
        # the env asks for lookback history before start_time: start one month into the cached range
        kwargs = {"timeframe": "1h", "start_time": CACHE_START, "end_time": args.end, "data_dir": tmp}
        numba_s = _numba_startup()
        samples = []
        for _ in range(args.builds + 1):
            t0 = time.perf_counter()
            env = gym.make(ENV_ID, **kwargs)
            env.reset(seed=args.seed)
            samples.append(time.perf_counter() - t0)
            env.close()
    first, rest = samples[0], sorted(samples[1:])
    return {
        "library": "tradeready-gym (build from cache)",
        "config": f"{ENV_ID} via gymnasium.make(start_time={CACHE_START!r}, end_time={args.end!r}, data_dir=cache), "
        "incl. first reset",
        # a fresh process pays numba's start-up once, then our first build (kernels loaded from cache)
        "first_build_s": numba_s + first,
        "numba_startup_s": numba_s,
        "first_build_after_numba_s": first,
        "build_s": rest[len(rest) // 2],
        "build_min_s": rest[0],
    }


def _numba_startup() -> float:
    """Seconds of numba's start-up in this (fresh) process: the first call of a one-line cached function.

    A throwaway process calls it first so that its compiled code is in numba's cache; the call
    timed here then only loads it, and what it costs beyond that is numba starting up.
    """
    import subprocess
    import sys

    here = Path(__file__).resolve().parent
    subprocess.run([sys.executable, "-c", "import _numba_probe; _numba_probe.probe(1)"], cwd=here, check=True)
    t0 = time.perf_counter()
    import _numba_probe

    _numba_probe.probe(1)
    return time.perf_counter() - t0


def run_memory(args: argparse.Namespace, data_dir: Path) -> dict[str, Any]:
    import subprocess
    import sys

    import gymnasium as gym
    import numpy as np

    if not args.no_warm_cache:
        # the same run in a throwaway process first: kernels compiled there go to numba's cache,
        # so this process only loads them (compiling would add the compiler's memory to the RSS)
        warm = [*sys.argv, "--no-warm-cache"]
        subprocess.run([sys.executable, *warm], check=True, stdout=subprocess.DEVNULL)
    candles = [
        load_candles(data_dir, s, "1h", args.start, args.end) for s in ("BTCUSDT", "ETHUSDT", "SOLUSDT")
    ]
    md = market_data(candles)
    # build and drop a one-env batch first, so that module imports and compiled kernels are loaded
    # before the baseline: the delta below is then the 1,024-env batch itself
    warm = gym.make_vec(PORTFOLIO_ENV_ID, num_envs=1, data=md, timeframe="1h", autoreset_mode=_next_step())
    warm.reset(seed=args.seed)
    warm.step(np.full((1, md.n_symbols), 1.0 / md.n_symbols, dtype=np.float32))
    warm.close()
    del warm
    gc.collect()
    rss_before = current_rss_mb()
    n = args.num_envs
    venv = gym.make_vec(PORTFOLIO_ENV_ID, num_envs=n, data=md, timeframe="1h", autoreset_mode=_next_step())
    venv.reset(seed=args.seed)
    shape = (n, *venv.single_action_space.shape)  # type: ignore[misc]
    rng = np.random.default_rng(args.seed)
    for _ in range(200):
        venv.step(rng.random(shape, dtype=np.float32))
    rss_after = current_rss_mb()
    venv.close()
    return {
        "library": "tradeready-gym (memory)",
        "config": f"{PORTFOLIO_ENV_ID} via gymnasium.make_vec, num_envs={n}, symbols={list(md.symbols)}, "
        f"{md.n_bars} bars, 200 steps",
        "num_envs": n,
        "bars": md.n_bars,
        "symbols": list(md.symbols),
        "rss_before_mb": rss_before,
        "rss_after_mb": rss_after,
        "rss_env_mb": rss_after - rss_before,
    }


def run_ppo(args: argparse.Namespace, md: Any) -> dict[str, Any]:
    import gymnasium as gym
    import torch
    from stable_baselines3 import PPO

    class EnvTimer(gym.Wrapper):  # type: ignore[type-arg]
        """Adds up the wall time spent inside the wrapped env's ``step`` and ``reset``."""

        def __init__(self, env: gym.Env) -> None:  # type: ignore[type-arg]
            super().__init__(env)
            self.seconds = 0.0
            self.steps = 0

        def step(self, action: Any) -> Any:
            t0 = time.perf_counter()
            out = self.env.step(action)
            self.seconds += time.perf_counter() - t0
            self.steps += 1
            return out

        def reset(self, **kwargs: Any) -> Any:
            t0 = time.perf_counter()
            out = self.env.reset(**kwargs)
            self.seconds += time.perf_counter() - t0
            return out

    env = EnvTimer(gym.make(ENV_ID, data=md, timeframe="1h"))
    model = PPO("MlpPolicy", env, n_steps=2048, batch_size=64, seed=args.seed, device="cpu", verbose=0)
    t0 = time.perf_counter()
    model.learn(total_timesteps=args.ppo_steps)
    wall = time.perf_counter() - t0
    return {
        "library": "tradeready-gym (PPO)",
        "config": f"{ENV_ID} default observation, SB3 PPO MlpPolicy n_steps=2048 batch_size=64, "
        f"{args.ppo_steps} timesteps, torch threads={torch.get_num_threads()}",
        "ppo_timesteps": args.ppo_steps,
        "env_steps": env.steps,
        "wall_s": wall,
        "env_s": env.seconds,
        "env_share": env.seconds / wall,
    }


def main() -> None:
    args = worker_args(__doc__.splitlines()[0], _extra)
    data_dir = shared_data_dir(args.data_dir)
    result: dict[str, Any]
    t0 = time.perf_counter()
    import gymnasium  # noqa: F401

    import tradeready_gym  # noqa: F401  (registers the env ids)

    import_s = time.perf_counter() - t0
    if args.mode == "memory":
        result = run_memory(args, data_dir)
    else:
        candles = load_candles(data_dir, "BTCUSDT", "1h", args.start, args.end)
        md = market_data([candles])
        if args.mode in ("single", "single-default"):
            result = run_single(args, md, default_obs=args.mode == "single-default")
        elif args.mode == "vector":
            result = run_vector(args, md)
        elif args.mode == "build-cache":
            result = run_build_cache(args, md)
        else:
            result = run_ppo(args, md)
        result["bars"] = md.n_bars
    result.update(
        {"mode": args.mode, "version": _version(), "import_s": import_s, "peak_rss_at_end_mb": peak_rss_mb()}
    )
    emit(result)


if __name__ == "__main__":
    main()

"""Cold start: import, make, reset and the first step in a fresh process with an EMPTY numba cache.

This is what a new user sees on the first run after installing (before ``tradeready warmup``), and
what every fresh worker process (SubprocVecEnv, AsyncVectorEnv, Ray) pays on a machine whose numba
cache is empty::

    python benchmarks/bench_cold_start.py                 # both scenarios, JSON on stdout
    python benchmarks/bench_cold_start.py --scenario btc  # one scenario
    python benchmarks/bench_cold_start.py --warm          # the same, with the cache filled first
    python benchmarks/bench_cold_start.py --jit wait      # every call waits for its compile

By default (``TRADEREADY_JIT=background``) a call whose kernel is not compiled yet runs the same
code uncompiled while the kernel compiles in the background (`tradeready_gym._jit`); each scenario
also records when every kernel had finished compiling (``all_compiled_after_s``) and the time of the
ten steps after the first (uncompiled or compiled, whichever was ready).

Scenarios (each in its own fresh subprocess, with ``NUMBA_CACHE_DIR`` set to a new empty folder):

* ``btc``: ``gymnasium.make("TradeReady-BTC-v0")``, ``reset`` and one ``step``.
* ``three``: the single env, then ``TradeReady-Portfolio-v0``, then a 256-env
  ``gymnasium.make_vec("TradeReady-BTC-v0", num_envs=256)``, each made, reset and stepped once,
  in one process (the total is what the three cost together).

Every phase is timed with ``time.perf_counter`` inside the subprocess; the parent adds the whole
subprocess wall time (interpreter start included). The candles come from the shared real data
(``../shared/data`` or ``TRADEREADY_SHARED_DATA``), imported once into a temporary cache folder
that the subprocesses read through ``TRADEREADY_DATA_DIR`` (that import is not timed).
The machine's load average is recorded beside the numbers (``os.getloadavg``).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
START, END = "2024-01-01T00:00:00Z", "2024-07-01T00:00:00Z"
SYMBOLS = ("BTCUSDT", "ETHUSDT", "SOLUSDT")
GOALS_S = {"btc": 5.0, "three": 15.0}


def _child(scenario: str) -> dict[str, Any]:
    """Runs in the fresh subprocess: time each phase, return the timings."""
    out: dict[str, Any] = {}
    t0 = time.perf_counter()
    c0 = time.process_time()
    import gymnasium as gym

    import tradeready_gym  # noqa: F401  (registers the ids)

    out["import_s"] = time.perf_counter() - t0

    def one(label: str, make: Any, vector: bool) -> None:
        t = time.perf_counter()
        env = make()
        out[f"{label}_make_s"] = time.perf_counter() - t
        t = time.perf_counter()
        env.reset(seed=0)
        out[f"{label}_reset_s"] = time.perf_counter() - t
        action = env.action_space.sample()
        t = time.perf_counter()
        env.step(action)
        out[f"{label}_first_step_s"] = time.perf_counter() - t
        t = time.perf_counter()
        for _ in range(10):
            env.step(env.action_space.sample())
        out[f"{label}_next_10_steps_s"] = time.perf_counter() - t
        env.close()

    kw = {"start_time": START, "end_time": END}
    one("btc", lambda: gym.make("TradeReady-BTC-v0", **kw), False)
    if scenario == "three":
        one("portfolio", lambda: gym.make("TradeReady-Portfolio-v0", **kw), False)
        one("vector256", lambda: gym.make_vec("TradeReady-BTC-v0", num_envs=256, **kw), True)
    out["total_s"] = time.perf_counter() - t0
    out["total_cpu_s"] = time.process_time() - c0
    from tradeready_gym import _jit

    # with TRADEREADY_JIT=background the steps above ran uncompiled while the kernels compiled
    out["jit_mode"] = _jit.jit_mode()
    out["compiles_pending_at_end"] = _jit.pending_compiles()
    _jit.wait_for_compiles()
    out["all_compiled_after_s"] = time.perf_counter() - t0
    import numba

    out["numba_threads"] = int(numba.config.NUMBA_NUM_THREADS)
    return out


def _prepare_cache(root: Path) -> None:
    """Import the shared REST candles of BTC / ETH / SOL 1h into the cache folder ``root``."""
    from tradeready_gym.data import import_data

    env = os.environ.get("TRADEREADY_SHARED_DATA")
    shared = Path(env) if env else REPO.parent / "shared" / "data"
    for sym in SYMBOLS:
        import_data(shared / "raw" / "binance_spot_rest_klines" / sym / "1h", data_dir=root)


def _run(scenario: str, data_dir: Path, numba_dir: Path, timeout: float, jit: str) -> dict[str, Any]:
    env = dict(os.environ)
    env["TRADEREADY_JIT"] = jit
    env["NUMBA_CACHE_DIR"] = str(numba_dir)
    env["TRADEREADY_DATA_DIR"] = str(data_dir)
    t = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, __file__, "--child", scenario],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    wall = time.perf_counter() - t
    if proc.returncode != 0:
        raise RuntimeError(f"scenario {scenario!r} failed:\n{proc.stderr[-4000:]}")
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    result["process_wall_s"] = wall
    result["compile_log"] = [ln for ln in proc.stderr.splitlines() if "compil" in ln.lower()]
    return result


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--scenario", choices=("btc", "three", "all"), default="all")
    p.add_argument("--warm", action="store_true", help="fill the numba cache with a first run, then time a second")
    p.add_argument("--timeout", type=float, default=900.0)
    p.add_argument(
        "--jit",
        choices=("background", "wait"),
        default="background",
        help="TRADEREADY_JIT of the timed process: the default (steps run uncompiled while kernels compile) "
        "or wait (every call waits for its compile)",
    )
    p.add_argument("--child", help=argparse.SUPPRESS)
    a = p.parse_args(argv)
    if a.child:
        import logging

        logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(name)s %(message)s")
        print(json.dumps(_child(a.child)))
        return 0
    scenarios = ("btc", "three") if a.scenario == "all" else (a.scenario,)
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="tr-cold-") as tmp:
        data_dir = Path(tmp) / "data"
        _prepare_cache(data_dir)
        for sc in scenarios:
            numba_dir = Path(tmp) / f"numba-{sc}"
            numba_dir.mkdir()
            load_before = os.getloadavg()
            if a.warm:
                _run(sc, data_dir, numba_dir, a.timeout, a.jit)
            r = _run(sc, data_dir, numba_dir, a.timeout, a.jit)
            r["load_avg_before"] = load_before
            r["load_avg_after"] = os.getloadavg()
            r["goal_s"] = GOALS_S[sc]
            r["met"] = r["total_s"] <= GOALS_S[sc]
            results[sc] = r
            print(
                f"{sc}: total {r['total_s']:.2f} s, cpu {r['total_cpu_s']:.2f} s (goal {GOALS_S[sc]} s), "
                f"every kernel compiled after {r['all_compiled_after_s']:.1f} s, load {load_before[0]:.2f}",
                file=sys.stderr,
            )
    report = {
        "benchmark": "cold_start",
        "numba_cache": "filled by a first run" if a.warm else "empty",
        "jit": a.jit,
        "machine": {"cpu_count": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version()},
        "range": [START, END],
        "results": results,
    }
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

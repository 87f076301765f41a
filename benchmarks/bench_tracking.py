"""Cost of training tracking for 720-step episodes: ``track_training=True`` against ``False``.

Prints one JSON document. Not a test: numbers depend on the machine.

    python benchmarks/bench_tracking.py [--episodes 40] [--episode-length 720] [--repeats 9] [--num-envs 8]

On the shared BTCUSDT 1h candles of 2024 (``TradeReady-BTC-v0``'s preset, random starts):

* ``accounting`` (the number the target is judged on): the tracker's own CPU time per finished
  episode of a long run, against the CPU time of one 720-step episode of the untracked env: the env
  thread's report (journal write, capture, queueing), the background writer's rows (drain of 1,000
  queued episodes: rows built, one prepared upsert), and the trace encodes a long run makes per
  episode (``1/trace_every`` plus the moving best / worst / last traces once per heartbeat
  interval) times the measured cost of one encode. ``info["episode_metrics"]`` is reported apart:
  every env computes it, tracked or not. The cyclic garbage collector is off while it is measured.
* ``ab_cpu_time``: the same pre-drawn random actions through a tracked and an untracked env
  (single, and a vector env of ``--num-envs``), interleaved, process CPU time (all threads, so the
  writer's commits count). On a busy shared machine this A/B is noisier than the effect measured.
* ``fixed_per_run``: registration at the first reset and ``close()`` (waits for the last commit).
"""

from __future__ import annotations

import argparse
import gc
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

os.environ.setdefault("TRADEREADY_JIT", "wait")  # time compiled code: a missing kernel compiles before its call returns

sys.path.insert(0, str(Path(__file__).resolve().parent / "speed"))

from _common import DEFAULT_END, DEFAULT_START, load_candles, shared_data_dir
from worker_tradeready import market_data


def _single(market: Any, track: bool, length: int) -> Any:
    from tradeready_gym.envs.presets import make_historical_env

    return make_historical_env(data=market, episode_length=length, random_start=True, track_training=track)


def _vector(market: Any, track: bool, length: int, n: int) -> Any:
    from tradeready_gym.envs.presets import make_historical_vector_env

    return make_historical_vector_env(n, data=market, episode_length=length, random_start=True, track_training=track)


def _run_single(env: Any, actions: list[int], clock: Any = time.process_time) -> float:
    """CPU time of the stepping (every thread of the process: the writer's commits are included)."""
    env.reset(seed=0)
    t0 = clock()
    for a in actions:
        _, _, te, tr, _ = env.step(a)
        if te or tr:
            env.reset()
    return clock() - t0


def _run_vector(venv: Any, actions: np.ndarray, clock: Any = time.process_time) -> float:
    venv.reset(seed=0)
    t0 = clock()
    for a in actions:
        venv.step(a)
    return clock() - t0


def _paired(name: str, envs: dict[bool, Any], run: Any, repeats: int) -> dict[str, Any]:
    """Interleaved repeats on the same two envs (tracked / untracked); CPU times of the stepping."""
    times: dict[bool, list[float]] = {False: [], True: []}
    over = []
    for r in range(repeats):
        order = (False, True) if r % 2 == 0 else (True, False)
        got = {}
        for track in order:
            got[track] = run(envs[track])
        times[False].append(got[False])
        times[True].append(got[True])
        over.append(100.0 * (got[True] / got[False] - 1.0))
    return {
        "case": name,
        "untracked_cpu_s_median": statistics.median(times[False]),
        "tracked_cpu_s_median": statistics.median(times[True]),
        "overhead_pct_median_of_pairs": statistics.median(over),
        "overhead_pct_min_over_min": 100.0 * (min(times[True]) / min(times[False]) - 1.0),
        "overhead_pct_all": over,
    }


def _uptime() -> str:
    """The ``uptime`` line (load of the shared machine while the benchmark ran)."""
    import subprocess

    try:
        return subprocess.run(["uptime"], capture_output=True, text=True, timeout=5).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--episodes", type=int, default=40)
    p.add_argument("--episode-length", type=int, default=720)
    p.add_argument("--repeats", type=int, default=9)
    p.add_argument("--num-envs", type=int, default=8)
    p.add_argument("--data-dir", default=None)
    args = p.parse_args()
    load_start = os.getloadavg()
    home = tempfile.mkdtemp(prefix="bench-tracking-")
    os.environ["TRADEREADY_HOME"] = home
    market = market_data([load_candles(shared_data_dir(args.data_dir), "BTCUSDT", "1h", DEFAULT_START, DEFAULT_END)])
    length = args.episode_length
    rng = np.random.default_rng(0)
    single_actions = [int(a) for a in rng.integers(0, 3, size=args.episodes * length)]
    n = args.num_envs
    vec_actions = rng.integers(0, 3, size=(max(args.episodes * length // n, length * 2), n))

    singles = {k: _single(market, k, length) for k in (False, True)}
    vectors = {k: _vector(market, k, length, n) for k in (False, True)}
    for e in (*singles.values(), *vectors.values()):  # compile, register, open the store
        e.reset(seed=0)
    _run_single(singles[True], single_actions[: 2 * length])
    _run_vector(vectors[True], vec_actions[:length])
    results = [
        _paired(f"single env, {length}-step episodes x {args.episodes}", singles,
                lambda env: _run_single(env, single_actions), args.repeats),
        _paired(f"vector env x{n}, {length}-step episodes, {len(vec_actions)} batch steps", vectors,
                lambda venv: _run_vector(venv, vec_actions), args.repeats),
    ]

    # accounting: the tracker's own work per episode against the env's time per episode
    from tradeready_gym.envs._episode_end import single_episode_metrics
    from tradeready_gym.tracking import TrainingTracker
    from tradeready_gym.tracking.tracker import attach_tracker

    env = _single(market, False, length)
    episode_runs = [_run_single(env, single_actions[:length], time.thread_time) for _ in range(args.repeats)]
    episode_s = min(episode_runs)  # the fastest episode: the largest share for the tracker
    env.reset(seed=0)
    for a in single_actions[: length - 1]:
        env.step(a)
    core = env._core
    k = 2000
    t0 = time.thread_time()
    for _ in range(k):
        metrics = single_episode_metrics(core)
    metrics_us = (time.thread_time() - t0) / k * 1e6
    # the tracker's own work, measured without the cyclic garbage collector (a full collection is
    # paid for the whole process's objects; the tracker allocates a few containers per episode
    # against the env's one info dict per step)
    gc.collect()
    gc.disable()
    tracker = attach_tracker(env, TrainingTracker(store=os.path.join(home, "accounting.sqlite"), flush_interval_s=3600.0))
    tracker.register_run(env)
    writer = tracker._writer
    assert writer is not None
    writer.drain()  # registration and store opening, not per-episode work
    k = 1000
    # the steady state of a long run: rows every flush; traces for "first" and every trace_every-th
    # episode, and the moving "best" / "worst" / "last" ones once per heartbeat interval
    t0 = time.thread_time()
    for _ in range(k):
        tracker._report(0, metrics, 0, 0, False, True, None, ("2024-01-01T00:00:00Z", "2024-02-01T00:00:00Z"))
    report_rows_us = (time.thread_time() - t0) / k * 1e6
    t0 = time.thread_time()
    for _ in range(k):
        tracker.on_single_episode(env, metrics, False, True)
    episode_hook_us = (time.thread_time() - t0) / k * 1e6
    t0 = time.thread_time()
    for _ in range(k):
        tracker.on_reset(env)  # the env calls it at every reset (the start time of the next episode)
    reset_hook_us = (time.thread_time() - t0) / k * 1e6
    report_us = episode_hook_us + reset_hook_us
    writer.queue.clear()
    for _ in range(k):
        tracker._report(0, metrics, 0, 0, False, True, None, ("2024-01-01T00:00:00Z", "2024-02-01T00:00:00Z"))
    t0 = time.thread_time()
    writer.drain()
    writer_rows_us = (time.thread_time() - t0) / k * 1e6
    last = tracker._last_capture
    assert last is not None
    capture = last[1]
    t0 = time.thread_time()
    for _ in range(20):
        capture.encode({"episode": 1})
    encode_us = (time.thread_time() - t0) / 20 * 1e6
    episodes_per_heartbeat = tracker.heartbeat_interval_s / episode_s
    encodes_per_episode = 1.0 / tracker.trace_every + 3.0 / episodes_per_heartbeat
    writer_us = writer_rows_us + encodes_per_episode * encode_us
    tracker.close()

    # a vector env's hook: per finished episode (a batch of n envs finishing together)
    venv = _vector(market, False, length, n)
    venv.reset(seed=0)
    for a in vec_actions[: length - 1]:
        venv.step(a)
    from tradeready_gym.envs._episode_end import batch_episode_metrics

    idx = np.arange(n)
    rows = batch_episode_metrics(venv._core, idx)
    flags = np.zeros(n, dtype=bool)
    vtracker = attach_tracker(venv, TrainingTracker(store=os.path.join(home, "accounting.sqlite"),
                                                    flush_interval_s=3600.0))
    vtracker.register_run(venv)
    vk = max(1, 1000 // n)
    t0 = time.thread_time()
    for _ in range(vk):
        vtracker.on_vector_episodes(venv, idx, rows, flags, ~flags)
    vector_hook_us = (time.thread_time() - t0) / (vk * n) * 1e6
    assert vtracker._writer is not None
    vtracker._writer.queue.clear()
    vtracker.close()
    # a vector env's trace is rebuilt on the writer thread: replay of the episode in a one-env copy
    from tradeready_gym.tracking.tracker import _VectorCapture, _VectorReplay

    venv.step(vec_actions[length - 1])  # the terminal step, logged
    replay = _VectorReplay.of(venv)
    assert isinstance(replay, _VectorReplay)
    vcap = _VectorCapture(replay, venv._tr_log, len(venv._tr_log) - 1, 0, length, int(venv._core.state.start[0]))
    vcap.encode({"episode": 1})  # builds the one-env copy (once per run)
    t0 = time.thread_time()
    for _ in range(5):
        vcap.encode({"episode": 1})
    vector_trace_us = (time.thread_time() - t0) / 5 * 1e6
    gc.enable()
    per_episode_us = report_us + writer_us

    # fixed per-run costs: registration at the first reset, completion at close()
    fixed = []
    for _ in range(3):
        e = _single(market, True, length)
        t0 = time.perf_counter()
        e.reset(seed=0)
        t1 = time.perf_counter()
        e.close()
        fixed.append({"register_ms": (t1 - t0) * 1e3, "close_ms": (time.perf_counter() - t1) * 1e3})

    out = {
        "benchmark": "bench_tracking",
        "python": platform.python_version(),
        "machine": platform.processor() or platform.machine(),
        "cpus": os.cpu_count(),
        "load_average_at_start": load_start,
        "load_average": os.getloadavg(),
        "uptime": _uptime(),
        "episode_length": length,
        "ab_cpu_time": results,
        "accounting": {
            "env_episode_us": episode_s * 1e6,
            "env_episode_us_median": statistics.median(episode_runs) * 1e6,
            "episode_metrics_us": metrics_us,
            "tracker_env_thread_us_per_episode": report_us,
            "tracker_env_thread_episode_hook_us": episode_hook_us,
            "tracker_env_thread_reset_hook_us": reset_hook_us,
            "tracker_env_thread_pct_of_env_time": 100.0 * report_us / (episode_s * 1e6),
            "vector_env_thread_us_per_episode": vector_hook_us,
            "vector_trace_encode_us_with_replay": vector_trace_us,
            "vector_writer_trace_us_per_episode": encodes_per_episode * vector_trace_us,
            "tracker_env_thread_us_per_episode_without_capture": report_rows_us,
            "writer_rows_us_per_episode": writer_rows_us,
            "trace_encode_us": encode_us,
            "trace_encodes_per_episode": encodes_per_episode,
            "tracker_writer_us_per_episode": writer_us,
            "tracker_us_per_episode": per_episode_us,
            "tracker_total_pct_of_median_env_time": 100.0 * per_episode_us / (statistics.median(episode_runs) * 1e6),
            "trace_every": tracker.trace_every,
            "gc_disabled_during_accounting": True,
            "tracker_pct_of_env_time": 100.0 * per_episode_us / (episode_s * 1e6),
            "target_pct": 1.0,
            "met": 100.0 * per_episode_us / (episode_s * 1e6) < 1.0,
        },
        "fixed_per_run": fixed,
    }
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()

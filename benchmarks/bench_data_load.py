"""Benchmark: load one year of 1m candles for one symbol from the Parquet cache.

There is no real 1m data in the shared set, so the candles come from the synthetic generator
(symbol ``SYNTH-1``, clearly labelled synthetic); the cache path, file layout and loading code are
the same as for real symbols. Prints one JSON object: times in seconds (median of ``--repeat`` runs
after one warm-up), the cache file size, and memory (the arrays' bytes, Arrow buffers held by the
result, the tracemalloc peak of Python/numpy allocations during one load, process max RSS). Target: a full-year load well under 0.5 s.

Run: ``python benchmarks/bench_data_load.py [--repeat 7]``
"""

from __future__ import annotations

import argparse
import gc
import json
import platform
import resource
import statistics
import tempfile
import time
import tracemalloc
from pathlib import Path

import numpy as np
import pyarrow as pa

from tradeready_gym.data import CandleCache, generate_synthetic, load_market_data

__import__("os").environ.setdefault("TRADEREADY_JIT", "wait")  # time compiled code: a missing kernel compiles before its call returns

MINUTES_PER_YEAR = 365 * 24 * 60


def timed(fn, repeat: int) -> tuple[float, list[float], object]:  # type: ignore[no-untyped-def]
    result = fn()  # warm-up (imports, page cache)
    runs = []
    for _ in range(repeat):
        gc.collect()
        t0 = time.perf_counter()
        result = fn()
        runs.append(time.perf_counter() - t0)
    return statistics.median(runs), runs, result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--repeat", type=int, default=7)
    args = ap.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        t0 = time.perf_counter()
        md = generate_synthetic(MINUTES_PER_YEAR, timeframe="1m", seed=2024, start="2024-01-01T00:00:00Z")
        t_gen = time.perf_counter() - t0
        t0 = time.perf_counter()
        [path] = CandleCache(root).write(md, source="synthetic-benchmark")
        t_write = time.perf_counter() - t0
        del md
        gc.collect()

        # cold-ish first load (a new process would also pay the imports; those are excluded)
        t0 = time.perf_counter()
        first = load_market_data("SYNTH-1", "1m", data_dir=root)
        t_first = time.perf_counter() - t0
        del first

        full, full_runs, loaded = timed(lambda: load_market_data("SYNTH-1", "1m", data_dir=root), args.repeat)
        month, _, _ = timed(
            lambda: load_market_data("SYNTH-1", "1m", "2024-06-01", "2024-07-01", data_dir=root), args.repeat
        )
        hourly, _, h = timed(lambda: load_market_data("SYNTH-1", "1h", data_dir=root), args.repeat)

        gc.collect()
        arrow_before = pa.total_allocated_bytes()
        tracemalloc.start()
        again = load_market_data("SYNTH-1", "1m", data_dir=root)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        arrow_held = pa.total_allocated_bytes() - arrow_before
        array_bytes = sum(
            a.nbytes for a in (again.open_time, again.open, again.high, again.low, again.close, again.volume)
        )
        assert again.n_bars == MINUTES_PER_YEAR and again.synthetic
        assert np.all(np.diff(again.open_time) == 60_000_000_000)

        result = {
            "benchmark": "data_load_1y_1m",
            "data": "synthetic (SYNTH-1, GARCH generator): no real 1m candles are in the shared data set",
            "bars": int(again.n_bars),
            "cache_file_mb": round(path.stat().st_size / 2**20, 2),
            "generate_s": round(t_gen, 3),
            "write_cache_s": round(t_write, 3),
            "load_full_year_first_s": round(t_first, 4),
            "load_full_year_median_s": round(full, 4),
            "load_full_year_runs_s": [round(r, 4) for r in full_runs],
            "load_one_month_median_s": round(month, 4),
            "load_year_resampled_to_1h_median_s": round(hourly, 4),
            "resampled_1h_bars": int(h.n_bars),  # type: ignore[attr-defined]
            "target_s": 0.5,
            "meets_target": full < 0.5,
            "arrays_mb": round(array_bytes / 2**20, 1),
            "load_peak_python_alloc_mb": round(peak / 2**20, 1),
            "load_arrow_buffers_held_mb": round(arrow_held / 2**20, 1),
            "process_max_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
            "python": platform.python_version(),
            "machine": platform.machine(),
        }
        del loaded
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()

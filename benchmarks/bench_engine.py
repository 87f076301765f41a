"""Engine kernel throughput: steps per second for 1, 64 and 1,024 accounts on real candles.

Prints one JSON document. Not a test: numbers depend on the machine.

    python benchmarks/bench_engine.py [--data DIR] [--seconds 2.0]

Each case steps ``Engine.step`` (the public API, input checks included) with market orders that
are non-zero for about two thirds of the entries, resetting accounts to random starts when they
reach the end of the data. ``raw_kernel_steps_per_s`` calls the compiled kernel directly.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

import numba
import numpy as np

from tradeready_gym.data.market import MarketData
from tradeready_gym.data.readers import concat_markets, read_rest_json
from tradeready_gym.engine import Engine, EngineConfig, FixedBpsSlippage
from tradeready_gym.engine import _kernel as K

os.environ.setdefault("TRADEREADY_JIT", "wait")  # time compiled code: a missing kernel compiles before its call returns

SYMBOLS = ("BTCUSDT", "ETHUSDT", "SOLUSDT")


def load(data_dir: Path, symbols: tuple[str, ...], timeframe: str = "1h") -> MarketData:
    frames = {}
    for sym in symbols:
        folder = data_dir / "raw" / "binance_spot_rest_klines" / sym / timeframe
        parts = [read_rest_json(f, symbol=sym, timeframe=timeframe) for f in sorted(folder.glob("*.json.gz"))]
        if not parts:
            raise SystemExit(f"no candles under {folder}; pass --data")
        frames[sym] = concat_markets(parts).to_dataframe()
    return MarketData.from_dataframes(frames, timeframe=timeframe)


def bench_case(
    md: MarketData, n_accounts: int, seconds: float, with_orders: bool, seed: int = 0
) -> dict[str, object]:
    rng = np.random.default_rng(seed)
    cfg = EngineConfig(fee_rate=0.001, slippage=FixedBpsSlippage(5))
    eng = Engine(md, cfg, n_accounts=n_accounts)
    eng.reset(rng.integers(0, md.n_bars // 2, size=n_accounts))
    # a bank of order matrices sized ~1% of equity per symbol, 1/3 zeros
    price = md.close.mean(axis=0)
    bank = rng.uniform(-1.0, 1.0, size=(64, n_accounts, md.n_symbols)) * (100.0 / price)
    bank[rng.random(bank.shape) < 1 / 3] = 0.0
    if not with_orders:
        bank[:] = 0.0
    bank = np.ascontiguousarray(bank)
    orders = [bank[k] for k in range(bank.shape[0])]
    limit = md.n_bars - 1

    def run(budget: float, direct: bool) -> tuple[int, float]:
        steps = 0
        mkt, state, clock, act = eng._mkt, eng._state, eng._clock, eng._all
        t0 = time.perf_counter()
        end = t0 + budget
        while True:
            left = int(limit - eng.t.max())
            if left <= 0:
                eng.reset(rng.integers(0, md.n_bars // 2, size=n_accounts))
                continue
            chunk = min(left, 2000)
            if direct:
                for k in range(chunk):
                    K.step_kernel(mkt, state, clock, orders[k & 63], act)
            else:
                step = eng.step
                for k in range(chunk):
                    step(orders[k & 63])
            steps += chunk
            if time.perf_counter() >= end:
                break
        return steps, time.perf_counter() - t0

    run(0.2, False)  # warm-up (loads the compiled kernel)
    steps, dt = run(seconds, False)
    raw_steps, raw_dt = run(seconds, True)
    return {
        "n_accounts": n_accounts,
        "n_symbols": md.n_symbols,
        "orders": with_orders,
        "steps_per_s": steps / dt,
        "account_steps_per_s": steps * n_accounts / dt,
        "raw_kernel_steps_per_s": raw_steps / raw_dt,
        "us_per_step": 1e6 * dt / steps,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default = os.environ.get(
        "TRADEREADY_SHARED_DATA", str(Path(__file__).resolve().parents[2] / "shared" / "data")
    )
    ap.add_argument("--data", default=default, help="shared data folder (holds raw/binance_spot_rest_klines)")
    ap.add_argument("--seconds", type=float, default=2.0, help="time budget per case")
    args = ap.parse_args()
    md3 = load(Path(args.data), SYMBOLS)
    md1 = md3.select(["BTCUSDT"])
    cases = []
    for n in (1, 64, 1024):
        cases.append(bench_case(md3, n, args.seconds, True))
    cases.append(bench_case(md1, 1, args.seconds, True))
    cases.append(bench_case(md1, 1, args.seconds, False))
    print(
        json.dumps(
            {
                "benchmark": "engine_kernel",
                "data": {"symbols": list(md3.symbols), "timeframe": md3.timeframe, "bars": md3.n_bars},
                "machine": {
                    "python": platform.python_version(),
                    "numpy": np.__version__,
                    "numba": numba.__version__,
                    "cpu_count": os.cpu_count(),
                    "processor": platform.processor() or platform.machine(),
                },
                "cases": cases,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()

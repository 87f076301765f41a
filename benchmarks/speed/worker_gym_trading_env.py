"""Speed worker for Gym-Trading-Env: ``TradingEnv`` through ``gymnasium.make`` on BTCUSDT 1h candles.

The env is set up the way the library documents it: a DataFrame indexed by time with OHLCV
columns plus ``feature_*`` columns (here five scale-free features computed from the candles), a
10-bar window, positions ``[-1, 0, 1]`` (short / flat / long, Discrete(3)), a 0.1% fee and its
default log-return reward. Its two default dynamic features (last position, real position) are
appended to every observation row.
Run with the peers venv: ``benchmarks/.peers-venv/bin/python benchmarks/speed/worker_gym_trading_env.py``.
"""

from __future__ import annotations

import time

from _common import emit, load_candles, shared_data_dir, time_resets, time_steps, worker_args


def main() -> None:
    args = worker_args(__doc__.splitlines()[0])
    candles = load_candles(shared_data_dir(args.data_dir), start=args.start, end=args.end)

    t0 = time.perf_counter()
    import gym_trading_env  # noqa: F401  (registers TradingEnv)
    import gymnasium as gym
    import numpy as np
    import pandas as pd

    import_s = time.perf_counter() - t0

    t0 = time.perf_counter()
    frame = pd.DataFrame(
        {
            "open": candles.open,
            "high": candles.high,
            "low": candles.low,
            "close": candles.close,
            "volume": candles.volume,
        },
        index=pd.DatetimeIndex(pd.to_datetime(candles.open_time_ms, unit="ms"), name="date_open"),
    )
    frame["feature_log_return"] = np.log(frame["close"]).diff()
    frame["feature_open_over_close"] = frame["open"] / frame["close"]
    frame["feature_high_over_close"] = frame["high"] / frame["close"]
    frame["feature_low_over_close"] = frame["low"] / frame["close"]
    frame["feature_volume_rel"] = frame["volume"] / frame["volume"].rolling(24 * 7, min_periods=1).max()
    frame = frame.dropna()
    env = gym.make(
        "TradingEnv",
        df=frame,
        positions=[-1, 0, 1],
        trading_fees=0.001,
        windows=args.window,
        initial_position=0,
        portfolio_initial_value=10_000,
        verbose=0,
        name="BTCUSDT",
    )
    env.reset(seed=args.seed)
    build_s = time.perf_counter() - t0

    n_actions = int(env.action_space.n)  # type: ignore[attr-defined]
    timing = time_steps(
        env.step, env.reset, n_actions, seconds=args.seconds, warmup=args.warmup, seed=args.seed
    )
    resets = time_resets(env.reset, env.step, args.resets)
    obs_shape = list(env.observation_space.shape or ())
    env.close()
    emit(
        {
            "library": "gym-trading-env",
            "version": _version("gym-trading-env"),
            "config": f"TradingEnv, windows={args.window}, 5 features + 2 dynamic, positions [-1, 0, 1]",
            "bars": len(frame),
            "obs_shape": obs_shape,
            "import_s": import_s,
            "build_s": build_s,
            **timing,
            **resets,
        }
    )


def _version(name: str) -> str:
    from importlib.metadata import version

    return version(name)


if __name__ == "__main__":
    main()

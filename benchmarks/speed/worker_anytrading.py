"""Speed worker for gym-anytrading: ``stocks-v0`` through ``gymnasium.make`` on BTCUSDT 1h candles.

gym-anytrading's standard single-asset env observes a window of two features (close and its
one-bar difference), has Discrete(2) actions (sell / buy) and no account state.
Run with the peers venv: ``benchmarks/.peers-venv/bin/python benchmarks/speed/worker_anytrading.py``.
"""

from __future__ import annotations

import time

from _common import emit, load_candles, shared_data_dir, time_resets, time_steps, worker_args


def main() -> None:
    args = worker_args(__doc__.splitlines()[0])
    candles = load_candles(shared_data_dir(args.data_dir), start=args.start, end=args.end)

    t0 = time.perf_counter()
    import gym_anytrading  # noqa: F401  (registers stocks-v0)
    import gymnasium as gym
    import pandas as pd

    import_s = time.perf_counter() - t0

    t0 = time.perf_counter()
    frame = pd.DataFrame(
        {
            "Open": candles.open,
            "High": candles.high,
            "Low": candles.low,
            "Close": candles.close,
            "Volume": candles.volume,
        },
        index=pd.to_datetime(candles.open_time_ms, unit="ms", utc=True),
    )
    env = gym.make("stocks-v0", df=frame, window_size=args.window, frame_bound=(args.window, len(frame)))
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
            "library": "gym-anytrading",
            "version": _version("gym-anytrading"),
            "config": f"stocks-v0, window={args.window}, 2 features, Discrete({n_actions})",
            "bars": len(candles),
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

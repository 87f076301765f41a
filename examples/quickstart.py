"""Quick start: the published tradeready-gym example, running in-process on real Binance candles.

Needs the candles in the local cache once (no server, no API key)::

    tradeready data download BTCUSDT --timeframe 1h --start 2025-01-01 --end 2025-03-01
    python examples/quickstart.py
"""

from __future__ import annotations

from dataclasses import dataclass

import gymnasium as gym

import tradeready_gym  # noqa: F401  (registers all environments)


@dataclass
class Args:
    env_id: str = "tradeready_gym:TradeReady-BTC-v0"
    start_time: str = "2025-01-01T00:00:00Z"
    end_time: str = "2025-03-01T00:00:00Z"
    steps: int = 1000
    seed: int = 0


def main(args: Args) -> dict[str, float]:
    env = gym.make(
        args.env_id,
        starting_balance=10000,
        timeframe="1h",
        start_time=args.start_time,
        end_time=args.end_time,
    )
    obs, info = env.reset(seed=args.seed)
    env.action_space.seed(args.seed)
    for _ in range(args.steps):
        action = env.action_space.sample()  # replace with your model
        obs, reward, terminated, truncated, info = env.step(action)  # noqa: RUF059
        if terminated or truncated:
            obs, info = env.reset()  # noqa: RUF059
    metrics = env.unwrapped.metrics()
    env.close()
    print(f"{info['virtual_time']}  equity {info['equity']:,.2f}  step {info['step']}/{info['total_steps']}")
    print(f"ROI {metrics.roi_pct:.2f}%  buy-and-hold {metrics.buy_and_hold_roi_pct:.2f}%  trades {metrics.n_trades}")
    return {"equity": info["equity"], "roi_pct": metrics.roi_pct}


if __name__ == "__main__":
    main(Args())

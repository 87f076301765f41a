"""Build a TradingEnv from components, with a custom reward and a custom stopper.

    python examples/composable_env.py
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tradeready_gym.actions import PortfolioWeightActions
from tradeready_gym.data import load_market_data
from tradeready_gym.envs import DataFeed, Portfolio, TradingEnv
from tradeready_gym.observers import WindowObserver
from tradeready_gym.rewards import RewardFunction
from tradeready_gym.stoppers import CompositeStopper, EndOfDataStopper, Stopper


class ProfitAfterFees(RewardFunction):
    """Equity change minus half the fees paid in the step again (discourages churn)."""

    def compute(self, prev_equity: float, curr_equity: float, info: dict) -> float:
        return curr_equity - prev_equity - 0.5 * sum(f["fee"] for f in info["filled_orders"])


class DrawdownStopper(Stopper):
    """Truncate an episode once equity is 15% below its running peak."""

    def bind(self, state):
        super().bind(state)
        self.peak = np.full(state.n_envs, state.starting_balance)

    def reset_envs(self, mask):
        self.peak[mask] = self.state.starting_balance

    def stop(self):
        equity = np.asarray(self.state.engine.equity)
        self.peak = np.maximum(self.peak, equity)
        return np.zeros(self.state.n_envs, dtype=bool), equity < 0.85 * self.peak


@dataclass
class Args:
    symbols: tuple[str, ...] = ("BTCUSDT", "ETHUSDT", "SOLUSDT")
    start_time: str = "2024-01-01T00:00:00Z"
    end_time: str = "2024-04-01T00:00:00Z"
    seed: int = 0
    plot_path: str | None = "episode.png"


def main(args: Args) -> dict[str, float]:
    market = load_market_data(list(args.symbols), "1h", "2023-12-01T00:00:00Z", args.end_time)
    env = TradingEnv(
        Portfolio(10_000, fee_rate=0.001, slippage=5.0),
        DataFeed(market, start_time=args.start_time, end_time=args.end_time),
        PortfolioWeightActions(band=0.02),
        ProfitAfterFees(),
        WindowObserver(["returns", "rsi_14", "bollinger"], lookback=24),
        stopper=CompositeStopper([EndOfDataStopper(), DrawdownStopper()]),
        render_mode="ansi",
    )
    env.reset(seed=args.seed)
    env.action_space.seed(args.seed)
    done = False
    while not done:
        _obs, _reward, terminated, truncated, _info = env.step(env.action_space.sample())
        done = terminated or truncated
    print(env.render())
    metrics = env.metrics()
    print(metrics)
    if args.plot_path:
        env.plot(path=args.plot_path)
    return {"roi_pct": metrics.roi_pct, "steps": float(env.clock.step)}


if __name__ == "__main__":
    main(Args())

"""The original import path of `SharpeReward`.

Kept so that code written for the published package (``from tradeready_gym.rewards.sharpe_reward`` ...)
imports unchanged; the implementation lives in `tradeready_gym.rewards`.
"""

from tradeready_gym.rewards import SharpeReward

__all__ = ["SharpeReward"]

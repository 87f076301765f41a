"""The original import path of `PnLReward`.

Kept so that code written for the published package (``from tradeready_gym.rewards.pnl_reward`` ...)
imports unchanged; the implementation lives in `tradeready_gym.rewards`.
"""

from tradeready_gym.rewards import PnLReward

__all__ = ["PnLReward"]

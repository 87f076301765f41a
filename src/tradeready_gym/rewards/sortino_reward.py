"""The original import path of `SortinoReward`.

Kept so that code written for the published package (``from tradeready_gym.rewards.sortino_reward`` ...)
imports unchanged; the implementation lives in `tradeready_gym.rewards`.
"""

from tradeready_gym.rewards import SortinoReward

__all__ = ["SortinoReward"]

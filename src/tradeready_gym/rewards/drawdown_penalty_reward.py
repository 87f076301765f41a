"""The original import path of `DrawdownPenaltyReward`.

Kept so that code written for the published package (``from tradeready_gym.rewards.drawdown_penalty_reward`` ...)
imports unchanged; the implementation lives in `tradeready_gym.rewards`.
"""

from tradeready_gym.rewards import DrawdownPenaltyReward

__all__ = ["DrawdownPenaltyReward"]

"""Reward functions: five built-ins, a weighted composite and the base class for your own.

Example:
    >>> from tradeready_gym.rewards import LogReturnReward, RewardFunction
    >>> class Gain(RewardFunction):
    ...     def compute(self, prev_equity, curr_equity, info):
    ...         return curr_equity - prev_equity
    >>> Gain().compute(100.0, 101.0, {})
    1.0
"""

from tradeready_gym.rewards.base import CustomReward, RewardFunction
from tradeready_gym.rewards.builtin import (
    BUILTIN_REWARDS,
    ActivityReward,
    BatchReward,
    CompositeReward,
    DrawdownPenaltyReward,
    DrawdownReward,
    LogReturnReward,
    NormalizedPnLReward,
    PnLReward,
    SharpeReward,
    SortinoReward,
    reward_from_config,
)

__all__ = [
    "BUILTIN_REWARDS",
    "ActivityReward",
    "BatchReward",
    "CompositeReward",
    "CustomReward",
    "DrawdownPenaltyReward",
    "DrawdownReward",
    "LogReturnReward",
    "NormalizedPnLReward",
    "PnLReward",
    "RewardFunction",
    "SharpeReward",
    "SortinoReward",
    "reward_from_config",
]

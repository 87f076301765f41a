"""The original import path of `CustomReward`, the base class of user rewards.

Kept so that code written for the published package (``from tradeready_gym.rewards.custom_reward`` ...)
imports unchanged; the implementation lives in `tradeready_gym.rewards`.
"""

from tradeready_gym.rewards import CustomReward, RewardFunction

__all__ = ["CustomReward", "RewardFunction"]

"""The original import path of `CompositeReward`.

Kept so that code written for the published package (``from tradeready_gym.rewards.composite`` ...)
imports unchanged; the implementation lives in `tradeready_gym.rewards`.
"""

from tradeready_gym.rewards import CompositeReward

__all__ = ["CompositeReward"]

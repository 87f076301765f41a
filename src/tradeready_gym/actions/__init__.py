"""Action schemes: the action space of an env and the rule that turns actions into orders."""

from tradeready_gym.actions.schemes import (
    ActionScheme,
    ContinuousActions,
    DiscreteActions,
    PortfolioWeightActions,
    TargetExposureActions,
)

__all__ = [
    "ActionScheme",
    "ContinuousActions",
    "DiscreteActions",
    "PortfolioWeightActions",
    "TargetExposureActions",
]

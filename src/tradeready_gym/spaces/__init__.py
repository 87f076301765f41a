"""The published package's ``tradeready_gym.spaces``: action-space presets and `ObservationBuilder`."""

from tradeready_gym.spaces.action_spaces import (
    continuous_action_space,
    discrete_action_space,
    multi_discrete_action_space,
    parametric_action_space,
    portfolio_action_space,
)
from tradeready_gym.spaces.observation_builders import ObservationBuilder

__all__ = [
    "ObservationBuilder",
    "continuous_action_space",
    "discrete_action_space",
    "multi_discrete_action_space",
    "parametric_action_space",
    "portfolio_action_space",
]

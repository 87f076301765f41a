"""Action-space presets of the published package (the spaces of the registered envs and two more)."""

from __future__ import annotations

import gymnasium as gym
import numpy as np

from tradeready_gym.errors import ConfigError

__all__ = [
    "continuous_action_space",
    "discrete_action_space",
    "multi_discrete_action_space",
    "parametric_action_space",
    "portfolio_action_space",
]


def _n(n_assets: int) -> int:
    if isinstance(n_assets, bool) or not isinstance(n_assets, int | np.integer) or n_assets < 1:
        raise ConfigError(f"n_assets={n_assets!r} is not allowed; allowed: an integer >= 1")
    return int(n_assets)


def discrete_action_space() -> gym.spaces.Discrete:
    """``Discrete(3)``: 0 hold, 1 buy, 2 close (``TradeReady-BTC-v0``)."""
    return gym.spaces.Discrete(3)


def continuous_action_space() -> gym.spaces.Box:
    """``Box(-1, 1, (1,))``: signed trade size (``TradeReady-BTC-Continuous-v0``)."""
    return gym.spaces.Box(-1.0, 1.0, (1,), dtype=np.float32)


def portfolio_action_space(n_assets: int) -> gym.spaces.Box:
    """``Box(0, 1, (n_assets,))``: target weights (``TradeReady-Portfolio-v0``)."""
    return gym.spaces.Box(0.0, 1.0, (_n(n_assets),), dtype=np.float32)


def multi_discrete_action_space(n_assets: int) -> gym.spaces.MultiDiscrete:
    """``MultiDiscrete([3] * n_assets)``: hold / buy / close per asset (no registered env uses it)."""
    return gym.spaces.MultiDiscrete([3] * _n(n_assets))


def parametric_action_space() -> gym.spaces.Tuple:
    """``Tuple(Discrete(3), Box(0, 1, (1,)))``: direction and size (no registered env uses it)."""
    return gym.spaces.Tuple((gym.spaces.Discrete(3), gym.spaces.Box(0.0, 1.0, (1,), dtype=np.float32)))

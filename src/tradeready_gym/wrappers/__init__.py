"""Wrappers for the TradeReady environments.

Example:
    >>> import gymnasium as gym
    >>> from tradeready_gym.wrappers import BatchStepWrapper, FeatureEngineeringWrapper, NormalizationWrapper
    >>> def make():  # doctest: +SKIP
    ...     env = gym.make("TradeReady-BTC-v0")
    ...     env = FeatureEngineeringWrapper(env, periods=(5, 10, 20))
    ...     env = NormalizationWrapper(env)
    ...     return BatchStepWrapper(env, n_steps=4)
"""

from tradeready_gym.wrappers.batch_step import BatchStepWrapper
from tradeready_gym.wrappers.feature_engineering import FeatureEngineeringWrapper
from tradeready_gym.wrappers.normalization import NormalizationWrapper, RunningMeanVar

__all__ = ["BatchStepWrapper", "FeatureEngineeringWrapper", "NormalizationWrapper", "RunningMeanVar"]

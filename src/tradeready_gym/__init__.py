"""tradeready-gym: Gymnasium trading environments on real Binance candles.

``import tradeready_gym`` registers the environments with Gymnasium::

    import gymnasium as gym
    import tradeready_gym  # noqa: F401

    env = gym.make("TradeReady-BTC-v0", start_time="2025-01-01T00:00:00Z", end_time="2025-03-01T00:00:00Z")

It imports neither matplotlib nor torch nor Stable-Baselines3; the environment classes, rewards
and wrappers load on first use (``tradeready_gym.TradingEnv``, ``from tradeready_gym import
SharpeReward``), including the published package's names (``SingleAssetTradingEnv``,
``MultiAssetTradingEnv``, ``BaseTradingEnv``, ``HeadlessTradingEnv``, ``LiveTradingEnv``,
``TrainingTracker``, ``CustomReward``, every reward and wrapper).
"""

from __future__ import annotations

from typing import Any

from tradeready_gym.data.market import MarketData
from tradeready_gym.envs import registration as _registration
from tradeready_gym.envs.registration import ENV_IDS
from tradeready_gym.errors import (
    ConfigError,
    DataError,
    DataNotFoundError,
    DownloadError,
    InvalidActionError,
    InvalidOrderError,
    TradeReadyError,
)

__version__ = "0.1.0"

_registration.register_all()

_LAZY = {
    "TradingEnv": "tradeready_gym.envs.trading_env",
    "TradeReadyVectorEnv": "tradeready_gym.envs.vector_env",
    "DataFeed": "tradeready_gym.envs.feed",
    "Portfolio": "tradeready_gym.envs.portfolio",
    "make_historical_env": "tradeready_gym.envs.presets",
    "make_portfolio_env": "tradeready_gym.envs.presets",
    # the published package's names
    "BaseTradingEnv": "tradeready_gym.envs.base_trading_env",
    "SingleAssetTradingEnv": "tradeready_gym.envs.single_asset_env",
    "MultiAssetTradingEnv": "tradeready_gym.envs.multi_asset_env",
    "HeadlessTradingEnv": "tradeready_gym.envs.headless_env",
    "LiveTradingEnv": "tradeready_gym.live",
    "TrainingTracker": "tradeready_gym.tracking",
    "CustomReward": "tradeready_gym.rewards",
    "RewardFunction": "tradeready_gym.rewards",
    "PnLReward": "tradeready_gym.rewards",
    "LogReturnReward": "tradeready_gym.rewards",
    "SharpeReward": "tradeready_gym.rewards",
    "SortinoReward": "tradeready_gym.rewards",
    "DrawdownPenaltyReward": "tradeready_gym.rewards",
    "CompositeReward": "tradeready_gym.rewards",
    "FeatureEngineeringWrapper": "tradeready_gym.wrappers",
    "NormalizationWrapper": "tradeready_gym.wrappers",
    "BatchStepWrapper": "tradeready_gym.wrappers",
}


def __getattr__(name: str) -> Any:
    """The lazy top-level names (`_LAZY`): imported on first access, never by ``import tradeready_gym``."""
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'tradeready_gym' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)


__all__ = [
    "ENV_IDS",
    "BaseTradingEnv",
    "BatchStepWrapper",
    "CompositeReward",
    "ConfigError",
    "CustomReward",
    "DataError",
    "DataFeed",
    "DataNotFoundError",
    "DownloadError",
    "DrawdownPenaltyReward",
    "FeatureEngineeringWrapper",
    "HeadlessTradingEnv",
    "InvalidActionError",
    "InvalidOrderError",
    "LiveTradingEnv",
    "LogReturnReward",
    "MarketData",
    "MultiAssetTradingEnv",
    "NormalizationWrapper",
    "PnLReward",
    "Portfolio",
    "RewardFunction",
    "SharpeReward",
    "SingleAssetTradingEnv",
    "SortinoReward",
    "TradeReadyError",
    "TradeReadyVectorEnv",
    "TradingEnv",
    "TrainingTracker",
    "__version__",
    "make_historical_env",
    "make_portfolio_env",
]

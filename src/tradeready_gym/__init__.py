"""tradeready-gym: Gymnasium trading environments on real Binance candles.

``import tradeready_gym`` registers the environments with Gymnasium::

    import gymnasium as gym
    import tradeready_gym  # noqa: F401

    env = gym.make("TradeReady-BTC-v0", start_time="2025-01-01T00:00:00Z", end_time="2025-03-01T00:00:00Z")

It imports neither matplotlib nor torch nor Stable-Baselines3; the environment classes load on
first use (``tradeready_gym.TradingEnv``).
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
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'tradeready_gym' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)


__all__ = [
    "ENV_IDS",
    "ConfigError",
    "DataError",
    "DataFeed",
    "DataNotFoundError",
    "DownloadError",
    "InvalidActionError",
    "InvalidOrderError",
    "MarketData",
    "Portfolio",
    "TradeReadyError",
    "TradeReadyVectorEnv",
    "TradingEnv",
    "__version__",
    "make_historical_env",
    "make_portfolio_env",
]

"""tradeready-gym: Gymnasium trading environments on real Binance candles.

``import tradeready_gym`` registers the environments with Gymnasium::

    import gymnasium as gym
    import tradeready_gym  # noqa: F401

    env = gym.make("TradeReady-BTC-v0", start_time="2025-01-01T00:00:00Z", end_time="2025-03-01T00:00:00Z")
"""

from __future__ import annotations

from tradeready_gym.data.market import MarketData
from tradeready_gym.envs import registration as _registration
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

__all__ = [
    "ConfigError",
    "DataError",
    "DataNotFoundError",
    "DownloadError",
    "InvalidActionError",
    "InvalidOrderError",
    "MarketData",
    "TradeReadyError",
    "__version__",
]

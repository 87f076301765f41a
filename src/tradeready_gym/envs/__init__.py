"""Environments: the composable `TradingEnv`, the vector env, presets and their registration.

Names are imported lazily so that components can import `tradeready_gym.envs.base` without
pulling in the environments themselves.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "ENV_IDS",
    "BatchState",
    "Component",
    "DataFeed",
    "Portfolio",
    "TradeReadyVectorEnv",
    "TradingEnv",
    "make_historical_env",
    "make_historical_vector_env",
]

_WHERE = {
    "BatchState": "tradeready_gym.components",
    "Component": "tradeready_gym.components",
    "DataFeed": "tradeready_gym.envs.feed",
    "Portfolio": "tradeready_gym.envs.portfolio",
    "TradingEnv": "tradeready_gym.envs.trading_env",
    "TradeReadyVectorEnv": "tradeready_gym.envs.vector_env",
    "make_historical_env": "tradeready_gym.envs.presets",
    "make_historical_vector_env": "tradeready_gym.envs.presets",
    "ENV_IDS": "tradeready_gym.envs.registration",
}


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'tradeready_gym.envs' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)

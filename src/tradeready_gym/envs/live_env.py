"""The published import path of `LiveTradingEnv` (implemented in `tradeready_gym.live`).

Resolved on first access, so importing this module never starts anything live.
"""

from __future__ import annotations

from typing import Any

__all__ = ["LiveTradingEnv"]  # noqa: F822 (resolved by __getattr__)


def __getattr__(name: str) -> Any:
    if name == "LiveTradingEnv":
        from tradeready_gym import live

        return live.LiveTradingEnv
    raise AttributeError(f"module 'tradeready_gym.envs.live_env' has no attribute {name!r}")

"""Live paper trading: Binance kline feed, replay server, paper-account store and `LiveTradingEnv`.

Needs the ``[live]`` extra (``websockets``); ``httpx`` is a core dependency. Names load lazily, so
``import tradeready_gym.live`` imports neither websockets nor httpx. See ``docs/live.md``.
"""

from __future__ import annotations

from typing import Any

__all__ = ["FeedConfig", "FeedState", "LiveFeed", "LiveTradingEnv", "PaperStore", "ReplayFaults", "ReplayServer"]

_LAZY = {
    "FeedConfig": "tradeready_gym.live.feed",
    "FeedState": "tradeready_gym.live.feed",
    "LiveFeed": "tradeready_gym.live.feed",
    "LiveTradingEnv": "tradeready_gym.live.env",
    "PaperStore": "tradeready_gym.live.store",
    "ReplayFaults": "tradeready_gym.live.replay",
    "ReplayServer": "tradeready_gym.live.replay",
}


def __getattr__(name: str) -> Any:
    mod = _LAZY.get(name)
    if mod is None:
        raise AttributeError(f"module 'tradeready_gym.live' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(mod), name)

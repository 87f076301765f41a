"""`HeadlessTradingEnv`: the published package's in-process single-asset env.

The published class drove the platform's engine in-process from a PostgreSQL candle store
(``db_url``). Every env here runs in-process already; this class is `SingleAssetTradingEnv` with
the published argument order. ``db_url`` is accepted and not used: candles come from ``data=`` or
the local cache (``tradeready data import`` / ``download``).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from tradeready_gym.envs.single_asset_env import SingleAssetTradingEnv

__all__ = ["HeadlessTradingEnv"]

logger = logging.getLogger(__name__)


class HeadlessTradingEnv(SingleAssetTradingEnv):
    """``Discrete(3)`` single-asset env, in the published ``HeadlessTradingEnv`` argument order.

    Args:
        db_url: accepted for compatibility, not used (a log line says so when given).
        symbol, starting_balance, timeframe, lookback_window, episode_length, reward_function,
        observation_features, start_time, end_time, position_size_pct, render_mode: as for
            `SingleAssetTradingEnv`.
        **kwargs: any other keyword of `tradeready_gym.envs.presets.make_historical_env`.
    """

    def __init__(
        self,
        db_url: str | None = None,
        symbol: str = "BTCUSDT",
        starting_balance: float = 10_000.0,
        timeframe: str = "1h",
        lookback_window: int = 30,
        episode_length: int | None = None,
        reward_function: Any = None,
        observation_features: Sequence[str] | None = None,
        start_time: Any = None,
        end_time: Any = None,
        position_size_pct: float = 0.1,
        render_mode: str | None = None,
        **kwargs: Any,
    ) -> None:
        if db_url is not None:
            logger.info("HeadlessTradingEnv: db_url is not used; candles come from data= or the local cache")
        super().__init__(
            symbol,
            position_size_pct=position_size_pct,
            reward_function=reward_function,
            starting_balance=starting_balance,
            timeframe=timeframe,
            lookback_window=lookback_window,
            episode_length=episode_length,
            observation_features=observation_features,
            start_time=start_time,
            end_time=end_time,
            render_mode=render_mode,
            **kwargs,
        )

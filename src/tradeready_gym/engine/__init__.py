"""Batched backtesting engine: one compiled kernel for one account and for thousands.

Imports neither Gymnasium nor pandas. See ``docs/engine.md`` for the fill, clipping and cost rules.
"""

from __future__ import annotations

from tradeready_gym.engine.config import EngineConfig
from tradeready_gym.engine.core import Engine, Fill, Order, Window
from tradeready_gym.engine.costs import (
    FeeModel,
    FixedBpsSlippage,
    FixedFee,
    MakerTakerFee,
    NoSlippage,
    PercentageFee,
    SlippageModel,
    VolumeParticipationSlippage,
)
from tradeready_gym.engine.metrics import EpisodeMetrics, periods_per_year

__all__ = [
    "Engine",
    "EngineConfig",
    "EpisodeMetrics",
    "FeeModel",
    "Fill",
    "FixedBpsSlippage",
    "FixedFee",
    "MakerTakerFee",
    "NoSlippage",
    "Order",
    "PercentageFee",
    "SlippageModel",
    "VolumeParticipationSlippage",
    "Window",
    "periods_per_year",
]

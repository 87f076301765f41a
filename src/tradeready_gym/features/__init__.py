"""Causal, scale-free per-bar features computed once over a whole `MarketData`.

Example:
    >>> from tradeready_gym.features import FEATURES, warmup_bars
    >>> FEATURES["macd"], warmup_bars(["macd"])
    (3, 33)
"""

from tradeready_gym.features.core import (
    FEATURE_COLUMNS,
    FEATURE_WARMUP,
    FEATURES,
    compute_features,
    feature_columns,
    validate_feature_names,
    warmup_bars,
)

__all__ = [
    "FEATURES",
    "FEATURE_COLUMNS",
    "FEATURE_WARMUP",
    "compute_features",
    "feature_columns",
    "validate_feature_names",
    "warmup_bars",
]

"""`ObservationBuilder`: the published package's observation layout, computed with this library's features.

The environments build observations with `tradeready_gym.observers.WindowObserver`; this class is
for code that used the published builder directly. Its size is the documented formula
``lookback_window * sum(feature dims) * n_assets + sum(scalar dims)`` with the feature dimensions of
`tradeready_gym.features.FEATURES` and the scalars ``balance`` (1), ``position`` (one per asset)
and ``unrealized_pnl`` (1).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import gymnasium as gym
import numpy as np

from tradeready_gym.errors import ConfigError

__all__ = ["ObservationBuilder"]


class ObservationBuilder:
    """Builds flat float32 observations from candle dicts and an account dict.

    Args:
        features: feature and scalar names (default ``["ohlcv", "balance", "position"]``).
        lookback_window: candle rows per asset.
        n_assets: number of symbols.

    Example:
        >>> b = ObservationBuilder(["ohlcv", "balance", "position"], lookback_window=30, n_assets=1)
        >>> b.observation_space.shape
        (152,)
    """

    def __init__(
        self, features: Sequence[str] | None = None, lookback_window: int = 30, n_assets: int = 1
    ) -> None:
        from tradeready_gym.envs.presets import split_observation_features
        from tradeready_gym.features import FEATURES, validate_feature_names

        names = list(features) if features is not None else ["ohlcv", "balance", "position"]
        self.candle_features, self.scalars = split_observation_features(names)
        validate_feature_names(self.candle_features, param="features")
        if isinstance(lookback_window, bool) or not isinstance(lookback_window, int) or lookback_window < 1:
            raise ConfigError(f"lookback_window={lookback_window!r} is not allowed; allowed: an integer >= 1")
        if isinstance(n_assets, bool) or not isinstance(n_assets, int) or n_assets < 1:
            raise ConfigError(f"n_assets={n_assets!r} is not allowed; allowed: an integer >= 1")
        self.features = names
        self.lookback_window = lookback_window
        self.n_assets = n_assets
        self._candle_dims = sum(FEATURES[n] for n in self.candle_features)
        self._scalar_dims = sum(n_assets if s == "position" else 1 for s in self.scalars)
        size = lookback_window * self._candle_dims * n_assets + self._scalar_dims
        self.observation_space = gym.spaces.Box(-np.inf, np.inf, (size,), dtype=np.float32)

    def build(self, candle_data: Mapping[str, Sequence[Mapping[str, Any]]], portfolio: Mapping[str, Any]) -> np.ndarray:
        """One observation.

        Args:
            candle_data: symbol -> candles (oldest first), each a mapping with ``open``, ``high``,
                ``low``, ``close``, ``volume``; one entry per asset.
            portfolio: ``available_cash``, ``starting_balance``, ``total_equity``,
                ``unrealized_pnl`` and ``position_values`` (symbol -> value) or
                ``total_position_value``.

        Rows without enough history for a feature's warm-up are 0, as in the published builder.
        """
        import pandas as pd

        from tradeready_gym.data.market import MarketData
        from tradeready_gym.features import compute_features

        if len(candle_data) != self.n_assets:
            raise ConfigError(f"candle_data has {len(candle_data)} symbols; this builder expects {self.n_assets}")
        w = self.lookback_window
        parts: list[np.ndarray] = []
        for sym, candles in candle_data.items():
            rows = list(candles)
            block = np.zeros((w, self._candle_dims), dtype=np.float32)
            if rows:
                frame = pd.DataFrame(
                    {k: [float(c[k]) for c in rows] for k in ("open", "high", "low", "close", "volume")},
                    index=pd.date_range("2000-01-01", periods=len(rows), freq="h", tz="UTC"),
                )
                market = MarketData.from_dataframes({str(sym): frame}, timeframe="1h")
                x = compute_features(market, self.candle_features)[:, 0, :]
                x = np.nan_to_num(x[-w:], nan=0.0, posinf=0.0, neginf=0.0)
                block[w - x.shape[0] :] = x
            parts.append(block.ravel())
        equity = float(portfolio.get("total_equity", 0.0)) or 1.0
        start = float(portfolio.get("starting_balance", 0.0)) or 1.0
        values = portfolio.get("position_values")
        scalars: list[float] = []
        for s in self.scalars:
            if s == "balance":
                scalars.append(float(portfolio.get("available_cash", 0.0)) / start)
            elif s == "position":
                if values is None:
                    total = float(portfolio.get("total_position_value", 0.0))
                    scalars.extend([total / equity] + [0.0] * (self.n_assets - 1))
                else:
                    scalars.extend(float(values.get(sym, 0.0)) / equity for sym in candle_data)
            else:
                scalars.append(float(portfolio.get("unrealized_pnl", 0.0)) / equity)
        parts.append(np.asarray(scalars, dtype=np.float32))
        return np.concatenate(parts).astype(np.float32)

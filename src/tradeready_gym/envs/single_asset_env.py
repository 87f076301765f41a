"""`SingleAssetTradingEnv`: the published package's single-asset class (``TradeReady-BTC-v0`` and friends).

Example:
    >>> env = SingleAssetTradingEnv("BTCUSDT", continuous=False, position_size_pct=0.1,
    ...                             start_time="2025-01-01T00:00:00Z", end_time="2025-03-01T00:00:00Z")  # doctest: +SKIP
"""

from __future__ import annotations

from typing import Any

from tradeready_gym.envs.base_trading_env import BaseTradingEnv
from tradeready_gym.envs.presets import build_single_parts

__all__ = ["SingleAssetTradingEnv"]


class SingleAssetTradingEnv(BaseTradingEnv):
    """One symbol, ``Discrete(3)`` (hold, buy ``position_size_pct`` of equity, close) or, with
    ``continuous=True``, ``Box(-1, 1, (1,))`` (trade ``|a| * position_size_pct`` of equity).

    Args:
        symbol: the traded symbol (default ``"BTCUSDT"``).
        continuous: continuous actions instead of discrete.
        position_size_pct: share of current equity one full action trades (default 0.1).
        api_key, base_url, reward_function: as for `BaseTradingEnv`.
        **kwargs: any keyword of `tradeready_gym.envs.presets.make_historical_env`.
    """

    def __init__(
        self,
        symbol: str = "BTCUSDT",
        continuous: bool = False,
        position_size_pct: float = 0.1,
        api_key: str | None = None,
        base_url: str | None = None,
        reward_function: Any = None,
        **kwargs: Any,
    ) -> None:
        kw = {
            "continuous": continuous,
            "position_size_pct": position_size_pct,
            "api_key": api_key,
            "base_url": base_url,
            "reward_function": reward_function,
            **kwargs,
        }
        parts, render_mode, settings = build_single_parts(symbol, "discrete", kw, type(self).__name__)
        self._init_env(parts, render_mode, settings)
        self.remember(type(self), (), {"symbol": symbol, **kw})

    @property
    def symbol(self) -> str:
        return self.symbols[0]

    @property
    def continuous(self) -> bool:
        return self.settings.get("action_type") == "continuous"

    @property
    def position_size_pct(self) -> float:
        """Share of current equity one full action trades (the action scheme's ``trade_fraction``)."""
        return float(self.action_scheme.trade_fraction)  # type: ignore[attr-defined]

    @position_size_pct.setter
    def position_size_pct(self, value: float) -> None:
        self.action_scheme.trade_fraction = value  # type: ignore[attr-defined]

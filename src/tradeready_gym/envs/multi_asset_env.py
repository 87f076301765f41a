"""`MultiAssetTradingEnv`: the published package's portfolio class (``TradeReady-Portfolio-v0``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from tradeready_gym.envs.base_trading_env import BaseTradingEnv
from tradeready_gym.envs.presets import build_portfolio_parts

__all__ = ["MultiAssetTradingEnv"]


class MultiAssetTradingEnv(BaseTradingEnv):
    """Several symbols, ``Box(0, 1, (N,))`` target weights (the rest in cash, 1% band, sells first).

    Args:
        symbols: the traded symbols (default BTC, ETH, SOL); ``pairs=`` is accepted as an alias.
        api_key, base_url, reward_function: as for `BaseTradingEnv`.
        **kwargs: any keyword of `tradeready_gym.envs.presets.make_portfolio_env`.
    """

    def __init__(
        self,
        symbols: Sequence[str] | None = None,
        api_key: str | None = None,
        base_url: str | None = None,
        reward_function: Any = None,
        **kwargs: Any,
    ) -> None:
        kw = {"api_key": api_key, "base_url": base_url, "reward_function": reward_function, **kwargs}
        parts, render_mode, settings = build_portfolio_parts(symbols, "portfolio", kw, type(self).__name__)
        self._init_env(parts, render_mode, settings)
        self.remember(type(self), (), {"symbols": symbols, **kw})

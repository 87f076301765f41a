"""`BaseTradingEnv`: the published package's base class, on the in-process engine.

Code written for the published package constructs the environments by class; these classes build
the same `TradingEnv` as the registered ids (``gymnasium.make("TradeReady-BTC-v0", ...)``) and
take the same keyword arguments, in the published package's order. ``api_key`` and ``base_url``
(the platform's URL) are optional: the engine runs in-process.

Example:
    >>> from tradeready_gym.envs.single_asset_env import SingleAssetTradingEnv
    >>> env = SingleAssetTradingEnv("ETHUSDT", continuous=True, position_size_pct=0.2)  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from tradeready_gym.envs._snapshot import ReplayableTradingEnv
from tradeready_gym.envs.presets import build_portfolio_parts, build_single_parts, finish_env
from tradeready_gym.envs.trading_env import TradingEnv

__all__ = ["BaseTradingEnv"]


class BaseTradingEnv(ReplayableTradingEnv):
    """A `TradingEnv` built from the published package's keyword arguments.

    With one pair it trades it with ``Discrete(3)`` actions (like ``TradeReady-BTC-v0``); with
    several it takes portfolio weights (like ``TradeReady-Portfolio-v0``). The subclasses
    `SingleAssetTradingEnv` and `MultiAssetTradingEnv` pick the action space explicitly.

    Args:
        api_key: platform API key (optional; training tracking).
        base_url: the platform's URL (optional).
        starting_balance, timeframe, lookback_window, reward_function, observation_features,
        start_time, end_time, track_training, strategy_label, render_mode: as for
            `tradeready_gym.envs.presets.make_historical_env`.
        pairs: the traded symbols (default ``["BTCUSDT"]``).
        **kwargs: any other keyword of `make_historical_env` (``data``, ``fee_rate``, ...).

    Unlike the published package, a subclass cannot replace the order logic by overriding
    ``_execute_action``: orders come from the env's action scheme (`tradeready_gym.actions`).
    """

    def __init__(
        self,
        api_key: str | None = None,
        base_url: str | None = None,
        starting_balance: float = 10_000.0,
        timeframe: str = "1h",
        lookback_window: int = 30,
        reward_function: Any = None,
        observation_features: Sequence[str] | None = None,
        pairs: Sequence[str] | None = None,
        start_time: Any = None,
        end_time: Any = None,
        track_training: bool = True,
        strategy_label: str | None = None,
        render_mode: str | None = None,
        **kwargs: Any,
    ) -> None:
        kw = {
            "api_key": api_key,
            "base_url": base_url,
            "starting_balance": starting_balance,
            "timeframe": timeframe,
            "lookback_window": lookback_window,
            "reward_function": reward_function,
            "observation_features": observation_features,
            "start_time": start_time,
            "end_time": end_time,
            "track_training": track_training,
            "strategy_label": strategy_label,
            "render_mode": render_mode,
            **kwargs,
        }
        self._build(list(pairs) if pairs is not None else ["BTCUSDT"], kw)
        self.remember(type(self), (), {"pairs": pairs, **kw})

    def _build(self, pairs: list[str], kw: dict[str, Any]) -> None:
        name = type(self).__name__
        if len(pairs) == 1:
            parts, render_mode, settings = build_single_parts(pairs[0], "discrete", kw, name)
        else:
            parts, render_mode, settings = build_portfolio_parts(pairs, "portfolio", kw, name)
        self._init_env(parts, render_mode, settings)

    def _init_env(self, parts: dict[str, Any], render_mode: str | None, settings: dict[str, Any]) -> None:
        TradingEnv.__init__(self, **parts, render_mode=render_mode)
        finish_env(self, settings)

    # the published package's attributes --------------------------------------------------------
    @property
    def pairs(self) -> list[str]:
        """The traded symbols."""
        return list(self.symbols)

    @property
    def starting_balance(self) -> float:
        return float(self.portfolio.starting_balance)

    @property
    def timeframe(self) -> str:
        return self.feed.market.timeframe

    @property
    def lookback_window(self) -> int:
        return int(self.settings.get("lookback_window", 30))

    @property
    def reward_fn(self) -> Any:
        """The reward object the env was given (``reward_scheme``)."""
        return self.reward_scheme

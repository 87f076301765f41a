"""`Portfolio`: the account settings of an env and a read-only view of its account once running."""

from __future__ import annotations

from typing import Any

import numpy as np

from tradeready_gym.errors import ConfigError

__all__ = ["Portfolio", "engine_config"]


def engine_config(
    starting_balance: float = 10_000.0,
    fee_rate: float = 0.001,
    slippage: Any = None,
    **engine_kwargs: Any,
) -> Any:
    """Build an `EngineConfig`; ``slippage`` may be None (none), a number of bps or a slippage model."""
    from tradeready_gym.engine import EngineConfig, FixedBpsSlippage, NoSlippage, SlippageModel

    if slippage is None:
        model: Any = NoSlippage()
    elif isinstance(slippage, SlippageModel):
        model = slippage
    elif isinstance(slippage, (int, float, np.integer, np.floating)) and not isinstance(slippage, bool):
        model = FixedBpsSlippage(float(slippage)) if float(slippage) != 0.0 else NoSlippage()
    else:
        raise ConfigError(
            f"slippage={slippage!r} is not allowed; allowed: None, a number of basis points, or a slippage model "
            "(FixedBpsSlippage, VolumeParticipationSlippage, NoSlippage)"
        )
    return EngineConfig(starting_balance=starting_balance, fee_rate=fee_rate, slippage=model, **engine_kwargs)


class Portfolio:
    """Cash and positions of one trading account.

    Before the env runs it is the account's configuration (starting balance and costs); once the
    env is built it also reads the live account of env 0 from the engine (``cash``, ``equity``,
    ``positions``, ...). In the vector env every account shares this configuration.

    Args:
        starting_balance: quote-currency cash at reset (default 10,000 USDT).
        fee_rate: fee as a fraction of notional (default 0.001 = 0.1%).
        slippage: None, basis points (float) or a slippage model.
        **engine_kwargs: further `EngineConfig` fields (``fill``, ``spread_bps``, ``mode``, ...).
    """

    def __init__(
        self,
        starting_balance: float = 10_000.0,
        *,
        fee_rate: float = 0.001,
        slippage: Any = None,
        **engine_kwargs: Any,
    ) -> None:
        self.config = engine_config(starting_balance, fee_rate, slippage, **engine_kwargs)
        self._engine: Any = None
        self._symbols: tuple[str, ...] = ()

    @property
    def starting_balance(self) -> float:
        return float(self.config.starting_balance)

    def attach(self, engine: Any, symbols: tuple[str, ...]) -> None:
        """Point the view at ``engine`` (done by the env)."""
        self._engine = engine
        self._symbols = symbols

    def _eng(self) -> Any:
        if self._engine is None:
            raise RuntimeError("the portfolio is not attached to an environment yet")
        return self._engine

    @property
    def cash(self) -> float:
        return float(self._eng().cash[0])

    @property
    def equity(self) -> float:
        return float(self._eng().equity[0])

    @property
    def position_value(self) -> float:
        return float(self._eng().position_value[0])

    @property
    def unrealized_pnl(self) -> float:
        return float(self._eng().unrealized_pnl[0])

    @property
    def realized_pnl(self) -> float:
        return float(self._eng().realized_pnl[0])

    @property
    def fees_paid(self) -> float:
        return float(self._eng().fees_paid[0])

    @property
    def positions(self) -> dict[str, float]:
        """Symbol -> base quantity held."""
        q = self._eng().qty[0]
        return {s: float(q[k]) for k, s in enumerate(self._symbols)}

    @property
    def average_prices(self) -> dict[str, float]:
        """Symbol -> average entry price of the holding."""
        p = self._eng().avg_price[0]
        return {s: float(p[k]) for k, s in enumerate(self._symbols)}

    def __repr__(self) -> str:
        if self._engine is None:
            return f"Portfolio(starting_balance={self.starting_balance}, fee_rate={self.config.fee_rate})"
        return f"Portfolio(cash={self.cash:.2f}, equity={self.equity:.2f}, positions={self.positions})"

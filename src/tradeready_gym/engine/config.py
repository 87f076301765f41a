"""`EngineConfig`: the frozen, validated, serialisable settings of the backtesting engine."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from typing import Any

from tradeready_gym.engine.costs import (
    FeeModel,
    NoSlippage,
    PercentageFee,
    SlippageModel,
    fee_from_dict,
    slippage_from_dict,
)
from tradeready_gym.errors import ConfigError
from tradeready_gym.validation import check_number

__all__ = ["FILL_MODES", "INSUFFICIENT_RULES", "MODES", "EngineConfig"]

FILL_MODES = ("next_open", "close")
MODES = ("spot", "margin")
INSUFFICIENT_RULES = ("clip", "reject")
_DEFAULT_FEE_RATE = 0.001


def _num(
    name: str, value: object, lo: float, hi: float, *, lo_open: bool = False, hi_open: bool = False
) -> float:
    return check_number(name, value, lo, hi, lo_open=lo_open, hi_open=hi_open)


def _choice(name: str, value: object, allowed: Sequence[str]) -> str:
    if value not in allowed:
        raise ConfigError(f"{name}={value!r} is not allowed; allowed: {', '.join(map(repr, allowed))}")
    return str(value)


def _num_or_seq(name: str, value: object, lo: float, hi: float) -> float | tuple[float, ...]:
    if isinstance(value, list | tuple):
        if not value:
            raise ConfigError(
                f"{name}={value!r} is not allowed; allowed: a number or a non-empty list per symbol"
            )
        return tuple(_num(f"{name}[{k}]", v, lo, hi) for k, v in enumerate(value))
    return _num(name, value, lo, hi)


@dataclass(frozen=True, kw_only=True)
class EngineConfig:
    """Settings of one `Engine` (shared by all its accounts).

    Attributes:
        starting_balance: quote-currency cash of every account at reset; > 0.
        fee_rate: fee as a fraction of each fill's notional, in [0, 0.1] (0.001 = 0.1%): the shorthand
            for ``fee=PercentageFee(fee_rate)``. Per-account rates can be set later with
            `Engine.set_fee_rate`. With another ``fee`` model it shows that model's per-account
            rate (the taker rate of a `MakerTakerFee`, 0 for a `FixedFee`).
        fee: a fee model (`PercentageFee`, `MakerTakerFee`, `FixedFee`), or None for
            ``PercentageFee(fee_rate)``. A `PercentageFee` is stored as ``fee_rate`` (``fee`` is then
            None), so ``EngineConfig(fee=PercentageFee(0.002)) == EngineConfig(fee_rate=0.002)``;
            `fee_model` is the model in effect.
        slippage: a `SlippageModel` (``NoSlippage``, ``FixedBpsSlippage``, ``VolumeParticipationSlippage``)
            applied to market, stop-loss and liquidation fills (never to limit / take-profit fills).
        spread_bps: full bid-ask spread in basis points, in [0, 1000]; buys pay half of it, sells half.
        fill: ``"next_open"`` (a market order decided at the close of bar t fills at open[t+1]) or
            ``"close"`` (it fills at close[t]).
        mode: ``"spot"`` (long-only, never negative cash) or ``"margin"`` (shorts and leverage, with
            borrow cost and liquidation).
        on_insufficient: ``"clip"`` (a buy beyond available cash is reduced to what it affords, fee
            included; a sell beyond the available holding is reduced to it) or ``"reject"`` (such an
            order does not fill at all).
        lot_step: quantity step per symbol (a number for all symbols, or one per symbol); fill
            quantities are rounded down to a multiple of it. 0 disables it.
        min_notional: minimum fill notional in quote currency (a number or one per symbol); smaller
            fills are rejected. 0 disables it.
        max_orders: pending limit / stop-loss / take-profit orders per account, in [1, 1024].
        leverage: margin mode: maximum gross exposure / equity, in [1, 125].
        maintenance_margin: margin mode: an account whose equity falls below this fraction of its
            gross exposure at a close is liquidated at that close; in (0, 1).
        borrow_rate: margin mode: annual interest on borrowed cash and on the value of short
            positions, charged every bar pro rata (365-day year); in [0, 10].

    Example:
        >>> from tradeready_gym.engine import FixedBpsSlippage
        >>> cfg = EngineConfig(starting_balance=10_000, fee_rate=0.001, slippage=FixedBpsSlippage(5))
        >>> EngineConfig.from_dict(cfg.to_dict()) == cfg
        True
    """

    starting_balance: float = 10_000.0
    fee_rate: float = 0.001
    fee: FeeModel | None = None
    slippage: SlippageModel = field(default_factory=NoSlippage)
    spread_bps: float = 0.0
    fill: str = "next_open"
    mode: str = "spot"
    on_insufficient: str = "clip"
    lot_step: float | tuple[float, ...] = 0.0
    min_notional: float | tuple[float, ...] = 0.0
    max_orders: int = 16
    leverage: float = 3.0
    maintenance_margin: float = 0.05
    borrow_rate: float = 0.1

    def __post_init__(self) -> None:
        s = object.__setattr__
        s(self, "starting_balance", _num("starting_balance", self.starting_balance, 0.0, 1e15, lo_open=True))
        s(self, "fee_rate", _num("fee_rate", self.fee_rate, 0.0, 0.1))
        if self.fee is not None:
            if not isinstance(self.fee, FeeModel):
                raise ConfigError(
                    f"fee={self.fee!r} is not allowed; allowed: None, PercentageFee(rate), "
                    "MakerTakerFee(maker=, taker=) or FixedFee(amount)"
                )
            rate = self.fee.account_rate()
            if self.fee_rate not in (_DEFAULT_FEE_RATE, rate):
                raise ConfigError(
                    f"fee_rate={self.fee_rate!r} disagrees with fee={self.fee!r}; allowed: one of them "
                    "(fee_rate is the shorthand for fee=PercentageFee(fee_rate))"
                )
            s(self, "fee_rate", rate)
            if isinstance(self.fee, PercentageFee):
                s(self, "fee", None)
        if not isinstance(self.slippage, SlippageModel):
            raise ConfigError(
                f"slippage={self.slippage!r} is not allowed; allowed: NoSlippage(), FixedBpsSlippage(bps), "
                "VolumeParticipationSlippage(...)"
            )
        s(self, "spread_bps", _num("spread_bps", self.spread_bps, 0.0, 1000.0))
        _choice("fill", self.fill, FILL_MODES)
        _choice("mode", self.mode, MODES)
        _choice("on_insufficient", self.on_insufficient, INSUFFICIENT_RULES)
        s(self, "lot_step", _num_or_seq("lot_step", self.lot_step, 0.0, 1e12))
        s(self, "min_notional", _num_or_seq("min_notional", self.min_notional, 0.0, 1e12))
        if (
            isinstance(self.max_orders, bool)
            or not isinstance(self.max_orders, int)
            or not 1 <= self.max_orders <= 1024
        ):
            raise ConfigError(
                f"max_orders={self.max_orders!r} is not allowed; allowed: an integer in [1, 1024]"
            )
        s(self, "leverage", _num("leverage", self.leverage, 1.0, 125.0))
        s(
            self,
            "maintenance_margin",
            _num("maintenance_margin", self.maintenance_margin, 0.0, 1.0, lo_open=True, hi_open=True),
        )
        s(self, "borrow_rate", _num("borrow_rate", self.borrow_rate, 0.0, 10.0))

    def to_dict(self) -> dict[str, Any]:
        """A JSON-friendly dict; `from_dict` rebuilds an equal config."""
        out: dict[str, Any] = {}
        for f in fields(self):
            v = getattr(self, f.name)
            if isinstance(v, SlippageModel | FeeModel):
                v = v.to_dict()
            elif isinstance(v, tuple):
                v = list(v)
            out[f.name] = v
        return out

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> EngineConfig:
        """Rebuild a config from `to_dict` output; unknown keys raise `ConfigError`."""
        if not isinstance(d, dict):
            raise ConfigError(f"config={d!r} is not allowed; allowed: a dict from EngineConfig.to_dict()")
        names = {f.name for f in fields(cls)}
        unknown = sorted(set(d) - names)
        if unknown:
            raise ConfigError(f"unknown EngineConfig keys {unknown}; allowed: {sorted(names)}")
        kw = dict(d)
        if isinstance(kw.get("slippage"), dict):
            kw["slippage"] = slippage_from_dict(kw["slippage"])
        if isinstance(kw.get("fee"), dict):
            kw["fee"] = fee_from_dict(kw["fee"])
        for k in ("lot_step", "min_notional"):
            if isinstance(kw.get(k), list):
                kw[k] = tuple(kw[k])
        return cls(**kw)

    @property
    def fee_model(self) -> FeeModel:
        """The fee model in effect: ``fee``, or ``PercentageFee(fee_rate)``."""
        return PercentageFee(self.fee_rate) if self.fee is None else self.fee

    def per_symbol(self, name: str, n_symbols: int) -> tuple[float, ...]:
        """``lot_step`` or ``min_notional`` expanded to ``n_symbols`` values (checks the length)."""
        v = getattr(self, name)
        if isinstance(v, tuple):
            if len(v) != n_symbols:
                raise ConfigError(
                    f"{name} has {len(v)} values; allowed: one number or exactly {n_symbols} (one per symbol)"
                )
            return v
        return (float(v),) * n_symbols

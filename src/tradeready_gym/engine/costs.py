"""Cost models: fees and slippage as small frozen dataclasses the kernel understands.

A cost model is data, not a Python callback: each model encodes itself into a few numbers
(`FeeModel.encode`, `SlippageModel.encode`) that the compiled kernel evaluates, so swapping a model
never slows the hot path. The spread is `EngineConfig.spread_bps`.

Fees (``EngineConfig(fee=...)``; ``fee_rate=`` is the shorthand for a `PercentageFee`): the fee of
a fill of notional ``n = quantity * price`` is ``n * rate + fixed``, where

* `PercentageFee(rate)`: ``rate`` for every fill, ``fixed = 0`` (default 0.1%);
* `MakerTakerFee(maker=, taker=)`: ``maker`` for limit and take-profit fills (orders resting on
  the book that fill at their level, without spread or slippage), ``taker`` for market, stop-loss
  and liquidation fills, ``fixed = 0``;
* `FixedFee(amount)`: ``rate = 0``, ``fixed = amount`` quote currency per fill.

The percentage / taker rate is kept per account (`Engine.set_fee_rate` changes it); the maker rate
and the fixed amount are shared by all accounts of an engine.

Slippage is a fraction ``slip >= 0`` of the reference price that always works against the trader:
a buy fills at ``ref * (1 + half_spread) * (1 + slip)`` and a sell at
``ref * (1 - half_spread) * (1 - slip)``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, ClassVar

from tradeready_gym.errors import ConfigError
from tradeready_gym.validation import check_number

__all__ = [
    "FeeModel",
    "FixedBpsSlippage",
    "FixedFee",
    "MakerTakerFee",
    "NoSlippage",
    "PercentageFee",
    "SlippageModel",
    "VolumeParticipationSlippage",
    "fee_from_dict",
    "slippage_from_dict",
]

# Kernel codes (see _kernel.py).
SLIP_NONE = 0
SLIP_FIXED = 1
SLIP_VOLUME = 2
FEE_PERCENT = 0
FEE_MAKER_TAKER = 1
FEE_FIXED = 2
#: Largest fee rate (a fraction of notional) a model accepts.
MAX_FEE_RATE = 0.1


def _check_number(name: str, value: object, lo: float, hi: float, *, lo_open: bool = False) -> float:
    return check_number(name, value, lo, hi, lo_open=lo_open)


class SlippageModel:
    """Base class of the slippage models. Subclasses are frozen dataclasses."""

    kind: ClassVar[int] = SLIP_NONE

    def encode(self) -> tuple[int, float, float, float, float]:
        """``(kind, bps, impact, exponent, max_bps)`` as read by the kernel."""
        raise NotImplementedError

    def slip(self, notional: float, quote_volume: float) -> float:
        """The slippage fraction for an order of ``notional`` quote currency (pure Python mirror)."""
        raise NotImplementedError

    def to_dict(self) -> dict[str, Any]:
        """``{"type": class name, **fields}``; inverse of `slippage_from_dict`."""
        return {"type": type(self).__name__, **asdict(self)}  # type: ignore[call-overload]


@dataclass(frozen=True, kw_only=True)
class NoSlippage(SlippageModel):
    """No slippage: fills at the reference price (plus the spread, if any).

    Example:
        >>> NoSlippage().slip(1_000.0, 1e6)
        0.0
    """

    kind: ClassVar[int] = SLIP_NONE

    def encode(self) -> tuple[int, float, float, float, float]:
        return (SLIP_NONE, 0.0, 0.0, 0.0, 0.0)

    def slip(self, notional: float, quote_volume: float) -> float:
        return 0.0


@dataclass(frozen=True)
class FixedBpsSlippage(SlippageModel):
    """A fixed adverse move of ``bps`` basis points on every market and stop fill.

    Args:
        bps: basis points, in [0, 1000].

    Example:
        >>> FixedBpsSlippage(5).slip(1_000.0, 1e6)
        0.0005
    """

    bps: float = 5.0
    kind: ClassVar[int] = SLIP_FIXED

    def __post_init__(self) -> None:
        object.__setattr__(self, "bps", _check_number("bps", self.bps, 0.0, 1000.0))

    def encode(self) -> tuple[int, float, float, float, float]:
        return (SLIP_FIXED, self.bps, 0.0, 0.0, self.bps)

    def slip(self, notional: float, quote_volume: float) -> float:
        return self.bps * 1e-4


@dataclass(frozen=True, kw_only=True)
class VolumeParticipationSlippage(SlippageModel):
    """Market impact that grows with the order's share of the bar's quote volume.

    ``slip = min(max_bps, base_bps + 1e4 * impact * (notional / quote_volume) ** exponent) / 1e4``

    ``quote_volume`` is that of the last *closed* bar (known at decision time), so the price of a
    fill never depends on candles after the decision. A bar with zero quote volume gives ``max_bps``.

    Args:
        impact: impact coefficient (fraction of price at 100% participation), in [0, 10].
        exponent: participation exponent in (0, 2]; 0.5 is the square-root law, 1 linear.
        base_bps: slippage at zero participation, in [0, 1000].
        max_bps: clamp, in [base_bps, 10000].

    Example:
        >>> m = VolumeParticipationSlippage(impact=0.1, exponent=1.0, max_bps=50)
        >>> round(m.slip(10_000.0, 1e6), 10)   # 1% of the volume -> 0.1 * 0.01
        0.001
    """

    impact: float = 0.1
    exponent: float = 0.5
    base_bps: float = 0.0
    max_bps: float = 100.0
    kind: ClassVar[int] = SLIP_VOLUME

    def __post_init__(self) -> None:
        object.__setattr__(self, "impact", _check_number("impact", self.impact, 0.0, 10.0))
        object.__setattr__(self, "exponent", _check_number("exponent", self.exponent, 0.0, 2.0, lo_open=True))
        object.__setattr__(self, "base_bps", _check_number("base_bps", self.base_bps, 0.0, 1000.0))
        object.__setattr__(self, "max_bps", _check_number("max_bps", self.max_bps, self.base_bps, 10000.0))

    def encode(self) -> tuple[int, float, float, float, float]:
        return (SLIP_VOLUME, self.base_bps, self.impact, self.exponent, self.max_bps)

    def slip(self, notional: float, quote_volume: float) -> float:
        if quote_volume <= 0.0:
            return self.max_bps * 1e-4
        bps = self.base_bps + 1e4 * self.impact * (notional / quote_volume) ** self.exponent
        return min(self.max_bps, bps) * 1e-4


_MODELS: dict[str, type[SlippageModel]] = {
    "NoSlippage": NoSlippage,
    "FixedBpsSlippage": FixedBpsSlippage,
    "VolumeParticipationSlippage": VolumeParticipationSlippage,
}


def slippage_from_dict(d: dict[str, Any]) -> SlippageModel:
    """Rebuild a slippage model from `SlippageModel.to_dict` output.

    Example:
        >>> slippage_from_dict({"type": "FixedBpsSlippage", "bps": 3})
        FixedBpsSlippage(bps=3.0)
    """
    if not isinstance(d, dict) or "type" not in d:
        raise ConfigError(f"slippage={d!r} is not allowed; allowed: a dict with a 'type' key")
    kw = {k: v for k, v in d.items() if k != "type"}
    cls = _MODELS.get(str(d["type"]))
    if cls is None:
        raise ConfigError(f"slippage type={d['type']!r} is not allowed; allowed: {', '.join(_MODELS)}")
    try:
        return cls(**kw)
    except TypeError as exc:
        raise ConfigError(f"slippage={d!r} has bad fields: {exc}") from None


class FeeModel:
    """Base class of the fee models. Subclasses are frozen dataclasses.

    The fee of a fill of notional ``n`` is ``n * rate + fixed`` (see the module docstring).
    """

    kind: ClassVar[int] = FEE_PERCENT

    def encode(self) -> tuple[int, float, float, float]:
        """``(kind, taker_rate, maker_rate, fixed)`` as read by the kernel.

        ``taker_rate`` is the per-account rate (the percentage of a `PercentageFee`, 0 for a
        `FixedFee`); ``maker_rate`` only counts for `MakerTakerFee`.
        """
        raise NotImplementedError

    def account_rate(self) -> float:
        """The per-account (percentage / taker) rate: what `EngineConfig.fee_rate` shows."""
        return self.encode()[1]

    def fee(self, notional: float, *, maker: bool = False) -> float:
        """The fee of one fill of ``notional`` quote currency (pure Python mirror of the kernel).

        Args:
            notional: quantity x fill price.
            maker: True for a limit or take-profit fill.
        """
        kind, taker, maker_rate, fixed = self.encode()
        r = maker_rate if (kind == FEE_MAKER_TAKER and maker) else taker
        return notional * r + fixed

    def to_dict(self) -> dict[str, Any]:
        """``{"type": class name, **fields}``; inverse of `fee_from_dict`."""
        return {"type": type(self).__name__, **asdict(self)}  # type: ignore[call-overload]


@dataclass(frozen=True)
class PercentageFee(FeeModel):
    """A percentage of every fill's notional (the default: 0.1%, ``EngineConfig(fee_rate=...)``).

    Args:
        rate: fraction of notional, in [0, 0.1] (0.001 = 0.1%).

    Example:
        >>> PercentageFee(0.001).fee(20_000.0)
        20.0
    """

    rate: float = 0.001
    kind: ClassVar[int] = FEE_PERCENT

    def __post_init__(self) -> None:
        object.__setattr__(self, "rate", _check_number("rate", self.rate, 0.0, MAX_FEE_RATE))

    def encode(self) -> tuple[int, float, float, float]:
        return (FEE_PERCENT, self.rate, 0.0, 0.0)


@dataclass(frozen=True, kw_only=True)
class MakerTakerFee(FeeModel):
    """Separate rates for maker and taker fills.

    Maker fills are **limit and take-profit** fills: orders resting on the book that fill at their
    level (or better, when the bar opens beyond it), without spread or slippage. Taker fills are
    market, stop-loss and liquidation fills.

    Args:
        maker: fraction of notional for maker fills, in [0, 0.1].
        taker: fraction of notional for taker fills, in [0, 0.1] (the per-account rate:
            `Engine.set_fee_rate` changes it).

    Example:
        >>> m = MakerTakerFee(maker=0.0002, taker=0.0005)
        >>> m.fee(10_000.0, maker=True), m.fee(10_000.0)
        (2.0, 5.0)
    """

    maker: float
    taker: float
    kind: ClassVar[int] = FEE_MAKER_TAKER

    def __post_init__(self) -> None:
        object.__setattr__(self, "maker", _check_number("maker", self.maker, 0.0, MAX_FEE_RATE))
        object.__setattr__(self, "taker", _check_number("taker", self.taker, 0.0, MAX_FEE_RATE))

    def encode(self) -> tuple[int, float, float, float]:
        return (FEE_MAKER_TAKER, self.taker, self.maker, 0.0)


@dataclass(frozen=True)
class FixedFee(FeeModel):
    """A fixed amount of quote currency per fill, whatever its size.

    In spot mode a buy is clipped so that the cash pays quantity x price plus this amount, and a
    sell whose proceeds plus the free cash do not cover it is rejected (``n_rejected``): cash never
    goes below zero.

    Args:
        amount: quote currency per fill, in [0, 1e9].

    Example:
        >>> FixedFee(1.5).fee(20_000.0)
        1.5
    """

    amount: float = 1.0
    kind: ClassVar[int] = FEE_FIXED

    def __post_init__(self) -> None:
        object.__setattr__(self, "amount", _check_number("amount", self.amount, 0.0, 1e9))

    def encode(self) -> tuple[int, float, float, float]:
        return (FEE_FIXED, 0.0, 0.0, self.amount)


_FEES: dict[str, type[FeeModel]] = {
    "PercentageFee": PercentageFee,
    "MakerTakerFee": MakerTakerFee,
    "FixedFee": FixedFee,
}


def fee_from_dict(d: dict[str, Any]) -> FeeModel:
    """Rebuild a fee model from `FeeModel.to_dict` output.

    Example:
        >>> fee_from_dict({"type": "MakerTakerFee", "maker": 0.0002, "taker": 0.0004})
        MakerTakerFee(maker=0.0002, taker=0.0004)
    """
    if not isinstance(d, dict) or "type" not in d:
        raise ConfigError(f"fee={d!r} is not allowed; allowed: a dict with a 'type' key")
    kw = {k: v for k, v in d.items() if k != "type"}
    cls = _FEES.get(str(d["type"]))
    if cls is None:
        raise ConfigError(f"fee type={d['type']!r} is not allowed; allowed: {', '.join(_FEES)}")
    try:
        return cls(**kw)
    except TypeError as exc:
        raise ConfigError(f"fee={d!r} has bad fields: {exc}") from None

"""Cost models: slippage as small frozen dataclasses the kernel understands.

A cost model is data, not a Python callback: each model encodes itself into a few numbers
(`SlippageModel.encode`) that the compiled kernel evaluates, so swapping a model never slows the hot
path. Fees are a percentage of the fill notional (`EngineConfig.fee_rate`, per account via
`Engine.set_fee_rate`); the spread is `EngineConfig.spread_bps`.

Slippage is a fraction ``slip >= 0`` of the reference price that always works against the trader:
a buy fills at ``ref * (1 + half_spread) * (1 + slip)`` and a sell at
``ref * (1 - half_spread) * (1 - slip)``.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any, ClassVar

from tradeready_gym.errors import ConfigError

__all__ = [
    "FixedBpsSlippage",
    "NoSlippage",
    "SlippageModel",
    "VolumeParticipationSlippage",
    "slippage_from_dict",
]

# Kernel codes (see _kernel.py).
SLIP_NONE = 0
SLIP_FIXED = 1
SLIP_VOLUME = 2


def _check_number(name: str, value: object, lo: float, hi: float, *, lo_open: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigError(
            f"{name}={value!r} is not allowed; allowed: a number in {'(' if lo_open else '['}{lo}, {hi}]"
        )
    v = float(value)
    ok = math.isfinite(v) and (v > lo if lo_open else v >= lo) and v <= hi
    if not ok:
        raise ConfigError(
            f"{name}={value!r} is not allowed; allowed: a number in {'(' if lo_open else '['}{lo}, {hi}]"
        )
    return v


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

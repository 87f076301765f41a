"""Compiled order rules of the single-asset action schemes (one call for the whole batch)."""

from __future__ import annotations

import numpy as np

from tradeready_gym._jit import inline, kernel

__all__ = ["continuous_env", "continuous_orders", "discrete_env", "discrete_orders"]


@inline
def discrete_env(actions, j, fraction, t, close, equity, cash, qty, out, i):  # type: ignore[no-untyped-def]
    """`discrete_orders` for env ``i``."""
    a = actions[i]
    if a == 1:
        notional = min(fraction * equity[i], cash[i])
        if notional > 0.0:
            out[i, j] = notional / close[t[i], j]
    elif a == 2:
        held = qty[i, j]
        if held > 0.0:
            out[i, j] = -held


@inline
def continuous_env(actions, j, fraction, dead_zone, t, close, equity, cash, qty, out, i):  # type: ignore[no-untyped-def]
    """`continuous_orders` for env ``i``."""
    a = actions[i, 0]
    if abs(a) < dead_zone:
        return
    price = close[t[i], j]
    notional = abs(a) * fraction * equity[i]
    if a > 0.0:
        out[i, j] = min(notional, cash[i]) / price
    else:
        held = max(qty[i, j], 0.0)
        out[i, j] = -min(notional / price, held)


@kernel(nogil=True, nrt=False)
def discrete_orders(
    actions: np.ndarray,
    j: int,
    fraction: float,
    t: np.ndarray,
    close: np.ndarray,
    equity: np.ndarray,
    cash: np.ndarray,
    qty: np.ndarray,
    out: np.ndarray,
) -> None:
    """0 holds; 1 buys ``min(fraction * equity, cash)`` worth at close[t]; 2 sells the whole holding."""
    for i in range(actions.shape[0]):
        discrete_env(actions, j, fraction, t, close, equity, cash, qty, out, i)


@kernel(nogil=True, nrt=False)
def continuous_orders(
    actions: np.ndarray,
    j: int,
    fraction: float,
    dead_zone: float,
    t: np.ndarray,
    close: np.ndarray,
    equity: np.ndarray,
    cash: np.ndarray,
    qty: np.ndarray,
    out: np.ndarray,
) -> None:
    """``|a| < dead_zone`` holds; else trade ``|a| * fraction * equity``: buy (<= cash) or sell (<= holding)."""
    for i in range(actions.shape[0]):
        continuous_env(actions, j, fraction, dead_zone, t, close, equity, cash, qty, out, i)

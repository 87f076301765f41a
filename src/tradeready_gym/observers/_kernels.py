"""Compiled observation kernel: one call fills the observations of every env in a batch."""

from __future__ import annotations

import numpy as np
from numba import prange, uint64

from tradeready_gym._jit import inline, kernel_twins

__all__ = ["SCALAR_CODES", "observe_kernel", "observe_kernel_parallel"]

#: Scalar name -> code read by `observe_kernel`.
SCALAR_CODES: dict[str, int] = {"balance": 0, "position": 1, "unrealized_pnl": 2}


@inline
def _observe_env(rows, flat, dst, lookback, t, cash, equity, qty, close, upnl, inv_start, codes, out, i):
    """Env ``i``'s observation: its window rows, then its account scalars."""
    sf = rows.shape[1]
    width = lookback * sf
    first = t[i] - lookback + 1
    if first >= 0:
        # rows t-lookback+1 .. t are one contiguous run of the C-ordered (T, S*F) matrix: copy it
        # with unsigned flat indices (no negative-index wrap checks, so the copy vectorises)
        src0 = uint64(first * sf)
        dst0 = uint64(i * out.shape[1])
        for k in range(uint64(width)):
            dst[dst0 + k] = flat[src0 + k]
    else:  # not reachable from an env (the clock starts after the warm-up); kept for direct calls
        k = 0
        for r in range(first, t[i] + 1):
            for c in range(sf):
                out[i, k] = rows[r, c]
                k += 1
    e = equity[i]
    inv = 1.0 / e if e > 0.0 else 0.0
    k = width
    for code in codes:
        if code == 0:
            out[i, k] = cash[i] * inv_start
            k += 1
        elif code == 1:
            for j in range(qty.shape[1]):
                out[i, k] = qty[i, j] * close[t[i], j] * inv
                k += 1
        else:
            out[i, k] = upnl[i] * inv
            k += 1


def _observe_all(
    rows: np.ndarray,
    lookback: int,
    t: np.ndarray,
    cash: np.ndarray,
    equity: np.ndarray,
    qty: np.ndarray,
    close: np.ndarray,
    upnl: np.ndarray,
    inv_start: float,
    codes: np.ndarray,
    out: np.ndarray,
) -> None:
    """Write ``rows[t-lookback+1 .. t]`` (flattened) and the account scalars into ``out[i]`` per env.

    ``rows`` is the C-ordered ``(T, S*F)`` feature matrix, ``close`` the ``(T, S)`` closes, ``out``
    C-ordered. Scalars follow ``codes`` (see `SCALAR_CODES`); an account with equity <= 0 gets 0
    for the equity ratios.
    """
    flat = rows.reshape(rows.size)
    dst = out.reshape(out.size)
    for i in prange(t.shape[0]):
        _observe_env(rows, flat, dst, lookback, t, cash, equity, qty, close, upnl, inv_start, codes, out, i)


#: `_observe_all` env by env, and with the envs split over threads (large batches; the same values).
observe_kernel, observe_kernel_parallel = kernel_twins(_observe_all, nrt=False, nogil=True)

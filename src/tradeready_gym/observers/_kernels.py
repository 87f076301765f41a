"""Compiled observation kernel: one call fills the observations of every env in a batch."""

from __future__ import annotations

import numpy as np
from numba import njit, uint64

__all__ = ["SCALAR_CODES", "observe_kernel"]

#: Scalar name -> code read by `observe_kernel`.
SCALAR_CODES: dict[str, int] = {"balance": 0, "position": 1, "unrealized_pnl": 2}


@njit(cache=True, nogil=True)
def observe_kernel(
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

    ``rows`` is the ``(T, S*F)`` feature matrix, ``close`` the ``(T, S)`` closes. Scalars follow
    ``codes`` (see `SCALAR_CODES`); an account with equity <= 0 gets 0 for the equity ratios.
    """
    n = t.shape[0]
    sf = rows.shape[1]
    s = qty.shape[1]
    width = lookback * sf
    # the window rows t-lookback+1 .. t are one contiguous run of the C-ordered (T, S*F) matrix:
    # copy it with unsigned flat indices (no negative-index wrap checks, so the copy vectorises)
    flat = rows.reshape(rows.size)
    dst = out.reshape(out.size)
    d = out.shape[1]
    uwidth = uint64(width)
    for i in range(n):
        first = t[i] - lookback + 1
        if first >= 0:
            src0 = uint64(first * sf)
            dst0 = uint64(i * d)
            for k in range(uwidth):
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
                for j in range(s):
                    out[i, k] = qty[i, j] * close[t[i], j] * inv
                    k += 1
            else:
                out[i, k] = upnl[i] * inv
                k += 1

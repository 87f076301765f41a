"""Compiled info kernels: the numeric info fields of every env of a batch in one pass."""

from __future__ import annotations

import numpy as np
from numba import prange, uint64

from tradeready_gym._jit import inline, kernel_twins
from tradeready_gym.components import total_steps_env

__all__ = ["N_INFO_FLOATS", "N_INFO_INTS", "_batch_numbers", "_batch_numbers_parallel", "_env_numbers"]

#: Rows of the ``floats`` output of `_env_numbers`: equity, cash, position value, unrealized PnL,
#: realized PnL, fees, progress %.
N_INFO_FLOATS = 7
#: Rows of the ``ints`` output: step, total steps, fills of the last step.
N_INFO_INTS = 3


@inline
def _env_numbers(
    equity, cash, posval, upnl, realized, fees, fill_count, t, close, qty, steps, start, end, max_steps,
    floats, ints, prices, positions, i,
):
    """The numeric info fields of env ``i`` (see `_batch_numbers`)."""
    floats[0, i] = equity[i]
    floats[1, i] = cash[i]
    floats[2, i] = posval[i]
    floats[3, i] = upnl[i]
    floats[4, i] = realized[i]
    floats[5, i] = fees[i]
    step = steps[i]
    total = total_steps_env(start, end, max_steps, i)
    floats[6, i] = 100.0 * step / total if total > 0 else 100.0
    ints[0, i] = step
    ints[1, i] = total
    ints[2, i] = int(fill_count[i]) if step > 0 else 0
    for j in range(qty.shape[1]):
        prices[i, j] = close[t[i], j]
        positions[i, j] = qty[i, j]


@inline
def _env_iso(t, src, dst, width, i):
    """Row ``t[i]`` of the feed's ISO strings (``width`` UCS-4 code units a row, ``src`` flat) into
    row ``i`` of the flat ``dst``: unsigned flat indices (no negative-index wrap checks), so the
    copy vectorises (about three times faster than indexing the rows)."""
    s0 = uint64(t[i] * width)
    d0 = uint64(i * width)
    for k in range(uint64(width)):
        dst[d0 + k] = src[s0 + k]


def _numbers_all(
    equity: np.ndarray,
    cash: np.ndarray,
    posval: np.ndarray,
    upnl: np.ndarray,
    realized: np.ndarray,
    fees: np.ndarray,
    fill_count: np.ndarray,
    t: np.ndarray,
    close: np.ndarray,
    qty: np.ndarray,
    steps: np.ndarray,
    start: np.ndarray,
    end: np.ndarray,
    max_steps: np.ndarray,
    floats: np.ndarray,
    ints: np.ndarray,
    prices: np.ndarray,
    positions: np.ndarray,
    iso_rows: np.ndarray,
    iso_out: np.ndarray,
) -> None:
    """One pass over the batch: the numeric info fields and the decision time of every env.

    ``floats`` (7, N): equity, cash, position value, unrealized PnL, realized PnL, fees, progress %;
    ``ints`` (3, N): step, total steps, fills of the last step; ``prices`` / ``positions`` (N, S);
    ``iso_out`` (N, K) uint32: row ``t`` of ``iso_rows`` (the feed's ISO strings as K UCS-4 code
    units per bar) for each env's clock ``t``.
    """
    width = iso_rows.shape[1]
    src = iso_rows.reshape(iso_rows.size)
    dst = iso_out.reshape(iso_out.size)
    for i in prange(t.shape[0]):
        _env_numbers(
            equity, cash, posval, upnl, realized, fees, fill_count, t, close, qty, steps, start, end, max_steps,
            floats, ints, prices, positions, i,
        )
        _env_iso(t, src, dst, width, i)


#: `_numbers_all` env by env, and with the envs split over threads (large batches; the same values).
_batch_numbers, _batch_numbers_parallel = kernel_twins(_numbers_all, nrt=False, nogil=True)

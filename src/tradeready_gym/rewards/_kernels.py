"""numba kernels of the rolling-ratio rewards: one call updates every env's window in place."""

from __future__ import annotations

import numpy as np

from tradeready_gym._jit import inline, kernel

__all__ = ["drawdown_penalty_step", "pnl_env", "pnl_step", "rolling_ratio_step"]

SHARPE = 0
SORTINO = 1


@inline
def pnl_env(prev_equity: np.ndarray, curr_equity: np.ndarray, out: np.ndarray, i: int) -> None:
    """`pnl_step` for env ``i``."""
    out[i] = curr_equity[i] - prev_equity[i]


@kernel(nogil=True, nrt=False)
def pnl_step(prev_equity: np.ndarray, curr_equity: np.ndarray, out: np.ndarray) -> None:
    """``out[i] = E_t - E_{t-1}``: the equity change of the step (`PnLReward`)."""
    for i in range(out.shape[0]):
        pnl_env(prev_equity, curr_equity, out, i)


@kernel
def rolling_ratio_step(
    buf: np.ndarray,
    count: np.ndarray,
    pos: np.ndarray,
    prev_ratio: np.ndarray,
    prev_equity: np.ndarray,
    curr_equity: np.ndarray,
    kind: int,
    zero_dev: float,
) -> np.ndarray:
    """Push each env's simple return into its window, return ``ratio_t - ratio_{t-1}`` per env.

    ``buf`` (N, W) ring buffers, ``count`` / ``pos`` (N,) fill level and next slot, ``prev_ratio``
    (N,) the previous ratio; all updated in place. ``kind`` 0: mean / sample std (ddof 1);
    1: mean / sqrt(mean(min(r, 0)^2)). The ratio is 0 with fewer than 2 returns or a deviation
    ``<= zero_dev``.
    """
    n, w = buf.shape
    out = np.empty(n)
    for i in range(n):
        p = prev_equity[i]
        r = curr_equity[i] / p - 1.0 if p > 0 else 0.0
        buf[i, pos[i]] = r
        pos[i] = (pos[i] + 1) % w
        if count[i] < w:
            count[i] += 1
        c = count[i]
        ratio = 0.0
        if c >= 2:
            s = 0.0
            for k in range(c):
                s += buf[i, k]
            m = s / c
            acc = 0.0
            if kind == SHARPE:
                for k in range(c):
                    d = buf[i, k] - m
                    acc += d * d
                dev = np.sqrt(acc / (c - 1))
            else:
                for k in range(c):
                    x = buf[i, k]
                    if x < 0.0:
                        acc += x * x
                dev = np.sqrt(acc / c)
            if dev > zero_dev:
                ratio = m / dev
        out[i] = ratio - prev_ratio[i]
        prev_ratio[i] = ratio
    return out


@kernel
def drawdown_penalty_step(
    peak: np.ndarray, prev_equity: np.ndarray, curr_equity: np.ndarray, coeff: float
) -> np.ndarray:
    """``r_t - coeff * (1 - E_t / P_t)`` per env; ``peak`` (N,) updated in place (NaN: episode start)."""
    n = peak.shape[0]
    out = np.empty(n)
    for i in range(n):
        p = prev_equity[i]
        c = curr_equity[i]
        pk = p if np.isnan(peak[i]) else peak[i]
        if c > pk:
            pk = c
        peak[i] = pk
        dd = 1.0 - c / pk if pk > 0 else 0.0
        r = c / p - 1.0 if p > 0 else 0.0
        out[i] = r - coeff * dd
    return out

"""Causal technical indicators over one price series, compiled with numba.

Every function takes 1-D float64 arrays (one symbol, oldest bar first) and returns float64 arrays of
the same length. Each output row ``t`` is computed by a single forward loop that reads bars ``<= t``
only, so the value at ``t`` is bit-for-bit identical whatever comes after ``t``. Rows before an
indicator's warm-up index are NaN.

The smoothing follows J. Welles Wilder's textbook definitions (RSI, ATR, ADX): the first average is
the simple mean of the first ``period`` values, later ones use ``avg_t = (avg_{t-1} * (period - 1) +
x_t) / period``. The MACD EMAs are seeded with the simple mean of their first ``span`` inputs, then
``ema_t = ema_{t-1} + alpha * (x_t - ema_{t-1})`` with ``alpha = 2 / (span + 1)``.
"""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = [
    "adx",
    "atr",
    "bollinger",
    "ema_sma_seeded",
    "log_returns",
    "macd",
    "rolling_mean",
    "rsi",
    "true_range",
]


@njit(cache=True)
def log_returns(close: np.ndarray) -> np.ndarray:
    """``ln(close_t / close_{t-1})``; row 0 is NaN."""
    n = close.shape[0]
    out = np.full(n, np.nan)
    for t in range(1, n):
        out[t] = np.log(close[t] / close[t - 1])
    return out


@njit(cache=True)
def rolling_mean(x: np.ndarray, window: int) -> np.ndarray:
    """Mean of the ``window`` values ending at ``t`` (inclusive); NaN for ``t < window - 1``."""
    n = x.shape[0]
    out = np.full(n, np.nan)
    for t in range(window - 1, n):
        s = 0.0
        for k in range(t - window + 1, t + 1):
            s += x[k]
        out[t] = s / window
    return out


@njit(cache=True)
def ema_sma_seeded(x: np.ndarray, span: int, first: int) -> np.ndarray:
    """EMA of ``x[first:]`` seeded with the mean of its first ``span`` values.

    The first defined row is ``first + span - 1``; ``x`` before ``first`` is ignored (it may be NaN).
    """
    n = x.shape[0]
    out = np.full(n, np.nan)
    seed_at = first + span - 1
    if seed_at >= n:
        return out
    s = 0.0
    for k in range(first, seed_at + 1):
        s += x[k]
    e = s / span
    out[seed_at] = e
    alpha = 2.0 / (span + 1.0)
    for t in range(seed_at + 1, n):
        e = e + alpha * (x[t] - e)
        out[t] = e
    return out


@njit(cache=True)
def rsi(close: np.ndarray, period: int) -> np.ndarray:
    """Wilder's RSI scaled to [0, 1]: ``avg_gain / (avg_gain + avg_loss)``; first row ``period``.

    0.5 when both averages are zero (a flat window).
    """
    n = close.shape[0]
    out = np.full(n, np.nan)
    if n <= period:
        return out
    g = 0.0
    lo = 0.0
    for t in range(1, period + 1):
        d = close[t] - close[t - 1]
        if d > 0:
            g += d
        else:
            lo -= d
    g /= period
    lo /= period
    for t in range(period, n):
        if t > period:
            d = close[t] - close[t - 1]
            gain = d if d > 0 else 0.0
            loss = -d if d < 0 else 0.0
            g = (g * (period - 1) + gain) / period
            lo = (lo * (period - 1) + loss) / period
        tot = g + lo
        out[t] = 0.5 if tot <= 0.0 else g / tot
    return out


@njit(cache=True)
def macd(close: np.ndarray, fast: int, slow: int, signal: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """MACD line (EMA_fast - EMA_slow), its signal EMA and the histogram, in price units.

    The MACD line is defined from row ``slow - 1``; signal and histogram from ``slow + signal - 2``.
    """
    ef = ema_sma_seeded(close, fast, 0)
    es = ema_sma_seeded(close, slow, 0)
    line = ef - es
    sig = ema_sma_seeded(line, signal, slow - 1)
    return line, sig, line - sig


@njit(cache=True)
def bollinger(close: np.ndarray, window: int, k: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Middle band (SMA), upper and lower band (SMA +/- k x population std) over ``window`` bars."""
    n = close.shape[0]
    mid = np.full(n, np.nan)
    up = np.full(n, np.nan)
    low = np.full(n, np.nan)
    for t in range(window - 1, n):
        s = 0.0
        for j in range(t - window + 1, t + 1):
            s += close[j]
        m = s / window
        v = 0.0
        for j in range(t - window + 1, t + 1):
            v += (close[j] - m) ** 2
        sd = np.sqrt(v / window)
        mid[t] = m
        up[t] = m + k * sd
        low[t] = m - k * sd
    return mid, up, low


@njit(cache=True)
def true_range(high: np.ndarray, low: np.ndarray, close: np.ndarray) -> np.ndarray:
    """``max(h - l, |h - c_{t-1}|, |l - c_{t-1}|)``; row 0 is NaN (no previous close)."""
    n = close.shape[0]
    out = np.full(n, np.nan)
    for t in range(1, n):
        pc = close[t - 1]
        out[t] = max(high[t] - low[t], abs(high[t] - pc), abs(low[t] - pc))
    return out


@njit(cache=True)
def atr(high: np.ndarray, low: np.ndarray, close: np.ndarray, period: int) -> np.ndarray:
    """Wilder's average true range over true ranges 1..; first row ``period``, in price units."""
    n = close.shape[0]
    out = np.full(n, np.nan)
    if n <= period:
        return out
    tr = true_range(high, low, close)
    a = 0.0
    for t in range(1, period + 1):
        a += tr[t]
    a /= period
    out[period] = a
    for t in range(period + 1, n):
        a = (a * (period - 1) + tr[t]) / period
        out[t] = a
    return out


@njit(cache=True)
def adx(high: np.ndarray, low: np.ndarray, close: np.ndarray, period: int) -> np.ndarray:
    """Wilder's average directional index scaled to [0, 1]; first row ``2 * period - 1``.

    ``+DM_t = h_t - h_{t-1}`` when that exceeds ``l_{t-1} - l_t`` and is positive, else 0 (``-DM``
    mirrored). TR, +DM and -DM are Wilder-smoothed (first value: sum of ``period`` values from bar 1;
    then ``S_t = S_{t-1} - S_{t-1} / period + x_t``), ``+DI = +DM_s / TR_s``, ``-DI = -DM_s / TR_s``,
    ``DX = |+DI - -DI| / (+DI + -DI)`` (0 when the sum is 0), and ADX is the mean of the first
    ``period`` DX values, then Wilder-averaged.
    """
    n = close.shape[0]
    out = np.full(n, np.nan)
    if n < 2 * period:
        return out
    tr = true_range(high, low, close)
    pdm = np.zeros(n)
    mdm = np.zeros(n)
    for t in range(1, n):
        up = high[t] - high[t - 1]
        dn = low[t - 1] - low[t]
        if up > dn and up > 0:
            pdm[t] = up
        if dn > up and dn > 0:
            mdm[t] = dn
    s_tr = 0.0
    s_p = 0.0
    s_m = 0.0
    for t in range(1, period + 1):
        s_tr += tr[t]
        s_p += pdm[t]
        s_m += mdm[t]
    dx = np.full(n, np.nan)
    for t in range(period, n):
        if t > period:
            s_tr = s_tr - s_tr / period + tr[t]
            s_p = s_p - s_p / period + pdm[t]
            s_m = s_m - s_m / period + mdm[t]
        if s_tr > 0.0:
            pdi = s_p / s_tr
            mdi = s_m / s_tr
        else:
            pdi = 0.0
            mdi = 0.0
        tot = pdi + mdi
        dx[t] = 0.0 if tot <= 0.0 else abs(pdi - mdi) / tot
    first = 2 * period - 1
    a = 0.0
    for t in range(period, first + 1):
        a += dx[t]
    a /= period
    out[first] = a
    for t in range(first + 1, n):
        a = (a * (period - 1) + dx[t]) / period
        out[t] = a
    return out

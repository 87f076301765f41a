"""Server-side downsampling of chart series.

Every series the dashboard API returns has at most ``max_points`` points (default
:data:`MAX_POINTS` = 2,000). The method is Largest-Triangle-Three-Buckets (Steinarsson, 2013): the
first and the last point are always kept, and in each bucket between them the point that spans the
largest triangle with its neighbours' choices is kept, so spikes and the shape of the curve survive.
Points whose ``y`` is missing (``None``/NaN/inf) are dropped before downsampling when the series is too
long (a chart draws no point for them anyway); a short series is returned unchanged.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from tradeready_gym.errors import ConfigError

__all__ = ["MAX_POINTS", "lttb", "lttb_indices"]

MAX_POINTS = 2000
"""Default cap of points per series."""


def lttb_indices(x: np.ndarray, y: np.ndarray, threshold: int) -> np.ndarray:
    """Indices of the points LTTB keeps (sorted, first and last included).

    Args:
        x: Increasing x values, float64.
        y: Finite y values, float64, same length.
        threshold: Maximum number of points, at least 3.

    Returns:
        An int64 array of indices into ``x``.
    """
    n = len(x)
    if n <= threshold:
        return np.arange(n, dtype=np.int64)
    if threshold < 3:
        raise ConfigError(f"max_points={threshold!r} is invalid: allowed is an integer >= 3")
    out = np.empty(threshold, dtype=np.int64)
    out[0] = 0
    out[-1] = n - 1
    # bucket edges over the inner points 1..n-2
    edges = np.linspace(1, n - 1, threshold - 1).astype(np.int64)
    a = 0
    for i in range(threshold - 2):
        lo, hi = edges[i], max(edges[i + 1], edges[i] + 1)
        if i + 2 < threshold - 1:
            nlo, nhi = edges[i + 1], max(edges[i + 2], edges[i + 1] + 1)
            cx, cy = float(x[nlo:nhi].mean()), float(y[nlo:nhi].mean())
        else:
            cx, cy = float(x[n - 1]), float(y[n - 1])
        ax, ay = float(x[a]), float(y[a])
        area = np.abs((ax - cx) * (y[lo:hi] - ay) - (ax - x[lo:hi]) * (cy - ay))
        a = lo + int(np.argmax(area))
        out[i + 1] = a
    return out


def lttb(
    x: Sequence[float] | np.ndarray,
    y: Sequence[float | None] | np.ndarray,
    max_points: int = MAX_POINTS,
) -> tuple[list[float], list[float | None]]:
    """Downsample one series to at most ``max_points`` points, keeping the first and last point.

    Args:
        x: X values in increasing order.
        y: Y values; ``None``/NaN/inf mark missing points.
        max_points: Cap of points, at least 3.

    Returns:
        ``(x, y)`` as plain lists; missing y values are ``None``.

    Raises:
        ConfigError: If ``max_points`` is below 3 or the lengths differ.
    """
    if isinstance(max_points, bool) or not isinstance(max_points, int) or max_points < 3:
        raise ConfigError(f"max_points={max_points!r} is invalid: allowed is an integer >= 3")
    xs = np.asarray(x, dtype=np.float64)
    ys = np.asarray([math.nan if v is None else v for v in y], dtype=np.float64)
    if xs.shape != ys.shape:
        raise ConfigError(f"x and y lengths differ ({len(xs)} != {len(ys)}): allowed are equal lengths")
    if len(xs) <= max_points:
        return xs.tolist(), [float(v) if math.isfinite(v) else None for v in ys.tolist()]
    ok = np.isfinite(ys)
    if not ok.all():
        xs, ys = xs[ok], ys[ok]
        if len(xs) <= max_points:
            return xs.tolist(), ys.tolist()
    idx = lttb_indices(xs, ys, max_points)
    return xs[idx].tolist(), ys[idx].tolist()

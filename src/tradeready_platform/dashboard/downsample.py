"""Server-side downsampling of chart series.

Every series the dashboard API returns has at most ``max_points`` points (default
:data:`MAX_POINTS` = 2,000). The method is min/max buckets: the first and the last point are always
kept, and the points between them are cut into ``(max_points - 2) // 2`` buckets of consecutive points
(equal counts, +-1), of which each keeps its lowest and its highest point, in x order. Every kept point
is a real point of the series, so the drawn envelope (spikes, drawdowns, the best and worst episode)
is exact; it runs in one vectorised pass (a 100,000-point series takes a few milliseconds).
Points whose ``y`` is missing (``None``/NaN/inf) are dropped before downsampling when the series is too
long (a chart draws no point for them anyway); a short series is returned unchanged.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from tradeready_gym.errors import ConfigError

__all__ = ["MAX_POINTS", "downsample", "minmax_indices"]

MAX_POINTS = 2000
"""Default cap of points per series."""


def minmax_indices(y: np.ndarray, max_points: int) -> np.ndarray:
    """Sorted indices of the points kept from ``y`` (finite float64): first, last, and each bucket's min/max.

    Args:
        y: The series' y values (all finite).
        max_points: Cap, at least 4.

    Returns:
        An int64 array of at most ``max_points`` increasing indices.
    """
    n = len(y)
    if n <= max_points:
        return np.arange(n, dtype=np.int64)
    if max_points < 4:
        raise ConfigError(f"max_points={max_points!r} is invalid: allowed is an integer >= 4")
    nb = (max_points - 2) // 2
    inner = n - 2
    bucket = (np.arange(inner, dtype=np.int64) * nb) // inner  # 0..nb-1, equal counts +-1
    order = np.lexsort((y[1:-1], bucket))  # by bucket, then by y
    starts = np.searchsorted(bucket[order], np.arange(nb), side="left")
    ends = np.searchsorted(bucket[order], np.arange(nb), side="right") - 1
    keep = np.concatenate(([0], order[starts] + 1, order[ends] + 1, [n - 1]))
    return np.unique(keep)


def downsample(
    x: Sequence[float] | np.ndarray,
    y: Sequence[float | None] | np.ndarray,
    max_points: int = MAX_POINTS,
) -> tuple[list[float], list[float | None]]:
    """Downsample one series to at most ``max_points`` points, keeping the first and the last point.

    Args:
        x: X values in increasing order.
        y: Y values; ``None``/NaN/inf mark missing points.
        max_points: Cap of points, at least 4.

    Returns:
        ``(x, y)`` as plain lists; missing y values are ``None``.

    Raises:
        ConfigError: If ``max_points`` is below 4 or the lengths differ.

    Example:
        >>> xs, ys = downsample(range(10_000), [float(i % 7) for i in range(10_000)], 100)
        >>> len(xs) <= 100, xs[0], xs[-1]
        (True, 0.0, 9999.0)
    """
    if isinstance(max_points, bool) or not isinstance(max_points, int) or max_points < 4:
        raise ConfigError(f"max_points={max_points!r} is invalid: allowed is an integer >= 4")
    xs = np.asarray(x, dtype=np.float64)
    if isinstance(y, np.ndarray):
        ys = y.astype(np.float64, copy=False)
    else:
        ys = np.fromiter((math.nan if v is None else v for v in y), dtype=np.float64, count=len(y))
    if xs.shape != ys.shape:
        raise ConfigError(f"x and y lengths differ ({len(xs)} != {len(ys)}): allowed are equal lengths")
    if len(xs) <= max_points:
        return xs.tolist(), [v if math.isfinite(v) else None for v in ys.tolist()]
    ok = np.isfinite(ys)
    if not ok.all():
        xs, ys = xs[ok], ys[ok]
        if len(xs) <= max_points:
            return xs.tolist(), ys.tolist()
    idx = minmax_indices(ys, max_points)
    return xs[idx].tolist(), ys[idx].tolist()

"""Min/max-bucket downsampling: the cap holds, first and last point are kept, extremes survive."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tradeready_gym.errors import ConfigError
from tradeready_platform.dashboard.downsample import MAX_POINTS, downsample, minmax_indices


def test_short_series_unchanged_with_missing_as_none():
    x, y = downsample([1, 2, 3], [1.0, math.nan, None])
    assert x == [1.0, 2.0, 3.0]
    assert y == [1.0, None, None]


@pytest.mark.parametrize("n", [2001, 5000, 100_000])
def test_cap_first_last_and_order(n):
    rng = np.random.default_rng(n)
    xs = np.arange(1, n + 1, dtype=float)
    ys = np.cumsum(rng.normal(size=n))
    x, y = downsample(xs, ys)
    assert len(x) == len(y) == MAX_POINTS
    assert x[0] == 1.0 and x[-1] == float(n)
    assert y[-1] == ys[-1]
    assert np.all(np.diff(x) > 0)
    # every kept point is a real point of the series
    idx = np.asarray(x, dtype=int) - 1
    assert np.array_equal(ys[idx], np.asarray(y))


def test_spike_survives():
    n = 50_000
    ys = np.zeros(n)
    ys[12_345] = 100.0
    ys[40_000] = -50.0
    x, y = downsample(np.arange(n, dtype=float), ys, 500)
    assert 100.0 in y and -50.0 in y
    assert len(x) == 500


def test_missing_points_dropped_when_too_long():
    n = 3000
    ys = np.arange(n, dtype=float)
    ys[::10] = np.nan
    x, y = downsample(np.arange(n, dtype=float), ys, 1000)
    assert len(x) == 1000
    assert all(v is not None and math.isfinite(v) for v in y)
    assert x[-1] == n - 1


def test_bad_input():
    with pytest.raises(ConfigError, match="max_points=3"):
        downsample([1, 2, 3], [1, 2, 3], 3)
    with pytest.raises(ConfigError, match="lengths differ"):
        downsample([1, 2, 3], [1, 2], 10)


def test_every_bucket_keeps_its_min_and_max():
    rng = np.random.default_rng(3)
    n, cap = 10_000, 202
    ys = rng.normal(size=n)
    idx = minmax_indices(ys, cap)
    assert len(idx) <= cap and idx[0] == 0 and idx[-1] == n - 1
    nb = (cap - 2) // 2
    bucket = (np.arange(n - 2) * nb) // (n - 2)
    for b in (0, 17, nb - 1):
        members = np.flatnonzero(bucket == b) + 1
        assert members[np.argmin(ys[members])] in idx
        assert members[np.argmax(ys[members])] in idx
    # the global extremes are always drawn
    assert int(np.argmax(ys)) in idx and int(np.argmin(ys)) in idx

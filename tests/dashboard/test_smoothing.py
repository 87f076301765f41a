"""Smoothers against hand-computed golden numbers (the browser test checks the JS port against the same)."""

from __future__ import annotations

import math

import pytest

from tradeready_gym.errors import ConfigError
from tradeready_platform.dashboard.smoothing import DEFAULT_EMA_WEIGHT, ema_debiased, rolling_mean, smooth

from .golden import EMA_06, ROLL_2, ROLL_3, ROLL_3_IN, VALUES


def _close(a, b):
    assert len(a) == len(b)
    for x, y in zip(a, b, strict=True):
        if y is None:
            assert x is None
        else:
            assert x == pytest.approx(y, rel=1e-14, abs=1e-14)


def test_default_weight_is_tensorboards():
    assert DEFAULT_EMA_WEIGHT == 0.6


def test_ema_golden():
    _close(ema_debiased(VALUES), EMA_06)
    _close(smooth(VALUES, "ema", 0.6), EMA_06)


def test_ema_first_point_is_not_pulled_to_zero_and_weight_zero_is_raw():
    assert ema_debiased([5.0, 7.0], 0.9)[0] == pytest.approx(5.0)
    assert ema_debiased([5.0, 7.0, 1.0], 0.0) == [5.0, 7.0, 1.0]


def test_ema_constant_series_unchanged_and_nan_passthrough():
    assert ema_debiased([2.5, 2.5, 2.5]) == [2.5, 2.5, 2.5]
    out = ema_debiased([math.nan, 1.0, 3.0])
    assert math.isnan(out[0])
    assert out[1] == pytest.approx(1.0)


def test_rolling_golden():
    _close(rolling_mean(VALUES, 2), ROLL_2)
    _close(rolling_mean(ROLL_3_IN, 3), ROLL_3)
    _close(smooth(ROLL_3_IN, "rolling", 3), ROLL_3)
    assert smooth([1.0, None], "none") == [1.0, None]


@pytest.mark.parametrize("weight", [-0.1, 1.0, 1.5, math.nan])
def test_bad_weight(weight):
    with pytest.raises(ConfigError, match="weight"):
        ema_debiased([1.0], weight)


@pytest.mark.parametrize("window", [0, -1, 2.5, True])
def test_bad_window(window):
    with pytest.raises(ConfigError, match="window"):
        rolling_mean([1.0], window)


def test_unknown_method():
    with pytest.raises(ConfigError, match="method='median'"):
        smooth([1.0], "median", 3)

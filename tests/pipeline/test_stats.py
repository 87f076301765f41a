"""Honest-evaluation statistics: cross-checked against quantstats and the papers' own numbers."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from conftest import rest_market
from tradeready_gym.errors import ConfigError
from tradeready_gym.pipeline import stats as S
from tradeready_gym.timeframes import periods_per_year, timeframe_ns


@pytest.fixture(scope="module")
def btc_equity():
    """Buy-and-hold equity of real BTCUSDT 1h closes, 2024-01 .. 2024-04, and a noisy variant."""
    m = rest_market("BTCUSDT", "1h", "2024-01-01", "2024-04-01")
    close = m.close[:, 0]
    rng = np.random.default_rng(7)
    noisy = 10_000 * np.cumprod(np.r_[1.0, 1.0 + 0.5 * (close[1:] / close[:-1] - 1) + rng.normal(0, 1e-3, close.size - 1)])
    return 10_000 * close / close[0], noisy, m.open_time


@pytest.mark.parametrize("which", [0, 1])
@pytest.mark.parametrize("tf", ["1h", "4h", "1d"])
def test_metrics_match_quantstats(btc_equity, which, tf):
    qs = pytest.importorskip("quantstats")
    eq = btc_equity[which]
    ppy = periods_per_year(timeframe_ns(tf))
    # the same curve read as bars of another size: only the annualisation changes
    idx = pd.date_range("2024-01-01", periods=eq.size - 1, freq={"1h": "h", "4h": "4h", "1d": "D"}[tf], tz="UTC")
    rets = pd.Series(eq[1:] / eq[:-1] - 1.0, index=idx)
    ours = S.annualized_metrics(eq, interval_ns=timeframe_ns(tf))
    p = round(ppy)
    assert ppy == p  # 8760, 2190, 365: whole bars per 365-day year
    assert ours["periods_per_year"] == p
    assert ours["sharpe"] == pytest.approx(qs.stats.sharpe(rets, periods=p), rel=1e-9)
    assert ours["sortino"] == pytest.approx(qs.stats.sortino(rets, periods=p), rel=1e-9)
    assert ours["volatility_pct"] / 100 == pytest.approx(qs.stats.volatility(rets, periods=p), rel=1e-9)
    assert ours["cagr_pct"] / 100 == pytest.approx(qs.stats.cagr(rets, periods=p), rel=1e-9)
    prices = pd.Series(eq[1:], index=idx)
    assert ours["max_drawdown_pct"] / 100 == pytest.approx(
        qs.stats.max_drawdown(pd.concat([pd.Series([eq[0]], index=[idx[0] - idx.freq]), prices])), rel=1e-9
    )
    assert ours["total_return_pct"] == pytest.approx(100 * (eq[-1] / eq[0] - 1), rel=1e-12)


def test_metrics_match_engine_metrics(btc_1h):
    """The env's own running metrics and the pipeline's, on the same equity curve, agree."""
    import gymnasium as gym

    import tradeready_gym  # noqa: F401

    env = gym.make("TradeReady-BTC-v0", data=btc_1h, start_time="2024-02-01", end_time="2024-03-01",
                   track_training=False)
    _, info = env.reset(seed=0)
    rng = np.random.default_rng(0)
    eq = [info["equity"]]
    done = False
    while not done:
        _, _, te, tr, info = env.step(int(rng.integers(0, 3)))
        eq.append(info["equity"])
        done = te or tr
    m = env.unwrapped.metrics()
    ours = S.annualized_metrics(np.asarray(eq, dtype=float), interval_ns=timeframe_ns("1h"))
    assert ours["sharpe"] == pytest.approx(m.sharpe, rel=1e-6)
    assert ours["sortino"] == pytest.approx(m.sortino, rel=1e-6)
    assert ours["max_drawdown_pct"] == pytest.approx(m.max_drawdown_pct, rel=1e-6)
    assert ours["total_return_pct"] == pytest.approx(m.roi_pct, rel=1e-9, abs=1e-9)


def test_dsr_golden_value_of_the_paper():
    """Bailey & López de Prado (2014), section 5: N=100 trials, V[SR]=1/2 annualised, SR=2.5 annualised,
    T=1250 daily returns, skewness -3, kurtosis 10: SR0 ~ 0.1132 per day and DSR ~ 0.9004."""
    # by hand, step by step
    g = 0.5772156649015329
    nd = __import__("statistics").NormalDist()
    sd = math.sqrt(0.5 / 250)
    z = (1 - g) * nd.inv_cdf(1 - 1 / 100) + g * nd.inv_cdf(1 - 1 / (100 * math.e))
    sr0_hand = sd * z
    sr = 2.5 / math.sqrt(250)
    dsr_hand = nd.cdf((sr - sr0_hand) * math.sqrt(1249) / math.sqrt(1 + 3 * sr + 9 / 4 * sr**2))
    assert sr0_hand == pytest.approx(0.1132, abs=5e-5)
    assert dsr_hand == pytest.approx(0.9004, abs=1e-3)
    # the library
    sr0 = S.expected_max_sharpe(100, 0.5 / 250)
    assert sr0 == pytest.approx(sr0_hand, rel=1e-12)
    assert S.psr_from_moments(sr, sr0, -3.0, 10.0, 1250) == pytest.approx(dsr_hand, rel=1e-12)


def test_psr_and_dsr_on_returns():
    rng = np.random.default_rng(1)
    r = rng.normal(0.001, 0.01, 2000)
    mu, sd1, sd0 = r.mean(), r.std(ddof=1), r.std()
    sr = mu / sd1
    z = (r - mu) / sd0
    skew, kurt = np.mean(z**3), np.mean(z**4)
    hand = __import__("statistics").NormalDist().cdf(sr * math.sqrt(1999) / math.sqrt(1 - skew * sr + (kurt - 1) / 4 * sr**2))
    assert S.probabilistic_sharpe_ratio(r) == pytest.approx(hand, rel=1e-12)
    one = S.deflated_sharpe_ratio(r, 1)
    assert one["dsr"] == pytest.approx(hand, rel=1e-12) and one["sr0"] == 0.0
    many = S.deflated_sharpe_ratio(r, 50)
    assert many["dsr"] < one["dsr"]  # more trials: a higher bar
    assert many["variance"] == pytest.approx((1 - skew * sr + (kurt - 1) / 4 * sr**2) / 1999, rel=1e-12)
    trials = S.deflated_sharpe_ratio(r, 50, trial_sharpes=[0.01, 0.05, -0.02])
    assert trials["trials_variance"] == 1.0
    assert trials["variance"] == pytest.approx(np.var([0.01, 0.05, -0.02], ddof=1))
    with pytest.raises(ConfigError, match="n_trials"):
        S.deflated_sharpe_ratio(r, 0)


def test_stationary_bootstrap_indices_are_blocks():
    rng = np.random.default_rng(0)
    idx = S.stationary_bootstrap_indices(500, 200, 10.0, rng)
    assert idx.shape == (200, 500) and idx.min() >= 0 and idx.max() < 500
    cont = np.mean((idx[:, 1:] - idx[:, :-1]) % 500 == 1)
    assert 0.85 < cont < 0.95  # a new block starts with probability 1/10
    rng1 = np.random.default_rng(0)
    one = S.stationary_bootstrap_indices(500, 200, 1.0, rng1)
    assert np.mean((one[:, 1:] - one[:, :-1]) % 500 == 1) < 0.02  # iid resampling


def test_bootstrap_sharpe_difference(btc_equity):
    eq = btc_equity[0]
    bh = eq[1:] / eq[:-1] - 1
    ppy = periods_per_year(timeframe_ns("1h"))
    same = S.bootstrap_sharpe_difference(bh, bh, ppy=ppy, n_boot=300, seed=0)
    assert same["diff"] == 0 and same["low"] == 0 and same["high"] == 0
    flat = np.zeros_like(bh)
    res = S.bootstrap_sharpe_difference(flat, bh, ppy=ppy, n_boot=500, seed=3)
    assert res == S.bootstrap_sharpe_difference(flat, bh, ppy=ppy, n_boot=500, seed=3)  # seeded
    assert res["diff"] == pytest.approx(-S.sharpe_ratio(bh, ppy))
    assert res["low"] < res["diff"] < res["high"]
    assert res["mean_block"] == round(bh.size ** (1 / 3))
    with pytest.raises(ConfigError, match="same bars"):
        S.bootstrap_sharpe_difference(flat[:-1], bh, ppy=ppy)


def test_percentile_of():
    assert S.percentile_of(5.0, [1, 2, 3, 4]) == 100.0
    assert S.percentile_of(0.0, [1, 2, 3, 4]) == 0.0
    assert S.percentile_of(2.0, [1, 2, 3, 4]) == pytest.approx(37.5)
    assert math.isnan(S.percentile_of(1.0, [math.nan]))


def test_bad_curves():
    with pytest.raises(ConfigError, match="equity"):
        S.annualized_metrics([1.0], interval_ns=timeframe_ns("1h"))
    with pytest.raises(ConfigError, match="equity"):
        S.annualized_metrics([1.0, -1.0], interval_ns=timeframe_ns("1h"))
    with pytest.raises(ConfigError, match="interval_ns"):
        S.annualized_metrics([1.0, 2.0])

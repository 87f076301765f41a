"""Features: hand-computed cases, independent pandas references on real candles, causality, errors."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import rest_market
from tradeready_gym.data.market import MarketData
from tradeready_gym.errors import ConfigError
from tradeready_gym.features import (
    FEATURE_COLUMNS,
    FEATURE_WARMUP,
    FEATURES,
    compute_features,
    feature_columns,
    warmup_bars,
)
from tradeready_gym.features import indicators as ind

H = 3_600_000_000_000


def _market(o, h, lo, c, v, symbol: str = "X") -> MarketData:
    n = len(c)
    t = np.arange(n, dtype=np.int64) * H
    return MarketData(
        (symbol,), "1h", t, np.asarray(o), np.asarray(h), np.asarray(lo), np.asarray(c), np.asarray(v)
    )


@pytest.fixture(scope="module")
def btc() -> MarketData:
    return rest_market("BTCUSDT", "1h", "2024-01-01", "2024-03-01")


# ----------------------------------------------------------------------------- registry
def test_registry_is_exactly_the_documented_one():
    assert FEATURES == {
        "ohlcv": 5,
        "returns": 1,
        "rsi_14": 1,
        "macd": 3,
        "bollinger": 3,
        "atr": 1,
        "adx": 1,
        "volume": 1,
    }
    assert {k: len(v) for k, v in FEATURE_COLUMNS.items()} == FEATURES
    assert warmup_bars(["returns"]) == 1
    assert warmup_bars(["rsi_14", "atr"]) == 14
    assert warmup_bars(["ohlcv", "adx"]) == 27
    assert warmup_bars(list(FEATURES)) == 33
    assert feature_columns(["returns", "bollinger"]) == [
        "log_return",
        "bb_upper_dist",
        "bb_lower_dist",
        "bb_pct_b",
    ]


@pytest.mark.parametrize(
    ("names", "needle"),
    [
        (["ohlcv", "rsi"], "'rsi'"),
        (["ohlcv", "ohlcv"], "more than once"),
        ([], "at least one"),
        ("ohlcv", "not a string"),
        ([3], "3"),
    ],
)
def test_bad_names_raise_config_error_naming_value_and_allowed(btc, names, needle):
    with pytest.raises(ConfigError) as e:
        compute_features(btc, names)
    msg = str(e.value)
    assert needle in msg
    assert "names" in msg
    assert (
        "allowed: ohlcv, returns, rsi_14, macd, bollinger, atr, adx, volume" in msg or "more than once" in msg
    )
    with pytest.raises(ConfigError):
        warmup_bars(names)


def test_market_must_be_market_data():
    with pytest.raises(ConfigError, match="market must be a MarketData"):
        compute_features(np.ones((10, 5)), ["ohlcv"])  # type: ignore[arg-type]


# ----------------------------------------------------------------------------- hand-computed cases
def test_rsi_hand_computed():
    close = np.array([10.0, 11.0, 10.5, 11.5, 11.0])
    # diffs +1, -0.5, +1, -0.5; period 3 seeds at t=3: gain 2/3, loss 1/6 -> 0.8
    # t=4: gain (2/3*2+0)/3 = 4/9, loss (1/6*2+0.5)/3 = 5/18 -> (4/9)/(13/18) = 8/13
    r = ind.rsi(close, 3)
    assert np.isnan(r[:3]).all()
    assert r[3] == pytest.approx(0.8, abs=1e-15)
    assert r[4] == pytest.approx(8 / 13, abs=1e-15)
    assert ind.rsi(np.full(6, 5.0), 3)[3:].tolist() == [0.5, 0.5, 0.5]  # flat: neither gains nor losses


# bars used for ATR and ADX, period 2
_H = np.array([10.5, 11.0, 12.0, 11.5, 13.0, 13.2])
_L = np.array([9.5, 10.0, 10.5, 9.8, 12.5, 12.0])
_C = np.array([10.0, 10.8, 11.0, 10.0, 12.8, 12.2])


def test_true_range_and_atr_hand_computed():
    # TR: t1 max(1, 1, 0)=1; t2 max(1.5, 1.2, 0.3)=1.5; t3 max(1.7, 0.5, 1.2)=1.7; t4 gap max(0.5, 3, 2.5)=3;
    # t5 max(1.2, 0.4, 0.8)=1.2
    tr = ind.true_range(_H, _L, _C)
    np.testing.assert_allclose(tr[1:], [1.0, 1.5, 1.7, 3.0, 1.2], atol=1e-12)
    a = ind.atr(_H, _L, _C, 2)
    assert np.isnan(a[:2]).all()
    # t2 mean(1, 1.5) = 1.25; t3 (1.25 + 1.7)/2 = 1.475; t4 (1.475 + 3)/2 = 2.2375; t5 (2.2375 + 1.2)/2
    np.testing.assert_allclose(a[2:], [1.25, 1.475, 2.2375, 1.71875], atol=1e-12)


def test_adx_hand_computed():
    # +DM: t1 0.5, t2 1, t3 0, t4 1.5, t5 0;  -DM: t1 0, t2 0, t3 0.7, t4 0, t5 0.5
    # Wilder sums (period 2): t2 TR 2.5 +DM 1.5 -DM 0 -> DX 1
    # t3 TR 2.95 +DM .75 -DM .7 -> DX 0.05/1.45 = 1/29 ; ADX_3 = (1 + 1/29)/2 = 15/29
    # t4 TR 4.475 +DM 1.875 -DM .35 -> DX 1.525/2.225 = 61/89 ; ADX_4 = (15/29 + 61/89)/2
    # t5 TR 3.4375 +DM .9375 -DM .675 -> DX .2625/1.6125 = 7/43 ; ADX_5 = (ADX_4 + 7/43)/2
    a = ind.adx(_H, _L, _C, 2)
    assert np.isnan(a[:3]).all()
    adx3 = 15 / 29
    adx4 = (adx3 + 61 / 89) / 2
    adx5 = (adx4 + 7 / 43) / 2
    np.testing.assert_allclose(a[3:], [adx3, adx4, adx5], atol=1e-12)


def test_macd_hand_computed():
    close = np.array([1.0, 2.0, 4.0, 3.0, 5.0, 6.0])
    # fast=2 (alpha 2/3) seeded 1.5 at t1: 19/6, 55/18, 235/54, 883/162
    # slow=3 (alpha 1/2) seeded 7/3 at t2: 8/3, 23/6, 59/12
    # line t2..t5: 5/6, 7/18, 14/27, 173/324 ; signal=2 seeded at t3 with mean(5/6, 7/18) = 11/18,
    # then 89/162, 131/243
    line, sig, hist = ind.macd(close, 2, 3, 2)
    assert np.isnan(line[:2]).all() and np.isnan(sig[:3]).all()
    np.testing.assert_allclose(line[2:], [5 / 6, 7 / 18, 14 / 27, 173 / 324], atol=1e-12)
    np.testing.assert_allclose(sig[3:], [11 / 18, 89 / 162, 131 / 243], atol=1e-12)
    np.testing.assert_allclose(hist[3:], line[3:] - sig[3:], atol=1e-15)


def test_bollinger_hand_computed():
    close = np.array([1.0, 2.0, 3.0, 5.0])
    mid, up, low = ind.bollinger(close, 3, 2.0)
    assert np.isnan(mid[:2]).all()
    np.testing.assert_allclose(mid[2:], [2.0, 10 / 3], atol=1e-12)
    np.testing.assert_allclose(up[2:], [2 + 2 * math.sqrt(2 / 3), 10 / 3 + 2 * math.sqrt(14) / 3], atol=1e-12)
    np.testing.assert_allclose(
        low[2:], [2 - 2 * math.sqrt(2 / 3), 10 / 3 - 2 * math.sqrt(14) / 3], atol=1e-12
    )


def test_feature_level_hand_case():
    n = 25
    close = 100.0 * 1.01 ** np.arange(n)  # +1% every bar
    o = np.concatenate([[100.0], close[:-1]])
    h = np.maximum(o, close) * 1.002
    lo = np.minimum(o, close) * 0.999
    v = np.full(n, 7.0)
    v[-1] = 21.0  # last bar: 21 vs mean (19*7 + 21)/20 = 7.7
    f = compute_features(_market(o, h, lo, close, v), ["ohlcv", "returns", "rsi_14"])
    last = f[-1, 0]
    assert last[0] == pytest.approx(0.0, abs=1e-7)  # open = previous close
    assert last[1] == pytest.approx(1.01 * 1.002 - 1, rel=1e-6)
    assert last[2] == pytest.approx(0.999 - 1, rel=1e-5)
    assert last[3] == pytest.approx(0.01, rel=1e-5)
    assert last[4] == pytest.approx(math.log1p(21 / 7.7) - math.log(2), rel=1e-6)
    assert f[-2, 0, 4] == pytest.approx(math.log1p(7 / 7) - math.log(2), abs=1e-7)  # = 0 at the mean
    assert last[5] == pytest.approx(math.log(1.01), rel=1e-5)
    assert last[6] == 1.0  # only gains


# ----------------------------------------------------------------------------- pandas references, real candles
def _seeded(x: pd.Series, start: int, period: int) -> pd.Series:
    """Series from ``start + period - 1`` whose first value is the mean of ``x[start:start+period]``."""
    s = x.iloc[start + period - 1 :].copy()
    s.iloc[0] = x.iloc[start : start + period].mean()
    return s


def _wilder(x: pd.Series, start: int, period: int) -> pd.Series:
    return _seeded(x, start, period).ewm(alpha=1 / period, adjust=False).mean()


def _ema(x: pd.Series, start: int, span: int) -> pd.Series:
    return _seeded(x, start, span).ewm(span=span, adjust=False).mean()


def _reference(md: MarketData) -> dict[str, np.ndarray]:
    df = md.to_dataframe()
    o, h, lo, c, v = (df[k].reset_index(drop=True) for k in ("open", "high", "low", "close", "volume"))
    pc = c.shift(1)
    vm = v.rolling(20).mean()
    vol = np.log1p(v / vm) - np.log(2)
    d = c.diff()
    ag = _wilder(d.clip(lower=0), 1, 14)
    al = _wilder((-d).clip(lower=0), 1, 14)
    rsi = ag / (ag + al)
    line = (_ema(c, 0, 12) - _ema(c, 0, 26)).reindex(c.index)  # positional from here on
    sig = _ema(line, 25, 9)
    mid = c.rolling(20).mean()
    sd = c.rolling(20).std(ddof=0)
    up, low = mid + 2 * sd, mid - 2 * sd
    tr = pd.concat([h - lo, (h - pc).abs(), (lo - pc).abs()], axis=1).max(axis=1)
    tr.iloc[0] = np.nan
    atr = _wilder(tr, 1, 14)
    upm = h.diff()
    dnm = -lo.diff()
    pdm = upm.where((upm > dnm) & (upm > 0), 0.0)
    mdm = dnm.where((dnm > upm) & (dnm > 0), 0.0)
    # Wilder's smoothing of sums and of means give the same DI ratios
    pdi = _wilder(pdm, 1, 14) / atr
    mdi = _wilder(mdm, 1, 14) / atr
    dx = (pdi - mdi).abs() / (pdi + mdi)
    adx = _wilder(dx.reindex(c.index), 14, 14)

    def col(s: pd.Series) -> np.ndarray:
        return s.reindex(range(len(c))).to_numpy()

    return {
        "ohlcv": np.column_stack(
            [col(o / pc - 1), col(h / pc - 1), col(lo / pc - 1), col(c / pc - 1), col(vol)]
        ),
        "returns": col(np.log(c / pc)).reshape(-1, 1),
        "rsi_14": col(rsi).reshape(-1, 1),
        "macd": np.column_stack([col(line / c), col(sig / c), col((line - sig) / c)]),
        "bollinger": np.column_stack([col(up / c - 1), col(low / c - 1), col((c - low) / (up - low))]),
        "atr": col(atr / c).reshape(-1, 1),
        "adx": col(adx).reshape(-1, 1),
        "volume": col(vol).reshape(-1, 1),
    }


@pytest.mark.parametrize("name", list(FEATURES))
def test_each_feature_matches_pandas_reference_on_real_candles(btc, name):
    got = compute_features(btc, [name])[:, 0, :]
    ref = _reference(btc)[name]
    w = FEATURE_WARMUP[name]
    assert got.dtype == np.float32 and got.shape == (btc.n_bars, FEATURES[name])
    assert np.isfinite(got[w:]).all()
    assert np.isnan(got[w - 1]).any(), "the warm-up index is the first finite row, not later"
    assert np.isfinite(ref[w:]).all()
    np.testing.assert_allclose(got[w:], ref[w:], rtol=2e-5, atol=2e-7)


def test_columns_follow_the_order_of_names_and_symbols(btc):
    md = rest_market(["BTCUSDT", "ETHUSDT", "SOLUSDT"], "1h", "2024-01-01", "2024-02-01")
    names = ["adx", "ohlcv", "macd"]
    f = compute_features(md, names)
    assert f.shape == (md.n_bars, 3, 9)
    for j, sym in enumerate(md.symbols):
        one = md.select([sym])
        np.testing.assert_array_equal(f[:, j, 0:1], compute_features(one, ["adx"])[:, 0])
        np.testing.assert_array_equal(f[:, j, 1:6], compute_features(one, ["ohlcv"])[:, 0])
        np.testing.assert_array_equal(f[:, j, 6:9], compute_features(one, ["macd"])[:, 0])
    assert not np.array_equal(f[40:, 0], f[40:, 1])


def test_bounded_features_stay_in_range_on_real_candles():
    md = rest_market(["BTCUSDT", "ETHUSDT", "SOLUSDT"], "1h", "2023-01-01", "2024-01-01")
    f = compute_features(md, ["rsi_14", "adx", "atr", "bollinger"])[warmup_bars(["adx"]) :]
    assert (f[..., 0] >= 0).all() and (f[..., 0] <= 1).all()
    assert (f[..., 1] >= 0).all() and (f[..., 1] <= 1).all()
    assert (f[..., 2] > 0).all()
    assert (f[..., 3] >= f[..., 4]).all()  # the upper band is never below the lower band
    # %b is the close's position between the bands: (c - lower) / (upper - lower)
    up, lo = f[..., 3].astype(np.float64), f[..., 4].astype(np.float64)
    np.testing.assert_allclose(f[..., 5], -lo / (up - lo), rtol=1e-3, atol=1e-4)
    assert (f[..., 5] > 1).any() and (f[..., 5] < 0).any()  # closes outside the bands exist in a year


def test_features_are_scale_free(btc):
    k = 1000.0
    scaled = MarketData(
        btc.symbols,
        btc.timeframe,
        btc.open_time,
        btc.open * k,
        btc.high * k,
        btc.low * k,
        btc.close * k,
        btc.volume * 37.0,
    )
    names = list(FEATURES)
    w = warmup_bars(names)
    np.testing.assert_allclose(
        compute_features(scaled, names)[w:], compute_features(btc, names)[w:], rtol=1e-4, atol=1e-6
    )


def test_zero_volume_and_flat_prices_stay_finite():
    n = 60
    c = np.full(n, 50.0)
    v = np.zeros(n)
    f = compute_features(_market(c, c, c, c, v), list(FEATURES))
    w = warmup_bars(list(FEATURES))
    assert np.isfinite(f[w:]).all()
    # flat market: RSI, %b neutral at 0.5; every distance, ATR and ADX 0; volume at its (zero) mean
    np.testing.assert_array_equal(f[w:, 0, [0, 1, 2, 3, 5, 7, 8, 9, 10, 11, 13, 14]], 0.0)
    np.testing.assert_array_equal(f[w:, 0, [6, 12]], 0.5)
    np.testing.assert_array_equal(f[w:, 0, [4, 15]], 0.0)


def test_shorter_than_warmup_is_all_nan_not_an_error():
    c = np.linspace(10, 11, 10)
    f = compute_features(_market(c, c, c, c, np.ones(10)), ["adx", "macd"])
    assert f.shape == (10, 1, 4) and np.isnan(f).all()
    assert compute_features(_market(c[:0], c[:0], c[:0], c[:0], c[:0]), ["atr"]).shape == (0, 1, 1)


# ----------------------------------------------------------------------------- causality
@st.composite
def _bars(draw, n: int = 70):
    seed = draw(st.integers(0, 2**32 - 1))
    t = draw(st.integers(0, n - 2))
    rng = np.random.default_rng(seed)

    def make(m: int, start: float):
        c = start * np.exp(np.cumsum(rng.normal(0, 0.02, m)))
        o = np.concatenate([[start], c[:-1]]) * np.exp(rng.normal(0, 0.002, m))
        h = np.maximum(o, c) * np.exp(np.abs(rng.normal(0, 0.01, m)))
        lo = np.minimum(o, c) * np.exp(-np.abs(rng.normal(0, 0.01, m)))
        v = rng.exponential(5.0, m) * (rng.random(m) > 0.1)
        return o, h, lo, c, v

    base = make(n, 100.0)
    tail = make(n - t - 1, float(rng.uniform(1, 1000)))
    pert = tuple(np.concatenate([b[: t + 1], x]) for b, x in zip(base, tail, strict=True))
    return t, base, pert


@settings(max_examples=60, deadline=None)
@given(_bars())
def test_perturbing_bars_after_t_never_changes_rows_up_to_t(case):
    t, base, pert = case
    names = list(FEATURES)
    a = compute_features(_market(*base), names)
    b = compute_features(_market(*pert), names)
    np.testing.assert_array_equal(a[: t + 1], b[: t + 1])  # bit-identical, NaN in the same places
    # and the prefix alone gives the same rows: nothing reads beyond t
    c = compute_features(_market(*(x[: t + 1] for x in base)), names)
    np.testing.assert_array_equal(a[: t + 1], c)

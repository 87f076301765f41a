"""Gap reporting and the gap policy on real outages (BTC/ETH 4h 2018-2020, the 2023-03-24 hour)."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import rest_market
from tradeready_gym.data import apply_gap_policy, fill_gaps, find_gaps, generate_synthetic, resample
from tradeready_gym.errors import ConfigError

H4 = 4 * 3_600_000_000_000


@pytest.mark.parametrize("symbol", ["BTCUSDT", "ETHUSDT"])
def test_real_4h_outages_reported_and_filled(symbol: str) -> None:
    md = rest_market(symbol, "4h", "2017-08-17", "2021-01-01")
    gaps = find_gaps(md)
    assert len(gaps) == 8  # the documented 2018-2020 outages
    assert any(g.start_iso.startswith("2018-02-08") for g in gaps)
    assert any(g.start_iso.startswith("2019-05-15") for g in gaps)
    for g in gaps:
        assert g.end - g.start == g.missing_bars * H4 and g.symbols == (symbol,) and not g.filled
        assert md.index_of(g.start) == md.index_of(g.end)  # no bar inside the gap
    filled = fill_gaps(md)
    assert filled.n_bars == md.n_bars + sum(g.missing_bars for g in gaps)
    assert np.all(np.diff(filled.open_time) == H4)
    assert filled.filled is not None and int(filled.filled.sum()) == sum(g.missing_bars for g in gaps)
    # the filled runs are reported as such, at the same places
    assert [(g.start, g.end) for g in find_gaps(filled)] == [(g.start, g.end) for g in gaps]
    assert all(g.filled for g in find_gaps(filled))
    real = ~filled.filled[:, 0]
    np.testing.assert_array_equal(filled.open_time[real], md.open_time)
    np.testing.assert_array_equal(filled.close[real], md.close)
    # a filled bar is flat at the previous close with zero volume
    i = int(np.flatnonzero(~real)[0])
    assert (
        filled.open[i, 0]
        == filled.high[i, 0]
        == filled.low[i, 0]
        == filled.close[i, 0]
        == filled.close[i - 1, 0]
    )
    assert filled.volume[i, 0] == 0.0
    assert apply_gap_policy(md, "skip") is md


def test_filled_bars_make_buckets_incomplete() -> None:
    md = generate_synthetic(48, timeframe="1h", seed=9, start="2024-01-01")
    holed = md.iloc(0, 13).open_time, md.iloc(14, 48)
    from tradeready_gym.data import concat_markets

    gappy = concat_markets([md.iloc(0, 13), holed[1]])
    filled = fill_gaps(gappy)
    assert filled.n_bars == 48
    assert resample(filled, "4h").n_bars == 11  # the bucket with the filled 13:00 bar is dropped
    kept = resample(filled, "4h", incomplete="keep")
    assert kept.extra["source_bars"][3, 0] == 3


def test_no_gaps_and_bad_policy() -> None:
    md = generate_synthetic(30, seed=1)
    assert find_gaps(md) == []
    f = fill_gaps(md)
    assert f.filled is not None and not f.filled.any()
    with pytest.raises(ConfigError, match=r"gaps='drop' is not a gap policy; allowed: skip, ffill"):
        apply_gap_policy(md, "drop")


def test_off_grid_bar_cannot_be_filled() -> None:
    from tradeready_gym.data import MarketData
    from tradeready_gym.errors import DataError

    md = generate_synthetic(5, seed=2)
    ot = md.open_time.copy()
    ot[3:] += 3_600_000_000_000 + 60_000_000_000  # a gap of 1h01m
    odd = MarketData(md.symbols, "1h", ot, md.open, md.high, md.low, md.close, md.volume, synthetic=True)
    with pytest.raises(DataError, match=r"is off the 1h grid"):
        fill_gaps(odd)

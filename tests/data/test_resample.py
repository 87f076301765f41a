"""Resampling by bar close, checked against real oracles: freqtrade 5m -> 1h and REST 1h -> 4h."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from conftest import rest_market
from tradeready_gym.data import MarketData, generate_synthetic, read_path, resample
from tradeready_gym.errors import ConfigError
from tradeready_gym.timeframes import format_iso

PRICES = ("open", "high", "low", "close")

# Binance restated the volume of these three hours (all symbols) after the 5m file was saved:
# the 5m candles sum to a different volume than the stored 1h candle, by 1-8 %. Prices agree.
RESTATED_VOLUME_HOURS = {"2021-04-22T02:00:00Z", "2021-04-23T01:00:00Z", "2021-04-23T02:00:00Z"}


def _match(a: MarketData, b: MarketData) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    common, ia, ib = np.intersect1d(a.open_time, b.open_time, return_indices=True)
    return common, ia, ib


@pytest.mark.parametrize("base", ["BTC", "ETH", "SOL"])
def test_freqtrade_5m_to_1h_equals_the_1h_file(shared_data: Path, base: str) -> None:
    folder = shared_data / "raw" / "freqtrade_binance_spot_2021"
    m5 = read_path(folder / f"{base}_USDT-5m.json.gz")
    h1 = read_path(folder / f"{base}_USDT-1h.json.gz")

    # keep: every hour of the 1h file is rebuilt, partial hours (real outages) included
    kept = resample(m5, "1h", incomplete="keep")
    common, ia, ib = _match(kept, h1)
    np.testing.assert_array_equal(common, h1.open_time)  # no hour of the 1h file is missing
    assert kept.n_bars == h1.n_bars + 1  # plus the still-forming last hour of the 5m file
    assert format_iso(int(kept.open_time[-1])) == "2021-07-17T21:00:00Z"
    for f in PRICES:
        np.testing.assert_array_equal(getattr(kept, f)[ia], getattr(h1, f)[ib], err_msg=f)
    v_ok = np.isclose(kept.volume[ia, 0], h1.volume[ib, 0], rtol=1e-12, atol=0)
    assert {format_iso(int(t)) for t in common[~v_ok]} == RESTATED_VOLUME_HOURS

    # drop (default): only complete hours, each equal to the 1h file's bar
    dropped = resample(m5, "1h")
    complete = kept.extra["source_bars"][:, 0] == 12
    np.testing.assert_array_equal(dropped.open_time, kept.open_time[complete])
    assert 0 < kept.n_bars - dropped.n_bars <= 8
    for f in (*PRICES, "volume"):
        np.testing.assert_array_equal(getattr(dropped, f), getattr(kept, f)[complete], err_msg=f)
    assert "source_bars" not in dropped.extra


@pytest.mark.parametrize("symbol", ["BTCUSDT", "ETHUSDT", "SOLUSDT"])
def test_rest_1h_to_4h_equals_rest_4h_on_complete_buckets(symbol: str) -> None:
    h1 = rest_market(symbol, "1h")
    h4 = rest_market(symbol, "4h", "2022-01-01")
    r = resample(h1, "4h")
    common, ia, ib = _match(r, h4)
    np.testing.assert_array_equal(common, r.open_time)  # every complete bucket is a real 4h bar
    missing = {format_iso(int(t)) for t in np.setdiff1d(h4.open_time, r.open_time)}
    assert missing == {"2023-03-24T12:00:00Z"}  # its 13:00 hour is the real outage: incomplete, dropped
    assert r.n_bars > 9000
    for f in PRICES:
        np.testing.assert_array_equal(getattr(r, f)[ia], getattr(h4, f)[ib], err_msg=f)
    np.testing.assert_array_equal(r.extra["trades"][ia], h4.extra["trades"][ib])
    for f in ("quote_volume", "taker_buy_base_volume", "taker_buy_quote_volume"):
        np.testing.assert_allclose(r.extra[f][ia], h4.extra[f][ib], rtol=1e-12, atol=0, err_msg=f)
    np.testing.assert_allclose(r.volume[ia], h4.volume[ib], rtol=1e-12, atol=0)

    kept = resample(h1, "4h", incomplete="keep")
    i = kept.index_of("2023-03-24T12:00Z")
    assert kept.extra["source_bars"][i, 0] == 3  # kept, flagged: 3 of 4 hours
    assert kept.n_bars == r.n_bars + 1 + (kept.extra["source_bars"][-1, 0] < 4)
    # Binance's own 4h bar for that window does not equal the roll-up of the 3 surviving hours
    # (e.g. BTC high 28079.99 vs 28080.00), one more reason incomplete buckets are dropped by default.


def test_every_target_timeframe_and_multi_symbol() -> None:
    m1 = generate_synthetic(2 * 1440, timeframe="1m", n_symbols=2, seed=4, start="2024-01-01")
    for tf, n in (("5m", 576), ("15m", 192), ("30m", 96), ("1h", 48), ("4h", 12), ("1d", 2)):
        r = resample(m1, tf)
        assert r.n_bars == n and r.symbols == ("SYNTH-1", "SYNTH-2") and r.synthetic
        k = m1.interval_ns and r.interval_ns // m1.interval_ns
        np.testing.assert_array_equal(r.open, m1.open[::k])
        np.testing.assert_array_equal(r.close, m1.close[k - 1 :: k])
        np.testing.assert_array_equal(r.high, m1.high.reshape(n, k, 2).max(axis=1))
        np.testing.assert_array_equal(r.low, m1.low.reshape(n, k, 2).min(axis=1))
        np.testing.assert_allclose(r.volume, m1.volume.reshape(n, k, 2).sum(axis=1), rtol=1e-13)
    assert resample(m1, "1m") is m1


def test_buckets_align_to_utc_and_partial_first_bucket_dropped() -> None:
    m = generate_synthetic(300, timeframe="1h", seed=5, start="2024-01-01T21:00Z")
    d = resample(m, "1d")
    assert format_iso(int(d.open_time[0])) == "2024-01-02T00:00:00Z"  # 21:00-23:00 is incomplete
    k = resample(m, "1d", incomplete="keep")
    assert format_iso(int(k.open_time[0])) == "2024-01-01T00:00:00Z" and k.extra["source_bars"][0, 0] == 3


def test_bad_resample_arguments() -> None:
    m = generate_synthetic(50, timeframe="15m", seed=6)
    with pytest.raises(ConfigError, match=r"timeframe='5m' cannot be built from 15m bars; allowed: 30m, 1h"):
        resample(m, "5m")
    with pytest.raises(ConfigError, match=r"timeframe='7m' is not supported"):
        resample(m, "7m")
    with pytest.raises(ConfigError, match=r"incomplete='pad' is not allowed; allowed: drop, keep"):
        resample(m, "1h", incomplete="pad")
    h = generate_synthetic(50, timeframe="1h", seed=6)
    with pytest.raises(ConfigError, match=r"timeframe='30m' cannot be built from 1h bars; allowed: 2h, 4h"):
        resample(h, "30m")
    with pytest.raises(ConfigError, match=r"timeframe='12h' cannot be built from 8h bars"):
        resample(generate_synthetic(50, timeframe="8h", seed=1), "12h")
    assert resample(h, "2h").timeframe == "2h"

"""`load_market_data` over the real-candle cache and over ``data=``; the gap policy on the real 2023-03-24 outage."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from conftest import rest_market
from tradeready_gym.data import (
    MarketData,
    find_gaps,
    generate_synthetic,
    load_market_data,
    read_path,
)
from tradeready_gym.errors import ConfigError, DataError, DataNotFoundError
from tradeready_gym.timeframes import parse_time

from .test_readers import assert_same

H = 3_600_000_000_000


def test_cache_equals_source_rows(real_cache: Path) -> None:
    md = load_market_data("BTCUSDT", "1h", "2024-01-01", "2024-07-01")
    assert_same(md, rest_market("BTCUSDT", "1h", "2024-01-01", "2024-07-01"))
    assert not md.synthetic


def test_whole_range_when_start_end_omitted(real_cache: Path) -> None:
    md = load_market_data("ETHUSDT", "1d")
    assert md.describe()["start"] == "2017-08-17T00:00:00Z"
    assert md.describe()["end"] == "2026-04-29T00:00:00Z"
    assert md.n_bars == 3178


def test_several_symbols_aligned(real_cache: Path) -> None:
    md = load_market_data(["BTC/USDT", "ethusdt", "SOLUSDT"], "1d")
    assert md.symbols == ("BTCUSDT", "ETHUSDT", "SOLUSDT")
    assert md.describe()["start"] == "2020-08-11T00:00:00Z"  # SOL's first day: the common grid starts there
    sol = load_market_data("SOLUSDT", "1d")
    np.testing.assert_array_equal(md.open_time, sol.open_time)
    np.testing.assert_array_equal(md.close[:, 2], sol.close[:, 0])
    btc = load_market_data("BTCUSDT", "1d", "2020-08-11")
    np.testing.assert_array_equal(md.close[:, 0], btc.close[:, 0])


def test_missing_symbol_timeframe_range_name_the_command(real_cache: Path) -> None:
    with pytest.raises(DataNotFoundError) as err:
        load_market_data("ADAUSDT", "1h", "2024-01-01", "2024-02-01")
    msg = str(err.value)
    assert "symbol='ADAUSDT' timeframe='1h'" in msg
    assert (
        "tradeready data download ADAUSDT --timeframe 1h --start 2024-01-01T00:00:00Z --end 2024-02-01T00:00:00Z"
        in msg
    )
    with pytest.raises(
        DataNotFoundError, match=r"the cache lacks \[2021-06-01T00:00:00Z, 2022-01-01T00:00:00Z\)"
    ):
        load_market_data("BTCUSDT", "1h", "2021-06-01", "2022-02-01")
    with pytest.raises(DataNotFoundError, match="timeframe='15m'"):
        load_market_data("BTCUSDT", "15m", "2024-01-01", "2024-02-01")


def test_coarser_timeframe_built_from_cached_finer_one(real_cache: Path) -> None:
    """No 2h file is cached: it is resampled from 1h, complete buckets only."""
    md = load_market_data("BTCUSDT", "2h", "2023-03-24", "2023-03-25")
    assert md.timeframe == "2h" and md.n_bars == 11  # the 12:00 bucket lacks its 13:00 hour: dropped
    h = load_market_data("BTCUSDT", "1h", "2023-03-24T00:00Z", "2023-03-24T02:00Z")
    assert md.high[0, 0] == h.high.max() and md.close[0, 0] == h.close[-1, 0]


def test_bad_arguments(real_cache: Path) -> None:
    with pytest.raises(ConfigError, match=r"timeframe='7m' is not supported; allowed: 1m, 3m, 5m"):
        load_market_data("BTCUSDT", "7m")
    with pytest.raises(ConfigError, match=r"start='2024-02-01' must be before end='2024-01-01'"):
        load_market_data("BTCUSDT", "1h", "2024-02-01", "2024-01-01")
    with pytest.raises(ConfigError, match=r"start='2024-01-01' must be before end='2024-01-01'"):
        load_market_data("BTCUSDT", "1h", "2024-01-01", "2024-01-01")
    with pytest.raises(ConfigError, match=r"start='yesterday' is not a valid time"):
        load_market_data("BTCUSDT", "1h", "yesterday")
    with pytest.raises(ConfigError, match=r"symbols=\[\] is not allowed; allowed: at least one symbol"):
        load_market_data([], "1h")
    with pytest.raises(ConfigError, match=r"symbols='BTC USDT' is not allowed; allowed: a Binance spot pair"):
        load_market_data("BTC USDT", "1h")
    with pytest.raises(ConfigError, match=r"gaps='interpolate' is not a gap policy; allowed: skip, ffill"):
        load_market_data("BTCUSDT", "1h", gaps="interpolate")


# ---------------------------------------------------------------------- data=


def test_data_dataframe_mapping_path_and_marketdata(btc_1h: MarketData, shared_data: Path) -> None:
    df = btc_1h.to_dataframe()
    assert_same(load_market_data("BTCUSDT", "1h", data=df), btc_1h)
    part = load_market_data("BTCUSDT", "1h", "2024-02-01", "2024-03-01", data=btc_1h)
    assert part.n_bars == 29 * 24
    eth = rest_market("ETHUSDT", "1h", "2024-03-01", "2024-09-01")
    both = load_market_data(["BTCUSDT", "ETHUSDT"], "1h", data={"BTCUSDT": df, "ETHUSDT": eth})
    assert (
        both.describe()["start"] == "2024-03-01T00:00:00Z"
        and both.describe()["end"] == "2024-06-30T23:00:00Z"
    )
    z = (
        shared_data
        / "binance-vision"
        / "data"
        / "spot"
        / "monthly"
        / "klines"
        / "BTCUSDT"
        / "4h"
        / "BTCUSDT-4h-2025-03.zip"
    )
    assert_same(load_market_data("BTCUSDT", "4h", data=z), read_path(z))
    day = load_market_data("BTCUSDT", "1d", data=z)  # finer data is resampled
    assert day.n_bars == 31 and day.timeframe == "1d"


def test_data_errors(btc_1h: MarketData) -> None:
    with pytest.raises(
        ConfigError, match=r"data= is a single DataFrame but symbols=\['BTCUSDT', 'ETHUSDT'\]"
    ):
        load_market_data(["BTCUSDT", "ETHUSDT"], "1h", data=btc_1h.to_dataframe())
    with pytest.raises(DataNotFoundError, match=r"symbols \['ETHUSDT'\] are not in data="):
        load_market_data(["BTCUSDT", "ETHUSDT"], "1h", data={"BTCUSDT": btc_1h})
    with pytest.raises(ConfigError, match=r"timeframe='15m' cannot be built from the given MarketData at 1h"):
        load_market_data("BTCUSDT", "15m", data=btc_1h)
    with pytest.raises(ConfigError, match=r"data for 'BTCUSDT' is a int; allowed: pandas DataFrame"):
        load_market_data("BTCUSDT", "1h", data=42)
    with pytest.raises(DataNotFoundError, match=r"data= has no bars"):
        load_market_data("BTCUSDT", "1h", "2030-01-01", "2030-02-01", data=btc_1h)
    df = btc_1h.to_dataframe().iloc[:10].copy()
    df.iloc[3, df.columns.get_loc("close")] = np.nan
    with pytest.raises(
        DataError, match=r"close of BTCUSDT at 2024-01-01T03:00:00Z is nan; values must be finite"
    ):
        load_market_data("BTCUSDT", "1h", data=df)
    shuffled = btc_1h.to_dataframe().iloc[[0, 2, 1, 3]]
    with pytest.raises(DataError, match=r"unsorted row at index 2"):
        load_market_data("BTCUSDT", "1h", data=shuffled)


def test_synthetic_never_mixed_with_real(btc_1h: MarketData) -> None:
    syn = generate_synthetic(100, seed=2, start="2024-01-01")
    with pytest.raises(DataError, match="cannot align synthetic with real candles"):
        load_market_data(["BTCUSDT", "SYNTH-1"], "1h", data={"BTCUSDT": btc_1h, "SYNTH-1": syn})


# ---------------------------------------------------------------------- gaps: the real 2023-03-24 13:00 outage


def test_missing_hour_reported_and_skipped_by_default(real_cache: Path) -> None:
    md = load_market_data(["BTCUSDT", "ETHUSDT", "SOLUSDT"], "1h", "2023-03-24", "2023-03-25")
    assert md.n_bars == 23
    gaps = find_gaps(md)
    assert len(gaps) == 1
    g = gaps[0]
    assert (g.start_iso, g.end_iso, g.missing_bars) == ("2023-03-24T13:00:00Z", "2023-03-24T14:00:00Z", 1)
    assert g.symbols == ("BTCUSDT", "ETHUSDT", "SOLUSDT") and not g.filled
    i = md.index_of("2023-03-24T12:00Z")
    assert md.open_time[i + 1] - md.open_time[i] == 2 * H  # the grid keeps its hole
    assert md.filled is None


def test_missing_hour_forward_filled_on_request(real_cache: Path) -> None:
    skip = load_market_data(["BTCUSDT", "ETHUSDT"], "1h", "2023-03-24", "2023-03-25")
    md = load_market_data(["BTCUSDT", "ETHUSDT"], "1h", "2023-03-24", "2023-03-25", gaps="ffill")
    assert md.n_bars == 24
    assert np.all(np.diff(md.open_time) == H)
    i = md.index_of("2023-03-24T13:00Z")
    assert md.open_time[i] == parse_time("2023-03-24T13:00Z")
    assert md.filled is not None
    assert md.filled[i].all() and md.filled.sum() == 2
    prev_close = md.close[i - 1]
    for f in ("open", "high", "low", "close"):
        np.testing.assert_array_equal(getattr(md, f)[i], prev_close)
    np.testing.assert_array_equal(md.volume[i], 0.0)
    np.testing.assert_array_equal(md.extra["trades"][i], 0.0)
    keep = ~md.filled[:, 0]
    np.testing.assert_array_equal(md.close[keep], skip.close)  # real bars untouched
    assert [(g.start_iso, g.symbols, g.filled) for g in find_gaps(md)] == [
        ("2023-03-24T13:00:00Z", ("BTCUSDT",), True),
        ("2023-03-24T13:00:00Z", ("ETHUSDT",), True),
    ]


def test_data_folder_mapping(shared_data: Path) -> None:
    folder = shared_data / "binance-vision" / "data" / "spot" / "daily" / "klines"
    md = load_market_data(["BTCUSDT", "SOLUSDT"], "1h", data={"BTCUSDT": folder, "SOLUSDT": folder})
    assert md.symbols == ("BTCUSDT", "SOLUSDT") and md.n_bars == 72
    np.testing.assert_array_equal(md.close[:, 1], read_path(folder / "SOLUSDT" / "1h").close[:, 0])
    day = load_market_data("ETHUSDT", "1d", data=folder)  # only 1h files there: resampled
    assert day.n_bars == 3 and day.describe()["start"] == "2025-07-01T00:00:00Z"


def test_ffill_fills_per_symbol_before_aligning() -> None:
    """A bar only BTC lacks: skip drops it for both (common grid); ffill keeps ETH's real bar."""
    btc = rest_market("BTCUSDT", "1h", "2024-05-01", "2024-05-02").to_dataframe()
    eth = rest_market("ETHUSDT", "1h", "2024-05-01", "2024-05-02")
    holed = btc.drop(btc.index[10])
    data = {"BTCUSDT": holed, "ETHUSDT": eth}
    skip = load_market_data(["BTCUSDT", "ETHUSDT"], "1h", data=data)
    assert skip.n_bars == 23 and [g.start_iso for g in find_gaps(skip)] == ["2024-05-01T10:00:00Z"]
    filled = load_market_data(["BTCUSDT", "ETHUSDT"], "1h", data=data, gaps="ffill")
    assert filled.n_bars == 24 and filled.filled is not None
    assert filled.filled[10].tolist() == [True, False]
    assert filled.close[10, 1] == eth.close[10, 0]  # ETH's real bar survives
    assert filled.close[10, 0] == filled.close[9, 0] == btc["close"].iloc[9]
    assert [(g.start_iso, g.symbols, g.filled) for g in find_gaps(filled)] == [
        ("2024-05-01T10:00:00Z", ("BTCUSDT",), True)
    ]


def test_stale_temp_file_of_a_killed_writer_is_cleaned(btc_1h: MarketData, tmp_path: Path) -> None:
    from tradeready_gym.data import CandleCache

    cache = CandleCache(tmp_path)
    [path] = cache.write(btc_1h.slice(None, "2024-02-01"), source="t")
    stale = path.parent / f".{path.name}.abc.12345678.tmp"
    stale.write_bytes(b"half a parquet file")
    cache.write(btc_1h.slice("2024-02-01", "2024-03-01"), source="t")
    assert not stale.exists()
    assert cache.read("BTCUSDT", "1h").n_bars == (31 + 29) * 24

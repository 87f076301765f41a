"""Readers on the real candle files: Binance zips (ms and µs), REST JSON, freqtrade JSON, generic CSV/Parquet."""

from __future__ import annotations

import gzip
import io
import json
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tradeready_gym.data import (
    MarketData,
    read_binance_zip,
    read_freqtrade_json,
    read_path,
    read_rest_json,
    read_table,
)
from tradeready_gym.errors import ConfigError, DataError, DataNotFoundError

FIELDS = ("open", "high", "low", "close", "volume")
EXTRA = ("quote_volume", "trades", "taker_buy_base_volume", "taker_buy_quote_volume")


def vision(shared: Path, *parts: str) -> Path:
    return shared.joinpath("binance-vision", "data", "spot", *parts)


def rest(shared: Path, symbol: str, tf: str, window: str) -> Path:
    return shared / "raw" / "binance_spot_rest_klines" / symbol / tf / f"{window}.json.gz"


def assert_same(a: MarketData, b: MarketData, *, extra: bool = True) -> None:
    assert a.symbols == b.symbols
    assert a.timeframe == b.timeframe
    np.testing.assert_array_equal(a.open_time, b.open_time)
    for f in FIELDS:
        np.testing.assert_array_equal(getattr(a, f), getattr(b, f), err_msg=f)
    if extra:
        for f in EXTRA:
            np.testing.assert_array_equal(a.extra[f], b.extra[f], err_msg=f)


@pytest.mark.parametrize(
    ("month", "unit"),
    [("2024-12", "ms"), ("2025-01", "us")],
)
def test_binance_zip_equals_rest_rows_ms_and_us(shared_data: Path, month: str, unit: str) -> None:
    z = vision(shared_data, "monthly", "klines", "BTCUSDT", "1h", f"BTCUSDT-1h-{month}.zip")
    with zipfile.ZipFile(z) as zf:
        first = zf.read(zf.namelist()[0]).split(b",")[0]
    assert len(first) == (13 if unit == "ms" else 16)  # the file really is in that unit
    got = read_binance_zip(z)
    want = read_rest_json(rest(shared_data, "BTCUSDT", "1h", f"{month}-01"))
    assert got.n_bars == 744
    assert_same(got, want)
    assert got.open_time[0] == pd.Timestamp(f"{month}-01", tz="UTC").value


def test_binance_zip_with_header_row_and_bytes(shared_data: Path, tmp_path: Path) -> None:
    z = vision(shared_data, "monthly", "klines", "ETHUSDT", "4h", "ETHUSDT-4h-2025-02.zip")
    with zipfile.ZipFile(z) as zf:
        csv = zf.read(zf.namelist()[0])
    header = (
        b"open_time,open,high,low,close,volume,close_time,quote_volume,count,"
        b"taker_buy_volume,taker_buy_quote_volume,ignore\n"
    )
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("ETHUSDT-4h-2025-02.csv", header + csv)
    with_header = read_binance_zip(buf.getvalue(), name="ETHUSDT-4h-2025-02.zip")
    assert_same(with_header, read_binance_zip(z))
    assert with_header.symbols == ("ETHUSDT",) and with_header.timeframe == "4h"
    assert with_header.n_bars == 28 * 6


def test_rest_json_infers_symbol_and_timeframe(shared_data: Path) -> None:
    md = read_rest_json(rest(shared_data, "SOLUSDT", "1d", "2022-01-01"))
    assert md.symbols == ("SOLUSDT",) and md.timeframe == "1d"
    with gzip.open(rest(shared_data, "SOLUSDT", "1d", "2022-01-01"), "rt") as fh:
        rows = json.load(fh)
    assert md.n_bars == len(rows)
    assert md.close[5, 0] == float(rows[5][4])
    assert md.extra["trades"][5, 0] == rows[5][8]


def test_freqtrade_json(shared_data: Path) -> None:
    p = shared_data / "raw" / "freqtrade_binance_spot_2021" / "ETH_USDT-1h.json.gz"
    md = read_freqtrade_json(p)
    with gzip.open(p, "rt") as fh:
        rows = json.load(fh)
    assert md.symbols == ("ETHUSDT",) and md.timeframe == "1h"
    assert md.n_bars == len(rows)
    i = len(rows) // 2
    assert md.open_time[i] == rows[i][0] * 1_000_000
    assert [md.open[i, 0], md.high[i, 0], md.low[i, 0], md.close[i, 0], md.volume[i, 0]] == rows[i][1:]
    assert md.extra == {}


def test_generic_csv_and_parquet_roundtrip(btc_1h: MarketData, tmp_path: Path) -> None:
    df = btc_1h.to_dataframe().reset_index()
    csv = tmp_path / "candles.csv"
    df.rename(columns={"open_time": "timestamp"}).to_csv(csv, index=False)
    got = read_table(csv, symbol="BTCUSDT")
    assert got.timeframe == "1h"
    assert_same(got, btc_1h)
    # epoch milliseconds in a 'date' column, parquet
    pq = tmp_path / "candles.parquet"
    df2 = df.assign(date=df["open_time"].astype("int64") // 1_000_000).drop(columns=["open_time"])
    df2.to_parquet(pq)
    assert_same(read_path(pq, symbol="BTCUSDT"), btc_1h)


def test_read_path_dispatch_and_directory(shared_data: Path) -> None:
    assert (
        read_path(vision(shared_data, "daily", "klines", "SOLUSDT", "1h", "SOLUSDT-1h-2025-07-02.zip")).n_bars
        == 24
    )
    assert (
        read_path(shared_data / "raw" / "freqtrade_binance_spot_2021" / "SOL_USDT-5m.json.gz").timeframe
        == "5m"
    )
    folder = vision(shared_data, "daily", "klines", "SOLUSDT", "1h")
    md = read_path(folder)
    assert md.n_bars == 72 and md.symbols == ("SOLUSDT",)
    assert np.all(np.diff(md.open_time) == 3_600_000_000_000)


# ---------------------------------------------------------------------- bad input


def _write_rows(path: Path, rows: list[list[object]]) -> Path:
    path.write_text(json.dumps(rows))
    return path


def _rest_rows(shared: Path, n: int = 5) -> list[list[object]]:
    with gzip.open(rest(shared, "BTCUSDT", "1h", "2024-01-01"), "rt") as fh:
        rows: list[list[object]] = json.load(fh)[:n]
    return rows


def test_corrupt_zip_is_a_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "BTCUSDT-1h-2024-01.zip"
    bad.write_bytes(b"PK\x03\x04 this is not really a zip")
    with pytest.raises(DataError, match=r"BTCUSDT-1h-2024-01\.zip.*not a valid zip"):
        read_path(bad)


def test_unsorted_rows_name_the_file_and_row(shared_data: Path, tmp_path: Path) -> None:
    rows = _rest_rows(shared_data)
    rows[2], rows[3] = rows[3], rows[2]
    p = _write_rows(tmp_path / "unsorted.json", rows)
    with pytest.raises(DataError, match=r"unsorted\.json.*unsorted row at index 3 \(2024-01-01T02:00:00Z\)"):
        read_rest_json(p, symbol="BTCUSDT", timeframe="1h")


def test_duplicate_rows(shared_data: Path, tmp_path: Path) -> None:
    rows = _rest_rows(shared_data)
    rows.insert(2, rows[1])
    p = _write_rows(tmp_path / "dup.json", rows)
    with pytest.raises(DataError, match=r"dup\.json.*duplicate row at index 2"):
        read_path(p, symbol="BTCUSDT", timeframe="1h")


@pytest.mark.parametrize(
    ("value", "what"), [("NaN", "must be finite"), ("0", "must be > 0"), ("-5", "must be > 0")]
)
def test_nan_and_non_positive_prices(shared_data: Path, tmp_path: Path, value: str, what: str) -> None:
    rows = _rest_rows(shared_data)
    rows[1][3] = value  # low
    p = _write_rows(tmp_path / "bad.json", rows)
    with pytest.raises(DataError, match=rf"low of BTCUSDT at 2024-01-01T01:00:00Z is .*{what}"):
        read_path(p, symbol="BTCUSDT", timeframe="1h")


def test_inconsistent_ohlc(shared_data: Path, tmp_path: Path) -> None:
    rows = _rest_rows(shared_data)
    rows[0][2] = str(float(rows[0][1]) * 0.5)  # high below open
    p = _write_rows(tmp_path / "ohlc.json", rows)
    with pytest.raises(DataError, match=r"high < max\(open, close\)"):
        read_path(p, symbol="BTCUSDT", timeframe="1h")


def test_malformed_and_unknown_files(tmp_path: Path) -> None:
    p = _write_rows(tmp_path / "x.json", [[1, 2, 3]])
    with pytest.raises(DataError, match=r"not a known JSON candle format \(rows of 3 values\)"):
        read_path(p, symbol="BTCUSDT", timeframe="1h")
    q = tmp_path / "x.txt"
    q.write_text("hello")
    with pytest.raises(DataError, match=r"unknown format; allowed: \.zip"):
        read_path(q)
    with pytest.raises(DataNotFoundError, match="does not exist"):
        read_path(tmp_path / "nope.zip")
    csv = tmp_path / "named.csv"
    csv.write_text("timestamp,open,high,low\n2024-01-01,1,2,0.5\n")
    with pytest.raises(DataError, match=r"lacks columns \['close', 'volume'\]"):
        read_path(csv, symbol="BTCUSDT", timeframe="1h")
    with pytest.raises(ConfigError, match=r"timeframe='7m' is not supported; allowed: 1m"):
        read_rest_json(tmp_path / "x.json", symbol="BTCUSDT", timeframe="7m")


def test_folder_with_several_symbols(shared_data: Path) -> None:
    folder = shared_data / "binance-vision" / "data" / "spot" / "daily" / "klines"
    with pytest.raises(
        DataError, match=r"holds several series \(BTCUSDT 1h, ETHUSDT 1h, SOLUSDT 1h\); pass symbol="
    ):
        read_path(folder)
    eth = read_path(folder, symbol="ETHUSDT")
    assert eth.symbols == ("ETHUSDT",) and eth.n_bars == 72
    assert_same(eth, read_path(folder / "ETHUSDT" / "1h"))
    with pytest.raises(DataNotFoundError, match=r"no candle files for symbol='ADAUSDT'"):
        read_path(folder, symbol="ADAUSDT")


def test_off_grid_bar_is_rejected(btc_1h: MarketData, tmp_path: Path) -> None:
    df = btc_1h.to_dataframe().iloc[:6].reset_index()
    df.loc[3:, "open_time"] += pd.Timedelta(minutes=30)
    csv = tmp_path / "odd.csv"
    df.to_csv(csv, index=False)
    with pytest.raises(
        DataError, match=r"odd\.csv.*bar at 2024-01-01T03:30:00Z opens 5400 s after the previous one"
    ):
        read_path(csv, symbol="BTCUSDT", timeframe="1h")
